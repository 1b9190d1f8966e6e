"""Hypothesis-made bodies, headers and query strings against the running gateway: never a 5xx, and every error in
the endpoint's shape. A fixed budget of examples keeps it bounded (and the same each run: derandomized)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from edge_gateway import EdgeGateway, edge_fixture  # noqa: F401 (the fixture `edge`)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.contracts import validate

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: Text that includes what broke the gateway before: NUL and other control characters, long runs, odd unicode.
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40) | st.sampled_from(
    ["a\u0000b", "\u0007", "x" * 300, "", " ", "nan", "inf", "-1", "1e10", "99999999d", "0001-01-01", "%00"]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
MODEL = st.sampled_from(["gpt-4o-mini", "text-embedding-3-small", "nope"]) | TEXT
BODY = st.fixed_dictionaries(
    {"model": MODEL},
    optional={
        "messages": st.just([{"role": "user", "content": "hi"}]) | JSON,
        "prompt": st.just("hi") | JSON,
        "input": st.just("hi") | JSON,
        "max_tokens": st.just(5) | JSON,
        "metadata": JSON,
        "user": JSON,
        "stream": st.booleans() | JSON,
        "tools": JSON,
        "extra": JSON,
    },
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "x-gateway-timeout": st.sampled_from(["nan", "inf", "-inf", "0", "1e400", "30", "abc"]),
        "x-gateway-tags": st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=70),
                                   max_size=40).map(",".join).map(str.strip),  # what HTTP clients can send
        # (a header value with leading or trailing whitespace is one no HTTP client sends: httpx refuses it)
    },
)


def assert_shaped(response: httpx.Response, anthropic: bool = False) -> None:
    assert response.status_code < 500 or response.status_code in (502, 503, 504), response.text
    if response.status_code < 400:
        return
    body = response.json()
    if anthropic:
        assert body["type"] == "error" and isinstance(body["error"]["message"], str), body
    else:
        validate("ErrorResponse", body)


def send(edge: EdgeGateway, path: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    with edge.client() as client:
        return client.post(path, content=json.dumps(body).encode(), headers={"content-type": "application/json",
                                                                             **headers})


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"])
def test_openai_endpoints_never_answer_a_5xx_of_their_own(edge: EdgeGateway, path: str) -> None:
    @FUZZ
    @given(body=BODY, headers=HEADERS)
    def check(body: dict[str, Any], headers: dict[str, str]) -> None:
        body.pop("stream", None)  # a stream's error arrives in-band; the bad-input tests cover the status line
        assert_shaped(send(edge, path, body, headers))

    check()


@pytest.mark.timeout(300)
def test_messages_never_answers_a_5xx_and_keeps_anthropics_shape(edge: EdgeGateway) -> None:
    @FUZZ
    @given(body=BODY, headers=HEADERS, system=JSON)
    def check(body: dict[str, Any], headers: dict[str, str], system: Any) -> None:
        body.pop("stream", None)
        assert_shaped(send(edge, "/v1/messages", {**body, "system": system}, headers), anthropic=True)

    check()


@pytest.mark.timeout(300)
def test_report_and_admin_queries_never_answer_a_5xx(edge: EdgeGateway) -> None:
    paths = st.sampled_from(["/v1/usage", "/admin/costs", "/admin/prompts/{v}/compare", "/admin/keys/{v}",
                             "/admin/teams/{v}", "/admin/prompts/{v}", "/admin/prompts/{v}/history"])
    params = st.dictionaries(
        st.sampled_from(["start", "end", "since", "until", "group_by", "format", "key", "team", "model", "label",
                         "since_hours"]),
        TEXT,
        max_size=4,
    )

    @FUZZ
    @given(path=paths, value=TEXT.filter(lambda v: v.strip("/. ") != ""), query=params)
    def check(path: str, value: str, query: dict[str, str]) -> None:
        with edge.client() as client:
            assert_shaped(client.get(path.replace("{v}", quote(value, safe="")), params=query))

    check()


@pytest.mark.timeout(300)
def test_admin_writes_never_answer_a_5xx(edge: EdgeGateway) -> None:
    key_bodies = st.fixed_dictionaries(
        {"name": TEXT},
        optional={"team": TEXT, "models": st.lists(TEXT, max_size=3), "expires": TEXT, "rpm": JSON, "tpm": JSON,
                  "budget_usd": JSON, "budget_period": TEXT},
    )
    prompt_bodies = st.fixed_dictionaries(
        {"prompts": st.lists(TEXT | st.dictionaries(TEXT, JSON, max_size=3), min_size=1, max_size=2)},
        optional={"actor": TEXT},
    )

    @FUZZ
    @given(
        target=st.sampled_from(["/admin/keys", "/admin/teams", "/admin/prompts", "/admin/prompts/p/release"]),
        key_body=key_bodies,
        prompt_body=prompt_bodies,
        release=st.fixed_dictionaries({"version": JSON}, optional={"label": TEXT, "canary": JSON, "actor": TEXT}),
    )
    def check(target: str, key_body: dict[str, Any], prompt_body: dict[str, Any], release: dict[str, Any]) -> None:
        body = {"/admin/prompts": prompt_body, "/admin/prompts/p/release": release}.get(target, key_body)
        with edge.client() as client:
            assert_shaped(client.post(target, content=json.dumps(body).encode(),
                                      headers={"content-type": "application/json"}))

    check()
