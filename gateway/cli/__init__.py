"""The ``gateway`` command. Each subcommand imports what it needs only when it runs."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import EXIT_USAGE, fail
from gateway.config import load_config
from gateway.errors import ConfigError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="An OpenAI-compatible LLMOps gateway.")


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command("serve")
def serve(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML config (LiteLLM proxy format accepted).")],
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 4000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    insecure: Annotated[bool, typer.Option(help="Allow a non-local bind without a master key.")] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the gateway."""
    from gateway.server import serve as run  # noqa: PLC0415 - uvicorn and the app load only for serve

    _setup_logging(log_level)
    try:
        run(str(config), host=host, port=port, workers=workers, insecure=insecure, log_level=log_level)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)


@app.command("check-config")
def check_config(config: Annotated[Path, typer.Argument(help="YAML config to validate.")]) -> None:
    """Validate a config file and list its models, without starting anything."""
    _setup_logging("warning")
    try:
        loaded = load_config(config)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    for entry in loaded.model_list:
        kind = " (wildcard: any matching model name)" if entry.is_wildcard else ""
        typer.echo(f"{entry.model_name}: {entry.litellm_params.model}{kind}")
    from gateway.guardrails.detectors.registry import build_detector  # noqa: PLC0415 - detectors' libraries
    from gateway.guardrails.policy import load_policies  # noqa: PLC0415 - only when checking a config

    try:
        policies = load_policies(loaded.gateway.guardrails, lambda spec: build_detector(spec.type, spec.options, None))
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    typer.echo(f"{config}: ok ({len(loaded.model_list)} deployments, {len(policies)} guardrail policies)")


@app.command("fake-provider")
def fake_provider(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9100,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    latency_ms: Annotated[int, typer.Option(help="Delay before every reply.")] = 0,
    chunk_delay_ms: Annotated[int, typer.Option(help="Delay between stream chunks.")] = 0,
    require_key: Annotated[str | None, typer.Option(help="Refuse requests without this key.")] = None,
) -> None:
    """Run the built-in fake provider (OpenAI and Anthropic APIs, deterministic replies, injectable faults)."""
    from gateway.fake_provider import FakeOptions  # noqa: PLC0415 - aiohttp loads only for fake-provider
    from gateway.fake_provider import serve as run  # noqa: PLC0415 - aiohttp loads only for fake-provider

    options = FakeOptions(
        host=host, port=port, latency_ms=latency_ms, chunk_delay_ms=chunk_delay_ms, require_key=require_key
    )
    try:
        run(options)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_USAGE)


#: Command groups, each in its own module: (command name, module, attribute).
GROUPS = (
    ("keys", "gateway.cli.keys", "keys_app"),
    ("teams", "gateway.cli.keys", "teams_app"),
    ("costs", "gateway.cli.costs", "costs_app"),
    ("prompts", "gateway.cli.prompts", "prompts_app"),
    ("eval", "gateway.cli.evals", "eval_app"),
    ("cache", "gateway.cli.cache", "cache_app"),
    ("guardrails", "gateway.cli.guardrails", "guardrails_app"),
)


def _register_subcommands(argv: list[str]) -> None:
    """Import only the group being run: `gateway serve` starts without loading them. Help loads them all."""
    wanted = next((arg for arg in argv if not arg.startswith("-")), None)
    groups = {name for name, _, _ in GROUPS}
    builtin = {command.name for command in app.registered_commands}
    for name, module, attribute in GROUPS:
        if name == wanted or (wanted not in groups and wanted not in builtin):
            app.add_typer(getattr(importlib.import_module(module), attribute), name=name)


def main() -> None:
    _register_subcommands(sys.argv[1:])
    sys.exit(app())
