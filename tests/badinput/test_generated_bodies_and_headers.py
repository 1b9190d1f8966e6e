"""Hypothesis-made bodies and headers on the proxy endpoints: the gateway's own knobs (``x-gateway-timeout``,
``x-gateway-tags``), ``metadata``, ``user``, tags, deep nesting, NULs, huge and non-finite values, on configured
models (fast path and litellm) as well as unknown ones. A fixed, derandomized budget; no shrinking.

Every answer must pass ``judge``: no 5xx, errors in the OpenAI shape (Anthropic's on ``/v1/messages``), no
traceback.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from support.badinput import MASTER_KEY, MODELS, Findings, judge
from support.servers import Gateway

pytestmark = pytest.mark.slow

EXAMPLES = 150
#: A server may answer (413/400) and close before it has read a body this big; the client then fails to send.
EARLY_ANSWER_BYTES = 64 * 1024

NASTY_TEXT = st.sampled_from(
    ["a\x00b", "\x00", "x" * 300, "\u202e\u0007", "%00", "../../etc/passwd", "é" * 200, "\ud800", "", " "]
)
TEXT = st.one_of(NASTY_TEXT, st.text(max_size=40))
NUMBER_TEXT = st.sampled_from(["0", "0.0001", "-1", "nan", "NaN", "inf", "-inf", "1e309", "1e-320", "", "abc",
                               "9" * 400, "0x10", "1,2"])
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)


def nested(depth: int, leaf: Any = "x") -> Any:
    value: Any = leaf
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value


DEEP = st.integers(min_value=1, max_value=1100).map(nested)
HUGE = st.integers(min_value=1_000, max_value=300_000).map(lambda size: "x" * size)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
ODD = st.one_of(JSON, DEEP, HUGE, NASTY_TEXT)
MODEL = st.one_of(st.sampled_from(MODELS), TEXT, st.just("m" * 300), JSON)
TAGS = st.one_of(st.lists(TEXT, max_size=30), st.integers(1, 5000).map(lambda n: [f"t{i}" for i in range(n)]), ODD)
METADATA = st.one_of(st.dictionaries(TEXT, JSON, max_size=6), DEEP.map(lambda deep: {"deep": deep}),
                     HUGE.map(lambda huge: {"big": huge}), ODD)
MESSAGES = st.one_of(
    st.just([{"role": "user", "content": "hello"}]),
    st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "assistant", "tool", "x"]),
                                    "content": ODD}), max_size=3),
    ODD,
)
OPTIONAL = {
    "metadata": METADATA,
    "user": st.one_of(TEXT, ODD),
    "tags": TAGS,
    "max_tokens": st.one_of(st.integers(-5, 10**12), ODD),
    "temperature": st.one_of(st.floats(), ODD),
    "stream": st.one_of(st.booleans(), ODD),
    "response_format": st.one_of(st.just({}), st.just({"type": "json_object"}), ODD),
    "timeout": st.one_of(st.floats(), ODD),
    "n": st.one_of(st.integers(-2, 100), ODD),
    "tools": st.one_of(st.just([{"type": "function", "function": {"name": "f"}}]), ODD),
    "extra_headers": st.one_of(st.just({"x-evil": "1"}), ODD),
    "api_base": st.just("http://127.0.0.1:9"),
    "base_url": st.just("http://127.0.0.1:9"),
}
CHAT = st.fixed_dictionaries({"model": MODEL, "messages": MESSAGES}, optional=OPTIONAL)
COMPLETION = st.fixed_dictionaries({"model": MODEL, "prompt": st.one_of(TEXT, ODD)}, optional=OPTIONAL)
EMBEDDING = st.fixed_dictionaries({"model": MODEL, "input": st.one_of(TEXT, st.lists(TEXT, max_size=3), ODD)},
                                  optional={key: OPTIONAL[key] for key in ("metadata", "user", "tags", "timeout")})
MESSAGES_API = st.fixed_dictionaries(
    {"model": MODEL, "messages": MESSAGES, "max_tokens": st.one_of(st.integers(-1, 100), ODD)},
    optional={"metadata": METADATA, "system": st.one_of(TEXT, ODD), "stream": st.one_of(st.booleans(), ODD),
              "stop_sequences": ODD, "temperature": st.one_of(st.floats(), ODD)},
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "x-gateway-timeout": st.one_of(NUMBER_TEXT, HEADER_TEXT),
        "x-gateway-tags": st.one_of(HEADER_TEXT, st.integers(1, 3000).map(lambda n: ",".join(f"t{i}" for i in
                                                                                               range(n)))),
        "x-gateway-cache": HEADER_TEXT,
        "x-gateway-prompt": HEADER_TEXT,
        "content-type": st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded",
                                         "application/json; charset=latin-1"]),
    },
)
ENDPOINTS = {
    "/v1/chat/completions": CHAT,
    "/v1/completions": COMPLETION,
    "/v1/embeddings": EMBEDDING,
    "/v1/messages": MESSAGES_API,
}


def encode(body: Any) -> bytes:
    """JSON the way a client might send it: lone surrogates and very deep nesting included."""
    try:
        return json.dumps(body, ensure_ascii=True).encode()
    except RecursionError:
        return b"[" * 5000 + b"]" * 5000


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_generated_bodies_and_headers_never_get_a_5xx_or_a_malformed_error(target: Gateway, path: str) -> None:
    findings = Findings()
    anthropic = path == "/v1/messages"
    auth = {"x-api-key": MASTER_KEY} if anthropic else {"authorization": f"Bearer {MASTER_KEY}"}
    with httpx.Client(base_url=target.url, timeout=60) as client:

        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=False,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(body=ENDPOINTS[path], headers=HEADERS)
        def run(body: dict[str, Any], headers: dict[str, str]) -> None:
            content = encode(body)
            try:
                response = client.post(path, content=content, headers={"content-type": "application/json",
                                                                        **headers, **auth})
            except httpx.HTTPError as exc:
                if isinstance(exc, httpx.LocalProtocolError) and "Illegal header" in str(exc):
                    return  # the client itself refused to send a header HTTP does not allow: nothing reached us
                refused_early = isinstance(exc, httpx.WriteError | httpx.LocalProtocolError)
                if not (refused_early and len(content) > EARLY_ANSWER_BYTES):  # else allowed for a big body
                    findings.add(path, f"no answer: {type(exc).__name__}", content[:300].decode(errors="replace"))
                return
            example = f"headers={headers} body={content[:300].decode(errors='replace')}"
            findings.add(path, judge(response.status_code, response.content, anthropic=anthropic), example)

        run()
    assert not findings.seen, findings.report()
