"""``gateway prompts ...``."""

from __future__ import annotations

import typer

prompts_app = typer.Typer(no_args_is_help=True, help="Versioned prompts: push, release, roll back, compare.")
