"""The ``openai`` npm package and the Vercel AI SDK's default provider (``@ai-sdk/openai`` 3.x, which speaks the
Responses API) against the running gateway, for an OpenAI and a non-OpenAI model.

Needs ``node`` and the packages of ``package.json`` in ``tests/node/node_modules`` (``.ci/run`` installs both:
Debian's ``nodejs`` and ``npm``, then ``npm ci``). Skipped only when node itself is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support.config import MASTER_KEY
from support.servers import FakeProvider, Gateway

HERE = Path(__file__).parent
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (.ci/run installs Debian's nodejs)")


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-sonnet"])
def test_javascript_clients_work_unchanged(gw: Gateway, fake: FakeProvider, model: str) -> None:
    assert NODE is not None
    if not (HERE / "node_modules" / "ai").is_dir():
        pytest.fail("tests/node/node_modules is missing: run `npm ci --prefix tests/node` (as .ci/run does)")
    done = subprocess.run(
        [NODE, str(HERE / "clients.mjs")],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "GATEWAY_URL": gw.url, "GATEWAY_KEY": MASTER_KEY, "MODEL": model},
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    echo = "Echo: hello there"
    for client in ("openai_responses_create", "openai_responses_stream", "openai_responses_stream_final",
                   "openai_chat", "ai_generate", "ai_stream"):
        assert results[client] == echo, (client, results)
    assert results["openai_responses_chained"] == "Echo: and again"
    assert results["ai_tool_calls"] == results["ai_streamed_tool_calls"] == [["get_weather", "string"]]
    if model == "gpt-4o-mini":  # an OpenAI deployment: the Responses requests were passed through
        assert fake.count("gpt-4o-mini", "/v1/responses") >= 6
