"""``gateway costs ...``."""

from __future__ import annotations

import typer

costs_app = typer.Typer(no_args_is_help=True, help="Cost reports from the request log.")
