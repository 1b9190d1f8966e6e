"""Configuration: the typed model of the file (``models``) and its loader (``loader``)."""

from gateway.config.loader import load_config
from gateway.config.models import GatewayConfig

__all__ = ["GatewayConfig", "load_config"]
