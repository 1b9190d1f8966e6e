"""bench/passthrough.py, the benchmarks' bare pass-through, forwards a plain and a streamed call unchanged.

Both it and the fake provider run as processes; the OpenAI SDK is the client. If the pass-through answered from
anywhere but the upstream, or buffered a stream into one body, the benchmark's reference would be wrong.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from support.servers import FakeProvider, fake_provider, free_port

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "passthrough.py"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeProvider]:
    with fake_provider() as fake:
        yield fake


@pytest.fixture(scope="module")
def passthrough(upstream: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("passthrough") / "passthrough.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, str(SCRIPT), "--port", str(port), "--upstream", upstream.url],
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not ready(url):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def ready(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_plain_call_is_the_upstreams_answer(passthrough: str, upstream: FakeProvider) -> None:
    upstream.reset()
    client = openai.OpenAI(base_url=passthrough + "/v1", api_key="bench")
    reply = client.chat.completions.create(model="bench-model", messages=[{"role": "user", "content": "plain one"}])
    assert reply.choices[0].message.content == "Echo: plain one"
    assert upstream.count("bench-model") == 1


def test_a_stream_arrives_as_the_upstreams_events(passthrough: str, upstream: FakeProvider) -> None:
    upstream.reset()
    client = openai.OpenAI(base_url=passthrough + "/v1", api_key="bench")
    chunks = list(client.chat.completions.create(
        model="bench-model", messages=[{"role": "user", "content": "streamed one"}], stream=True,
        stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: streamed one"
    assert len(chunks) > 2 and chunks[-1].usage is not None
    assert upstream.count("bench-model") == 1


def test_a_stream_is_relayed_not_buffered(passthrough: str) -> None:
    body = {"model": "bench-model", "messages": [{"role": "user", "content": "relay"}], "stream": True}
    with httpx.stream("POST", passthrough + "/v1/chat/completions", json=body, timeout=10) as response:
        events = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "content-length" not in response.headers  # a buffered body would have one
    assert events[-1] == "data: [DONE]"
