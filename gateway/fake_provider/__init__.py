"""A fake LLM provider that speaks the OpenAI API and the Anthropic Messages API.

It is the upstream for the gateway's demo config, integration tests and benchmarks:
a real aiohttp server with deterministic replies (``"Echo: " + <last user text>``),
configurable latency, and faults that tests switch on by model name (``fail-503``,
``slow-5000``, ``cut-2``) or through the ``/_fake/faults`` control API. Request
counts and the last request received are at ``/_fake/stats``.

Run it with ``python -m gateway.fake_provider --port 8911`` or :func:`serve`;
inside an event loop use :func:`start_fake`.
"""

from gateway.fake_provider.app import FakeOptions, create_fake_app
from gateway.fake_provider.server import RunningFake, serve, start_fake

__all__ = ["FakeOptions", "RunningFake", "create_fake_app", "serve", "start_fake"]
