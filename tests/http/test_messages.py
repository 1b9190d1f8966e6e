"""The Anthropic Messages API through the gateway, with the official anthropic SDK, against any model."""

from __future__ import annotations

import anthropic
import pytest
from support.servers import Gateway

MODELS = ["gpt-4o-mini", "claude-sonnet"]
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.mark.parametrize("model", MODELS)
def test_message_round_trip(claude: anthropic.Anthropic, model: str) -> None:
    message = claude.messages.create(
        model=model, max_tokens=100, system="be brief", messages=[{"role": "user", "content": "hello there"}]
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Echo: hello there"
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 3
    assert message.model == model


@pytest.mark.parametrize("model", MODELS)
def test_streamed_message_with_usage(claude: anthropic.Anthropic, model: str) -> None:
    with claude.messages.stream(
        model=model, max_tokens=100, messages=[{"role": "user", "content": "hello there"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Echo: hello there"
    assert final.usage.output_tokens == 3 and final.usage.input_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_tool_use_round_trip(claude: anthropic.Anthropic, model: str) -> None:
    first = claude.messages.create(
        model=model, max_tokens=100, tools=[WEATHER], messages=[{"role": "user", "content": "weather in Paris?"}]
    )
    assert first.stop_reason == "tool_use"
    call = next(block for block in first.content if block.type == "tool_use")
    assert call.name == "get_weather" and "city" in call.input
    second = claude.messages.create(
        model=model,
        max_tokens=100,
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": "weather in Paris?"},
            {"role": "assistant", "content": [block.model_dump() for block in first.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]},
        ],
    )
    assert second.content[0].text == "Tool result: sunny"


def test_streamed_tool_use(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model="gpt-4o-mini", max_tokens=100, tools=[WEATHER], messages=[{"role": "user", "content": "weather?"}]
    ) as stream:
        final = stream.get_final_message()
    call = next(block for block in final.content if block.type == "tool_use")
    assert call.name == "get_weather" and "city" in call.input


def test_errors_raise_the_anthropic_exception_classes(gw: Gateway, claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError):
        claude.messages.create(model="nope", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model="gpt-4o-mini", max_tokens=10, messages=[])
    assert caught.value.body["type"] == "error"  # type: ignore[index]
    with (
        anthropic.Anthropic(base_url=gw.url, api_key="sk-wrong", max_retries=0) as wrong,
        pytest.raises(anthropic.AuthenticationError),
    ):
        wrong.messages.create(model="gpt-4o-mini", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(anthropic.RateLimitError):
        claude.messages.create(model="always-429-b", max_tokens=10, messages=[{"role": "user", "content": "x"}])


def test_stream_cut_midway_raises_instead_of_hanging(claude: anthropic.Anthropic) -> None:
    with (
        pytest.raises(anthropic.APIError),
        claude.messages.stream(
            model="cut", max_tokens=100, messages=[{"role": "user", "content": "one two three four"}]
        ) as stream,
    ):
        for _ in stream.text_stream:
            pass
