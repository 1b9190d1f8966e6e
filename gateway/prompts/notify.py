"""The prompts topic under its old name, for ``gateway/http/admin/prompts.py`` until it imports
``gateway.bus.PROMPTS`` itself; delete this module then. Announcing a change is ``gateway.bus`` (the gateway:
``await bus.publish(PROMPTS, names)``; the CLI: ``gateway.cli.common.announce``)."""

from __future__ import annotations

from gateway.bus.topics import PROMPTS as TOPIC

__all__ = ["TOPIC"]
