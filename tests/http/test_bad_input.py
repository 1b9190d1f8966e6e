"""Bad input at the edge is a 400 in the endpoint's error shape, never a 500, and never a record the log refuses.

Each case here was a 500, a disabled timeout, a wedged record or a tag bomb before (issue 8, defects 4, 8, 10).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import psycopg
import pytest
from edge_gateway import EdgeGateway, edge_fixture  # noqa: F401 (the fixture `edge`)
from support.contracts import validate

HELLO = [{"role": "user", "content": "hi"}]
CHAT = {"model": "gpt-4o-mini", "messages": HELLO}
ENDPOINTS = {
    "/v1/chat/completions": CHAT,
    "/v1/completions": {"model": "gpt-4o-mini", "prompt": "hi"},
    "/v1/embeddings": {"model": "text-embedding-3-small", "input": "hi"},
}
MESSAGES = {"model": "gpt-4o-mini", "max_tokens": 5, "messages": HELLO}


def nested(depth: int) -> Any:
    value: Any = 1
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def with_nested(body: dict[str, Any], field: str, depth: int) -> bytes:
    """``body`` as JSON with ``field`` nested ``depth`` levels (written by hand: JSON encoders stop at ~254)."""
    opening = "".join("[" if level % 2 else '{"k":' for level in range(depth))
    closing = "".join("]" if level % 2 else "}" for level in reversed(range(depth)))
    return json.dumps({**body, field: "@"}).replace('"@"', opening + "1" + closing).encode()


def assert_openai_400(response: httpx.Response, param: str | None = None) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body = response.json()
    validate("ErrorResponse", body)
    assert body["error"]["type"] == "invalid_request_error"
    if param is not None:
        assert body["error"]["param"] == param
    return dict(body["error"])


def assert_anthropic_400(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error", body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def post(edge: EdgeGateway, path: str, body: Any, **headers: str) -> httpx.Response:
    with edge.client() as client:
        if isinstance(body, bytes):
            return client.post(path, content=body, headers={"content-type": "application/json", **headers})
        return client.post(path, json=body, headers=headers)


def rows(edge: EdgeGateway, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(edge.database_url) as connection:
        return list(connection.execute(sql, args).fetchall())  # type: ignore[arg-type]


def wait_for_log(edge: EdgeGateway, request_id: str, timeout: float = 10.0) -> tuple[Any, ...]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = rows(edge, 'SELECT "user", tags, model FROM request_logs WHERE request_id = %s', request_id)
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"request {request_id} was not logged within {timeout}s")


# --- tags and metadata (defect 4) ----------------------------------------------------------------------------


def test_a_tag_bomb_is_a_400_at_once_and_adds_no_roll_up_rows(edge: EdgeGateway) -> None:
    before = rows(edge, "SELECT count(*) FROM daily_tag_rollups")[0][0]
    bomb = [f"t{i}" for i in range(100_000)]
    started = time.monotonic()
    assert_openai_400(post(edge, "/v1/chat/completions", {**CHAT, "metadata": {"tags": bomb}}), "metadata.tags")
    assert_openai_400(post(edge, "/v1/chat/completions", {**CHAT, "metadata": {"tags": bomb[:33]}}), "metadata.tags")
    assert_openai_400(post(edge, "/v1/chat/completions", CHAT, **{"x-gateway-tags": ",".join(bomb[:5000])}),
                      "x-gateway-tags")
    assert time.monotonic() - started < 10
    marker = post(edge, "/v1/chat/completions", CHAT, **{"x-gateway-tags": "after-bomb"})
    assert marker.status_code == 200
    wait_for_log(edge, marker.headers["x-gateway-request-id"])
    deadline = time.monotonic() + 10
    while not rows(edge, "SELECT 1 FROM daily_tag_rollups WHERE tag = 'after-bomb'") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rows(edge, "SELECT count(*) FROM daily_tag_rollups")[0][0] <= before + 1


def test_tags_are_stripped_and_recorded_once_each(edge: EdgeGateway) -> None:
    body = {**CHAT, "metadata": {"tags": ["b", " c ", "a"]}}
    response = post(edge, "/v1/chat/completions", body, **{"x-gateway-tags": "a, a,b,,"})
    assert response.status_code == 200, response.text
    assert wait_for_log(edge, response.headers["x-gateway-request-id"])[1] == ["a", "b", "c"]


def test_thirty_two_distinct_tags_are_accepted(edge: EdgeGateway) -> None:
    tags = ",".join(f"tag-{i}" for i in range(32))
    assert post(edge, "/v1/chat/completions", CHAT, **{"x-gateway-tags": tags + "," + tags}).status_code == 200


@pytest.mark.parametrize(
    ("tags", "param"),
    [
        (["a\u0000b"], "metadata.tags"),
        (["line\nbreak"], "metadata.tags"),
        (["x" * 65], "metadata.tags"),
        (["ok", 5], "metadata.tags"),
        ("not-a-list", "metadata.tags"),
    ],
)
def test_a_bad_tag_in_metadata_is_a_400_naming_it(edge: EdgeGateway, tags: Any, param: str) -> None:
    assert_openai_400(post(edge, "/v1/chat/completions", {**CHAT, "metadata": {"tags": tags}}), param)


def test_a_bad_tag_in_the_header_is_a_400_naming_it(edge: EdgeGateway) -> None:
    response = post(edge, "/v1/chat/completions", CHAT, **{"x-gateway-tags": "ok," + "y" * 65})
    assert_openai_400(response, "x-gateway-tags")


@pytest.mark.parametrize(
    "metadata",
    [
        {"deep": nested(8)},  # 9 levels with the metadata object itself
        {"big": "x" * 17_000},
        {f"k{i}": i for i in range(65)},
        {"a\u0000b": 1},
        {"ok": {"bad\u0001key": 1}},
        {"value": "a\u0000b"},
        {"k" * 300: 1},
        "not-an-object",
    ],
    ids=["deep", "big", "many-keys", "nul-key", "control-key", "nul-value", "long-key", "not-object"],
)
def test_bad_metadata_is_a_400_naming_it(edge: EdgeGateway, metadata: Any) -> None:
    assert_openai_400(post(edge, "/v1/chat/completions", {**CHAT, "metadata": metadata}), "metadata")


def test_ordinary_metadata_is_accepted_and_recorded(edge: EdgeGateway) -> None:
    metadata = {"tags": ["m"], "session": "s-1", "nested": {"a": [1, {"b": "line\nbreak"}]}}
    response = post(edge, "/v1/chat/completions", {**CHAT, "metadata": metadata})
    assert response.status_code == 200, response.text
    assert wait_for_log(edge, response.headers["x-gateway-request-id"])[1] == ["m"]


# --- fields the log could not store (defect 8) ----------------------------------------------------------------


def test_a_user_with_control_characters_is_sanitised_and_recorded(edge: EdgeGateway) -> None:
    response = post(edge, "/v1/chat/completions", {**CHAT, "user": "a\u0000b\u0007c"})
    assert response.status_code == 200, response.text
    assert wait_for_log(edge, response.headers["x-gateway-request-id"])[0] == "abc"


@pytest.mark.parametrize("model", ["m" * 256, "gpt-4o-mini\u0000", "a\nb"], ids=["long", "nul", "newline"])
@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_an_unstorable_model_name_is_a_400(edge: EdgeGateway, path: str, model: str) -> None:
    assert_openai_400(post(edge, path, {**ENDPOINTS[path], "model": model}), "model")


def test_an_unstorable_model_name_on_messages_is_an_anthropic_400(edge: EdgeGateway) -> None:
    assert_anthropic_400(post(edge, "/v1/messages", {**MESSAGES, "model": "m" * 256}))


# --- timeouts and nesting (defect 10) -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "1e9", "abc", ""])
def test_a_timeout_that_is_not_a_finite_positive_number_is_a_400(edge: EdgeGateway, value: str) -> None:
    response = post(edge, "/v1/chat/completions", CHAT, **{"x-gateway-timeout": value})
    assert_openai_400(response, "x-gateway-timeout")


def test_a_timeout_that_is_not_a_number_on_messages_is_an_anthropic_400(edge: EdgeGateway) -> None:
    assert_anthropic_400(post(edge, "/v1/messages", MESSAGES, **{"x-gateway-timeout": "nan"}))


def test_a_sane_timeout_is_accepted(edge: EdgeGateway) -> None:
    assert post(edge, "/v1/chat/completions", CHAT, **{"x-gateway-timeout": "30"}).status_code == 200


@pytest.mark.parametrize("depth", [240, 300, 1000])  # 241 and more with the body itself
@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_json_nested_too_deep_in_any_field_is_a_400(edge: EdgeGateway, path: str, depth: int) -> None:
    error = assert_openai_400(post(edge, path, with_nested(ENDPOINTS[path], "user_data", depth)))
    assert "nests deeper" in error["message"]


@pytest.mark.parametrize("field", ["metadata", "tools", "extra"])
def test_json_nested_too_deep_on_messages_is_an_anthropic_400(edge: EdgeGateway, field: str) -> None:
    assert_anthropic_400(post(edge, "/v1/messages", with_nested(MESSAGES, field, 300)))


def test_json_nested_below_the_limit_is_accepted(edge: EdgeGateway) -> None:
    response = post(edge, "/v1/chat/completions", with_nested(CHAT, "user_data", 239))  # 240 with the body
    assert response.status_code == 200, response.text


def test_json_nested_beyond_what_the_parser_reads_is_a_400(edge: EdgeGateway) -> None:
    with edge.client() as client:
        response = client.post("/v1/chat/completions", content=b'{"a":' + b"[" * 2000 + b"]" * 2000 + b"}")
    assert_openai_400(response)


def test_bad_tags_and_metadata_on_messages_are_anthropic_400s(edge: EdgeGateway) -> None:
    assert_anthropic_400(post(edge, "/v1/messages", MESSAGES, **{"x-gateway-tags": "ok," + "y" * 65}))
    assert_anthropic_400(post(edge, "/v1/messages", {**MESSAGES, "model": "a\u0000b"}))


# --- reports: /v1/usage and /admin/costs (defect 10) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("start=99999999d", "start"),
        ("start=0001-01-01&end=9999-12-31", "start"),
        ("start=2026-01-01&end=9999-12-31", "end"),
        ("start=99999999999999999999999h", "start"),
        ("start=%00", "start"),
        ("group_by=%00", "group_by"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/usage", "/admin/costs"])
def test_a_report_range_or_grouping_out_of_bounds_is_a_400(edge: EdgeGateway, path: str, query: str,
                                                            param: str) -> None:
    with edge.client() as client:
        assert_openai_400(client.get(f"{path}?{query}"), param)


@pytest.mark.parametrize("param", ["key", "team", "model"])
def test_a_report_filter_with_a_nul_is_a_400(edge: EdgeGateway, param: str) -> None:
    with edge.client() as client:
        assert_openai_400(client.get(f"/admin/costs?{param}=a%00b"), param)
        assert_openai_400(client.get(f"/admin/costs?{param}=" + "x" * 300), param)


# --- admin writes and lookups (defect 10) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/admin/keys", {"name": "a\u0000b"}),
        ("POST", "/admin/keys", {"name": "bell\u0007"}),
        ("POST", "/admin/keys", {"name": "k-team", "team": "a\u0000"}),
        ("POST", "/admin/keys", {"name": "k-models", "models": ["gpt\u0000"]}),
        ("POST", "/admin/keys", {"name": "k-expiry", "expires": "99999999999d"}),
        ("POST", "/admin/keys", {"name": "k-rpm", "rpm": 2**40}),
        ("POST", "/admin/teams", {"name": "a\u0000b"}),
        ("PATCH", "/admin/teams/%00", {"rpm": 1}),
        ("GET", "/admin/keys/%00", None),
        ("POST", "/admin/keys/%00/revoke", None),
        ("POST", "/admin/keys/%00/rotate", None),
        ("DELETE", "/admin/keys/%00", None),
        ("GET", "/admin/teams/%00", None),
        ("POST", "/admin/prompts", {"prompts": ["name: a\u0000b\nmessages: [{role: user, content: hi}]"]}),
        ("POST", "/admin/prompts", {"prompts": [{"name": "p-actor", "template": "hi"}], "actor": "a\u0000"}),
        ("GET", "/admin/prompts/%00", None),
        ("GET", "/admin/prompts/%00/diff?a=1&b=2", None),
        ("POST", "/admin/prompts/%00/release", {"version": 1}),
        ("POST", "/admin/prompts/p/release", {"version": 1, "label": "a\u0000"}),
        ("POST", "/admin/prompts/%00/promote", {}),
        ("POST", "/admin/prompts/%00/rollback", {}),
        ("GET", "/admin/prompts/%00/history", None),
        ("GET", "/admin/prompts/%00/compare", None),
        ("GET", "/admin/prompts/x/compare?since_hours=1e10", None),
        ("GET", "/admin/prompts/x/compare?since_hours=nan", None),
        ("GET", "/admin/prompts/x/compare?since_hours=inf", None),
        ("GET", "/admin/prompts/x/compare?since_hours=-1", None),
    ],
)
def test_an_admin_name_or_value_the_database_cannot_hold_is_a_400(
    edge: EdgeGateway, method: str, path: str, body: Any
) -> None:
    with edge.client() as client:
        assert_openai_400(client.request(method, path, json=body))


def test_an_admin_name_that_fits_is_still_accepted(edge: EdgeGateway) -> None:
    with edge.client() as client:
        response = client.post("/admin/keys", json={"name": "Ünïcode name with spaces", "expires": "30d"})
    assert response.status_code == 201, response.text


# --- error responses keep the connection (defect 10) ----------------------------------------------------------


def test_error_responses_keep_the_keep_alive_connection(edge: EdgeGateway) -> None:
    """One client connection through a 400, a 404, a 405 and an admin 400, then a success."""
    with edge.client() as client:
        responses = [
            client.post("/v1/chat/completions", json=CHAT, headers={"x-gateway-timeout": "nan"}),
            client.get("/v1/nowhere"),
            client.put("/v1/chat/completions", json=CHAT),
            client.get("/admin/prompts/x/compare?since_hours=1e10"),
            client.post("/v1/chat/completions", json=CHAT),
        ]
        assert [r.status_code for r in responses] == [400, 404, 405, 400, 200]
        assert all("close" not in r.headers.get("connection", "") for r in responses)
        ports = {r.extensions["network_stream"].get_extra_info("socket").getsockname()[1] for r in responses}
        assert len(ports) == 1, "every request went over the one connection"
