"""Prompt and response text are stored only for keys that ask for it (``gateway keys create --store-content``)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import openai
from support.servers import FakeProvider, gateway

MASTER = "sk-test-master"


def create_key(database_url: str, *flags: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "keys", "create", "--name", f"k{time.monotonic_ns()}",
         "--database-url", database_url, *flags],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return result.stdout.strip()


def rows(database: Path, expected: int) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(database) as connection:
            connection.row_factory = sqlite3.Row
            found = {r["request_id"]: dict(r) for r in connection.execute("SELECT * FROM request_logs")}
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_only_keys_that_store_content_have_their_prompts_and_answers_logged(
    fake: FakeProvider, tmp_path: Path
) -> None:
    database = tmp_path / "gateway.db"
    url = f"sqlite:///{database}"
    keeper, private = create_key(url, "--store-content"), create_key(url)
    config = {
        "model_list": [{"model_name": "gpt-4o-mini",
                        "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": fake.v1, "api_key": "k"}}],
        "general_settings": {"master_key": MASTER, "database_url": url},
        "gateway": {"log_flush_interval": 0.05},
    }
    messages = [{"role": "user", "content": "remember this sentence"}]
    ids: dict[str, str] = {}
    with gateway(config, tmp_path) as server:  # its key cache loads both keys at start
        for name, key in (("keeper", keeper), ("private", private)):
            with openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0) as client:
                raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages)
                ids[name] = raw.headers["x-gateway-request-id"]
                streamed = client.chat.completions.with_raw_response.create(
                    model="gpt-4o-mini", messages=messages, stream=True
                )
                "".join(c.choices[0].delta.content or "" for c in streamed.parse() if c.choices)
                ids[name + "-stream"] = streamed.headers["x-gateway-request-id"]
        logged = rows(database, 4)

    kept, kept_stream = logged[ids["keeper"]], logged[ids["keeper-stream"]]
    assert "remember this sentence" in kept["request_body"]
    assert '"content":"Echo: remember this sentence"' in kept["response_body"]  # the whole answer, as sent
    assert "remember this sentence" in kept_stream["request_body"]
    assert kept_stream["response_body"] == "Echo: remember this sentence"  # a stream's text
    for name in ("private", "private-stream"):
        assert logged[ids[name]]["request_body"] is None and logged[ids[name]]["response_body"] is None
