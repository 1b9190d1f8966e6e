"""``gateway eval ...``."""

from __future__ import annotations

import typer

eval_app = typer.Typer(no_args_is_help=True, help="Offline eval suites: run, compare, history.")
