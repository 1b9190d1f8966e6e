"""``POST /v1/messages/count_tokens`` with the official anthropic SDK: every configured model gets a count."""

from __future__ import annotations

import anthropic
import httpx
import pytest
from support.config import MASTER_KEY
from support.servers import FakeProvider, Gateway

MESSAGES = [{"role": "user", "content": "how many tokens are in this sentence?"}]
HEADERS = {"x-api-key": MASTER_KEY, "anthropic-version": "2023-06-01"}


def test_an_anthropic_model_is_counted_by_the_provider(claude: anthropic.Anthropic, fake: FakeProvider) -> None:
    raw = claude.messages.with_raw_response.count_tokens(model="claude-sonnet", messages=MESSAGES, system="be brief")
    assert raw.headers["x-gateway-token-count"] == "provider"
    assert raw.parse().input_tokens > 0
    assert fake.count("claude-3-5-sonnet-20241022", "/v1/messages/count_tokens") == 1


def test_another_model_is_counted_locally_and_says_so(claude: anthropic.Anthropic) -> None:
    raw = claude.messages.with_raw_response.count_tokens(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.headers["x-gateway-token-count"] == "local"
    # 8 words of text, plus OpenAI's per-message accounting: a real tokenizer's count, not a guess per word.
    assert 10 <= raw.parse().input_tokens <= 20


def test_tools_add_to_the_count(claude: anthropic.Anthropic) -> None:
    tool = {"name": "get_weather", "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
    plain = claude.messages.count_tokens(model="gpt-4o-mini", messages=MESSAGES).input_tokens
    with_tool = claude.messages.count_tokens(model="gpt-4o-mini", messages=MESSAGES, tools=[tool]).input_tokens
    assert with_tool > plain


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        ({"model": "no-such-model", "messages": MESSAGES}, 404, "not_found_error"),
        ({"messages": MESSAGES}, 400, "invalid_request_error"),
        ({"model": "gpt-4o-mini", "messages": "nope"}, 400, "invalid_request_error"),
    ],
)
def test_errors_are_anthropic_shaped(gw: Gateway, body: dict[str, object], status: int, kind: str) -> None:
    answer = httpx.post(gw.url + "/v1/messages/count_tokens", headers=HEADERS, json=body)
    assert answer.status_code == status
    assert answer.json()["type"] == "error" and answer.json()["error"]["type"] == kind


def test_a_bad_key_is_an_anthropic_authentication_error(gw: Gateway) -> None:
    answer = httpx.post(gw.url + "/v1/messages/count_tokens", headers={**HEADERS, "x-api-key": "sk-wrong"},
                        json={"model": "gpt-4o-mini", "messages": MESSAGES})
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "authentication_error"
