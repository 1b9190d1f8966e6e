"""Every error status, its OpenAI shape, and the SDK exception class it becomes."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest
from support.config import MASTER_KEY, base_config
from support.contracts import validate
from support.servers import FakeProvider, Gateway, gateway

HELLO = [{"role": "user", "content": "hi"}]


def _post(gw: Gateway, body: bytes | dict[str, object], key: str = MASTER_KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    if isinstance(body, bytes):
        return httpx.post(gw.v1 + "/chat/completions", content=body, headers=headers, timeout=30)
    return httpx.post(gw.v1 + "/chat/completions", json=body, headers=headers, timeout=30)


def _assert_error(response: httpx.Response, status: int, error_type: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    validate("ErrorResponse", body)
    assert body["error"]["type"] == error_type
    assert response.headers["x-gateway-request-id"].startswith("req_")
    return body["error"]  # type: ignore[no-any-return]


def test_malformed_json_is_a_400_that_says_so(gw: Gateway) -> None:
    error = _assert_error(_post(gw, b'{"model": "gpt-4o-mini", "messages": ['), 400, "invalid_request_error")
    assert "not valid JSON" in str(error["message"])


def test_body_that_is_not_an_object_is_a_400(gw: Gateway) -> None:
    _assert_error(_post(gw, b"[1, 2]"), 400, "invalid_request_error")


def test_missing_messages_raises_bad_request_naming_the_field(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=[])
    assert caught.value.status_code == 400
    assert "messages" in caught.value.message


def test_wrong_key_raises_authentication_error(gw: Gateway) -> None:
    _assert_error(_post(gw, {"model": "gpt-4o-mini", "messages": HELLO}, key="sk-wrong"), 401, "authentication_error")
    with (
        openai.OpenAI(base_url=gw.v1, api_key="sk-wrong", max_retries=0) as sdk,
        pytest.raises(openai.AuthenticationError),
    ):
        sdk.chat.completions.create(model="gpt-4o-mini", messages=HELLO)


def test_unknown_model_raises_not_found_naming_it(client: openai.OpenAI, gw: Gateway) -> None:
    error = _assert_error(_post(gw, {"model": "gpt-9", "messages": HELLO}), 404, "invalid_request_error")
    assert "gpt-9" in str(error["message"]) and error["code"] == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-9", messages=HELLO)


def test_upstream_400_keeps_the_providers_message(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="always-400", messages=HELLO)
    assert "400" in caught.value.message


def test_upstream_429_after_retries_raises_rate_limit_error(client: openai.OpenAI, fake: FakeProvider) -> None:
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="always-429", messages=HELLO)
    assert fake.count("fail-429") == 3, "num_retries=2 means three attempts"


def test_upstream_500_is_a_502_bad_gateway(gw: Gateway, client: openai.OpenAI) -> None:
    # One request only: its three failed attempts put the deployment into cooldown (that has its own test).
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="always-500", messages=HELLO)
    assert caught.value.status_code == 502
    validate("ErrorResponse", caught.value.response.json())
    assert caught.value.response.json()["error"]["type"] == "upstream_error"


def test_upstream_503_is_a_503(gw: Gateway) -> None:
    _assert_error(_post(gw, {"model": "unavailable", "messages": HELLO}), 503, "service_unavailable")


def test_upstream_timeout_is_a_504(gw: Gateway, client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="slow", messages=HELLO)
    assert caught.value.status_code == 504
    assert caught.value.response.json()["error"]["type"] == "timeout"


def test_body_over_the_limit_is_a_413(fake: FakeProvider, tmp_path: Path) -> None:
    config = base_config(fake, tmp_path, gateway={"max_body_bytes": 2048})
    with gateway(config, tmp_path) as small:
        big = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 5000}]}
        _assert_error(_post(small, big), 413, "invalid_request_error")
        with (
            openai.OpenAI(base_url=small.v1, api_key=MASTER_KEY, max_retries=0) as sdk,
            pytest.raises(openai.APIStatusError) as caught,
        ):
            sdk.chat.completions.create(model="gpt-4o-mini", messages=big["messages"])  # type: ignore[arg-type]
        assert caught.value.status_code == 413
        ok = sdk_call_small(small)
        assert ok == "Echo: hi"


def sdk_call_small(gw: Gateway) -> str | None:
    with openai.OpenAI(base_url=gw.v1, api_key=MASTER_KEY, max_retries=0) as sdk:
        return sdk.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices[0].message.content


def test_unknown_path_and_wrong_method_are_openai_shaped(gw: Gateway) -> None:
    _assert_error(httpx.get(gw.url + "/v1/nothing-here"), 404, "invalid_request_error")
    _assert_error(httpx.get(gw.v1 + "/chat/completions"), 405, "invalid_request_error")


def test_stream_cut_midway_ends_with_an_error_event(gw: Gateway, client: openai.OpenAI) -> None:
    raw = _post(gw, {"model": "cut", "messages": [{"role": "user", "content": "one two three four"}], "stream": True})
    assert raw.status_code == 200
    events = [line for line in raw.text.splitlines() if line.startswith("data: ")]
    assert '"error"' in events[-1] and "[DONE]" not in raw.text
    received = []
    with pytest.raises(openai.APIError):
        for chunk in client.chat.completions.create(
            model="cut", messages=[{"role": "user", "content": "one two three four"}], stream=True, timeout=10
        ):
            received.append(chunk)
    assert received, "the chunks before the cut reach the client"


def test_upstream_error_before_the_stream_starts_is_a_plain_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="always-400", messages=HELLO, stream=True)
