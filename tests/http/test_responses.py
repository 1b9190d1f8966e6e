"""The Responses API through the gateway, with the official openai SDK, for an OpenAI and a non-OpenAI model.

``gpt-4o-mini`` is an ``openai/`` deployment: the request is passed through to the fake provider's
``/v1/responses``. ``claude-sonnet`` is an ``anthropic/`` one: litellm calls the fake's Anthropic endpoint and the
gateway translates chat to and from Responses. Both must look the same to the client.
"""

from __future__ import annotations

import time

import httpx
import openai
import pytest
from support.config import MASTER_KEY
from support.contracts import validate, validate_sse_responses_stream
from support.keyed import Admin
from support.request_log import logged_row
from support.servers import FakeProvider, Gateway

MODELS = ["gpt-4o-mini", "claude-sonnet"]
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}
HEADERS = {"Authorization": f"Bearer {MASTER_KEY}"}


@pytest.mark.parametrize("model", MODELS)
def test_create_answers_with_text_and_usage(client: openai.OpenAI, model: str) -> None:
    response = client.responses.create(model=model, input="hello there", instructions="be brief")
    assert response.output_text == "Echo: hello there"
    assert response.status == "completed"
    assert response.usage is not None and response.usage.output_tokens == 3


@pytest.mark.parametrize("model", MODELS)
def test_the_plain_answer_matches_the_response_schema(gw: Gateway, model: str) -> None:
    answer = httpx.post(gw.v1 + "/responses", headers=HEADERS, json={"model": model, "input": "hi", "tools": [WEATHER]})
    assert answer.status_code == 200, answer.text
    validate("Response", answer.json())


@pytest.mark.parametrize("model", MODELS)
def test_the_stream_is_valid_typed_events(gw: Gateway, model: str) -> None:
    with httpx.stream("POST", gw.v1 + "/responses", headers=HEADERS,
                      json={"model": model, "input": "hello there", "stream": True}) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        raw = answer.read()
    events = validate_sse_responses_stream(raw)
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "Echo: hello there"


@pytest.mark.parametrize("model", MODELS)
def test_sdk_stream_with_a_tool_then_previous_response_id(client: openai.OpenAI, model: str) -> None:
    with client.responses.stream(model=model, input="weather in Paris?", tools=[WEATHER]) as stream:
        for _ in stream:
            pass
        first = stream.get_final_response()
    call = next(item for item in first.output if item.type == "function_call")
    assert call.name == "get_weather" and "city" in call.arguments
    with client.responses.stream(
        model=model,
        previous_response_id=first.id,
        tools=[WEATHER],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
    ) as stream:
        text = "".join(event.delta for event in stream if event.type == "response.output_text.delta")
        second = stream.get_final_response()
    assert text == "Tool result: sunny"
    assert second.previous_response_id == first.id


@pytest.mark.parametrize("model", MODELS)
def test_previous_response_id_carries_the_conversation(client: openai.OpenAI, fake: FakeProvider, model: str) -> None:
    first = client.responses.create(model=model, input="my name is Ada")
    second = client.responses.create(model=model, input="what is my name?", previous_response_id=first.id)
    assert second.output_text == "Echo: what is my name?"
    sent = str(fake.stats()["last_request"])
    assert "my name is Ada" in sent and "Echo: my name is Ada" in sent  # the earlier turn went upstream


def test_stored_responses_can_be_read_listed_and_deleted(client: openai.OpenAI) -> None:
    created = client.responses.create(model="claude-sonnet", input="keep me")
    assert client.responses.retrieve(created.id).output_text == "Echo: keep me"
    items = client.responses.input_items.list(created.id)
    assert [item.type for item in items.data] == ["message"]
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_store_false_keeps_nothing(client: openai.OpenAI) -> None:
    created = client.responses.create(model="claude-sonnet", input="forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_an_unknown_previous_response_is_a_400_for_a_translated_model(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="claude-sonnet", input="x", previous_response_id="resp_nope")
    assert caught.value.param == "previous_response_id"


def test_structured_output_through_a_translated_model(client: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
              "additionalProperties": False}
    response = client.responses.create(
        model="claude-sonnet", input="say ok",
        text={"format": {"type": "json_schema", "name": "reply", "schema": schema, "strict": True}},
    )
    assert "answer" in response.output_text


def test_a_missing_input_is_an_openai_shaped_400(gw: Gateway) -> None:
    answer = httpx.post(gw.v1 + "/responses", headers=HEADERS, json={"model": "gpt-4o-mini"})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "input"



@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_every_responses_request_is_logged_with_its_tokens_and_cost(
    client: openai.OpenAI, gw: Gateway, model: str, stream: bool
) -> None:
    raw = client.responses.with_raw_response.create(model=model, input="count me", stream=stream)
    if stream:
        list(raw.parse())  # read the stream to its end: the record is written when it ends
    row = logged_row(gw, raw.headers["x-gateway-request-id"])
    assert (row["endpoint"], row["status"], row["stream"]) == ("responses", 200, stream)
    assert row["prompt_tokens"] > 0 and row["completion_tokens"] == 3
    if model == "gpt-4o-mini":  # (the price map no longer prices claude-3-5-sonnet-20241022)
        assert row["cost_usd"] is not None and row["cost_usd"] > 0


def test_a_stream_cut_upstream_ends_with_an_error_event(gw: Gateway) -> None:
    with httpx.stream("POST", gw.v1 + "/responses", headers=HEADERS,
                      json={"model": "cut", "input": "a b c d e f g h", "stream": True}) as answer:
        raw = answer.read().decode()
    assert raw.rstrip().splitlines()[-2] == "event: error"
    assert "response.completed" not in raw


def test_litellm_responses_works_against_the_gateway(gw: Gateway) -> None:
    import litellm  # noqa: PLC0415 - litellm takes seconds to import; only this test needs it

    response = litellm.responses(
        model="openai/claude-sonnet", input="hello there", api_base=gw.v1, api_key=MASTER_KEY
    )
    assert response.output[0].content[0].text == "Echo: hello there"


def test_a_stored_response_is_invisible_to_another_key(gw: Gateway) -> None:
    admin = Admin(gw.url)
    owner, other = admin.create_key(), admin.create_key()
    deadline = time.monotonic() + 10
    while True:  # a new key reaches the gateway's key cache within its refresh interval
        made = httpx.post(gw.v1 + "/responses", headers={"Authorization": f"Bearer {owner}"},
                          json={"model": "gpt-4o-mini", "input": "mine"})
        if made.status_code != 401 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert made.status_code == 200, made.text
    response_id = made.json()["id"]
    for key, status in ((other, 404), (MASTER_KEY, 404), (owner, 200)):
        seen = httpx.get(f"{gw.v1}/responses/{response_id}", headers={"Authorization": f"Bearer {key}"})
        assert seen.status_code == status, (key == owner, seen.text)
    chained = httpx.post(gw.v1 + "/responses", headers={"Authorization": f"Bearer {other}"},
                         json={"model": "claude-sonnet", "input": "yours?", "previous_response_id": response_id})
    assert chained.status_code == 400  # another key's response is not there to continue
