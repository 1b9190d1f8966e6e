"""Running the fake provider: as a process (:func:`serve`, :func:`main`) or in-process.

``serve`` binds the socket itself so that port 0 works and the one line it prints,
``fake provider listening on http://HOST:PORT``, names the real port and is only
printed once connections can queue. Scripts wait for that line on stdout.

``start_fake`` runs the same app inside the caller's event loop (tests, benchmarks)
and returns a :class:`RunningFake` with the bound URL and the app for its state.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

from aiohttp import web

from gateway.fake_provider.app import FakeOptions, create_fake_app
from gateway.fake_provider.faults import FAULTS_KEY, STATS_KEY

# A fake has nothing worth draining for long; hung fault handlers are cancelled instead.
_SHUTDOWN_TIMEOUT_S = 1.0


@dataclass(slots=True)
class RunningFake:
    """A fake provider serving inside the current event loop."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def base_url(self) -> str:
        """``http://host:port`` without ``/v1``: Anthropic clients want it bare."""
        return _url(self.host, self.port)

    @property
    def app(self) -> web.Application:
        return self.runner.app

    def reset(self) -> None:
        """Forget every fault and counter, as ``DELETE /_fake/faults`` + ``/_fake/stats`` do."""
        self.app[FAULTS_KEY].clear()
        self.app[STATS_KEY].reset()

    async def close(self) -> None:
        await self.runner.cleanup()

    async def __aenter__(self) -> RunningFake:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()


async def start_fake(options: FakeOptions) -> RunningFake:
    """Start serving ``options`` (port 0 picks a free port) until ``close()``."""
    # handler_cancellation: a client that gives up (timeout tests) frees its slow handler.
    runner = web.AppRunner(
        create_fake_app(options),
        access_log=None,
        handler_cancellation=True,
        shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, options.host, options.port).start()
    except BaseException:
        await runner.cleanup()
        raise
    port = int(runner.addresses[0][1])
    return RunningFake(runner, options.host, port)


def serve(options: FakeOptions) -> None:
    """Serve until interrupted; prints the listening line first. Uses uvloop if present."""
    sock = _listen(options.host, options.port)
    port = sock.getsockname()[1]
    print(f"fake provider listening on {_url(options.host, port)}", flush=True)
    web.run_app(
        create_fake_app(options),
        sock=sock,
        print=None,
        access_log=None,
        handler_cancellation=True,
        shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
        loop=_new_loop(),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake OpenAI/Anthropic provider.")
    defaults = FakeOptions()
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument("--latency-ms", type=int, default=defaults.latency_ms)
    parser.add_argument("--chunk-delay-ms", type=int, default=defaults.chunk_delay_ms)
    parser.add_argument("--require-key", default=defaults.require_key)
    parser.add_argument("--embedding-dims", type=int, default=defaults.embedding_dims)
    args = parser.parse_args(argv)
    serve(
        FakeOptions(
            host=args.host,
            port=args.port,
            latency_ms=args.latency_ms,
            chunk_delay_ms=args.chunk_delay_ms,
            require_key=args.require_key,
            embedding_dims=args.embedding_dims,
        )
    )


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=1024)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # noqa: PLC0415 - optional (not on Windows)
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
