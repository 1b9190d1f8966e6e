"""The webhook guardrail against a real local HTTP service: its findings are used; a slow one fails closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from gateway.errors import GuardrailUnavailable
from gateway.guardrails.detectors.webhook import WebhookDetector
from gateway.guardrails.engine import Recorder, run
from gateway.guardrails.policy import Guardrail
from gateway.pipeline.context import RequestContext


async def _judge(request: web.Request) -> web.Response:
    texts = (await request.json())["texts"]
    if any("slow" in t for t in texts):
        await asyncio.sleep(1.5)
    return web.json_response(
        {
            "findings": [
                [{"entity": "codename", "start": t.index("falcon"), "end": t.index("falcon") + 6}]
                if "falcon" in t
                else []
                for t in texts
            ]
        }
    )


@pytest.fixture
async def service() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/judge", _judge)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/judge"
    await runner.cleanup()


def _guardrail(detector: WebhookDetector, timeout: float) -> Guardrail:
    return Guardrail("judge", "p", "input", "block", detector, timeout, False, None)


async def test_the_services_findings_are_the_guardrails(service: str) -> None:
    detector = WebhookDetector(service)
    rec = Recorder(RequestContext(request_id="r", endpoint="chat", body={}, model="m"), "pre_call")
    found = await run(_guardrail(detector, 5.0), detector, ["project falcon", "nothing"], rec)
    await detector.aclose()
    assert [[(m.entity, m.start, m.end) for m in f] for f in found] == [[("codename", 8, 14)], []]


async def test_a_slow_service_blocks_the_request(service: str) -> None:
    detector = WebhookDetector(service)
    rec = Recorder(RequestContext(request_id="r", endpoint="chat", body={}, model="m"), "pre_call")
    with pytest.raises(GuardrailUnavailable, match="TimeoutError"):
        await run(_guardrail(detector, 0.3), detector, ["slow please"], rec)
    await detector.aclose()
