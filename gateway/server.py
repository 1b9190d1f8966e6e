"""Run the gateway under uvicorn (uvloop + httptools), one process or several workers.

The HTTP protocol is uvicorn's httptools one with read timeouts, size limits, a connection cap and a shutdown
that ends open streams (``gateway.http.protocol``). With ``--workers N`` the parent migrates the database once
before the workers start.
"""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import uvicorn
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from gateway.config import load_config
from gateway.config.models import GatewayConfig
from gateway.db import Database
from gateway.db.migrate_lock import upgrade_under_lock
from gateway.errors import ConfigError
from gateway.http.app import create_app
from gateway.http.protocol import ConnectionGuard, GuardedConfig, guarded_options
from gateway.telemetry.metrics import MULTIPROCESS_ENV, multiprocess_dir

CONFIG_ENV = "GATEWAY_CONFIG_FILE"
SERVED_GC_THRESHOLD = (1_000, 20, 100)
SERVED_SWITCH_INTERVAL = 0.0005  # seconds
logger = logging.getLogger("gateway")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
        except OSError:
            return False


def check_bind(config: GatewayConfig, host: str, insecure: bool) -> None:
    """Without a master key anyone who can reach the port can spend the provider keys: stay on loopback."""
    master = config.general_settings.master_key
    if (master is not None and master.get_secret_value()) or is_loopback(host):
        return
    if not insecure:
        raise ConfigError(
            f"refusing to listen on {host} without general_settings.master_key: anyone who can reach it could "
            "spend the provider keys. Set a master key, bind to 127.0.0.1, or pass --insecure."
        )
    logger.warning("listening on %s with no master key (--insecure): every request is allowed", host)


def app_factory() -> Starlette:
    """For uvicorn's worker processes, which import the app by name; the parent has validated the file."""

    return create_app(load_config(os.environ[CONFIG_ENV]), on_started=tune_gc)


def tune_gc() -> None:
    """Tune the garbage collector and thread switching of a process that only serves the gateway, once its
    start-up is complete.

    Only ``gateway serve`` does this (``create_app``'s ``on_started``): an app run in process by an eval or a test
    leaves the collector of the program that runs it as it was.
    """
    # What start-up built (config, routes, the price map's many dicts) lives as long as the process: freezing it
    # keeps the cyclic collector from walking it again and again under load.
    gc.collect()
    gc.freeze()
    # A request allocates a few hundred objects and frees nearly all of them by reference counting. With start-up
    # frozen, a young collection only walks what the last requests left: short at a threshold of 1,000, while one
    # of 20,000 held the loop for milliseconds (bench/overhead.py, concurrency 1: p99 5-7 ms at 20,000, 1.7 ms at
    # 1,000, 2.1 ms with the collector off; the same requests/s at concurrency 50).
    gc.set_threshold(*SERVED_GC_THRESHOLD)
    # The request log's writer thread shares the core: when a request is ready the loop waits for the GIL at most
    # this long, not the default 5 ms (bench/overhead.py: p90 at concurrency 1 went from 3x to 2x p50).
    sys.setswitchinterval(SERVED_SWITCH_INTERVAL)
    logger.debug("gc tuned for serving: %d objects frozen, threshold %s", gc.get_freeze_count(), gc.get_threshold())


def serve(config_path: str, *, host: str, port: int, workers: int, insecure: bool, log_level: str) -> None:
    config = load_config(config_path)
    check_bind(config, host, insecure)
    if config.general_settings.master_key is None:
        logger.warning("no master key is set: the gateway accepts every request (local use only)")
    options = uvicorn_options(config, host=host, port=port, log_level=log_level)
    guard = connection_guard(config)
    if workers > 1:
        migrate_before_workers(config)
        os.environ[CONFIG_ENV] = os.path.abspath(config_path)
        multi = GuardedConfig("gateway.server:app_factory", guard, factory=True, workers=workers, **options)
        # As uvicorn.run: the SIGINT it handled, raised again after, is suppressed.
        with contextlib.suppress(KeyboardInterrupt), shared_metrics(config):
            Multiprocess(multi, sockets=[multi.bind_socket()]).run()
        return

    single = GuardedConfig(create_app(config, on_started=tune_gc), guard, **options)
    server = uvicorn.Server(single)
    # uvicorn raises the SIGINT it handled once more after a clean shutdown (uvicorn.run swallows it likewise).
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        raise SystemExit(3)  # uvicorn has logged why (e.g. the port is taken)


@contextlib.contextmanager
def shared_metrics(config: GatewayConfig) -> Iterator[None]:
    """Workers count into files of one directory, so that a scrape of any worker sees them all (prometheus-client's
    multiprocess mode). Set before the workers start: prometheus-client reads it when it is imported. A directory
    the operator set (``PROMETHEUS_MULTIPROC_DIR``) is used as it is; one made here is removed at the end."""
    if not config.gateway.telemetry.metrics or multiprocess_dir() is not None:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="gateway-metrics-") as directory:
        os.environ[MULTIPROCESS_ENV] = directory
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_ENV]


def uvicorn_options(config: GatewayConfig, *, host: str, port: int, log_level: str) -> dict[str, Any]:
    section = config.gateway
    return {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "access_log": False,
        "log_level": log_level,
        "lifespan": "on",
        "server_header": False,
        "timeout_keep_alive": section.keep_alive_seconds,
        **guarded_options(connection_guard(config)),
    }


def connection_guard(config: GatewayConfig) -> ConnectionGuard:
    section = config.gateway
    return ConnectionGuard(
        header_timeout=section.header_timeout_seconds,
        body_timeout=section.body_timeout_seconds,
        max_connections=section.max_connections,
        max_url_bytes=section.max_url_bytes,
        max_header_bytes=section.max_header_bytes,
        shutdown_grace=section.shutdown_grace_seconds,
    )


def migrate_before_workers(config: GatewayConfig) -> None:
    """Bring the schema up to date once, in the parent, so that N workers starting together find nothing to do.

    The lock makes it safe even so against other gateway processes (replicas) migrating the same database. A
    database that cannot be reached is left to the workers, which start without it (and migrate, under the same
    lock, when it returns).
    """


    url = config.general_settings.database_url
    database = Database(url.get_secret_value() if url else None)
    try:
        upgrade_under_lock(database)
    except OperationalError as exc:
        logger.warning("could not migrate %s before starting the workers: %s", database.safe_url, exc.orig)
    finally:
        database.dispose()
