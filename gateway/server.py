"""Run the gateway under uvicorn (uvloop + httptools), one process or several workers."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket

import uvicorn
from starlette.applications import Starlette

from gateway.config import load_config
from gateway.config.models import GatewayConfig
from gateway.errors import ConfigError

CONFIG_ENV = "GATEWAY_CONFIG_FILE"
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
    from gateway.http.app import create_app

    return create_app(load_config(os.environ[CONFIG_ENV]))


def serve(config_path: str, *, host: str, port: int, workers: int, insecure: bool, log_level: str) -> None:
    config = load_config(config_path)
    check_bind(config, host, insecure)
    if config.general_settings.master_key is None:
        logger.warning("no master key is set: the gateway accepts every request (local use only)")
    options = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "access_log": False,
        "log_level": log_level,
        "lifespan": "on",
        "timeout_graceful_shutdown": 30,
        "server_header": False,
    }
    if workers > 1:
        os.environ[CONFIG_ENV] = os.path.abspath(config_path)
        uvicorn.run("gateway.server:app_factory", factory=True, workers=workers, **options)  # type: ignore[arg-type]
        return
    from gateway.http.app import create_app

    uvicorn.run(create_app(config), **options)  # type: ignore[arg-type]
