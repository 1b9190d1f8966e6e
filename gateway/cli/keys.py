"""``gateway keys ...`` and ``gateway teams ...``."""

from __future__ import annotations

import typer

keys_app = typer.Typer(no_args_is_help=True, help="Virtual keys: create, list, revoke, rotate.")
teams_app = typer.Typer(no_args_is_help=True, help="Teams: budgets and limits shared by their keys.")
