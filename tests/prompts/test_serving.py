"""Serving prompts by reference, through the real gateway and the OpenAI SDK (prompts pushed with the CLI)."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from sqlmodel import col, select
from support.prompts import PromptKit, eventually, prompt_doc

from gateway.db import Database
from gateway.db.logs import RequestLog

VARS = {"customer_name": "Ada", "question": "Where is my parcel?"}


def _reply(raw: Any) -> tuple[str, str]:
    completion = raw.parse()
    return completion.choices[0].message.content, completion.choices[0].finish_reason


def test_push_then_release_then_serve_by_label_and_by_version(kit: PromptKit) -> None:
    name = kit.name("support")
    kit.push(prompt_doc(name))
    doc = prompt_doc(name)
    doc["messages"][1]["content"] = "Customer {{ customer_name }} wants to know: {{ question }}"
    output = kit.push(doc).output
    assert f"{name}: new version v2 (was v1)" in output
    assert f"{name}: unchanged (v2)" in kit.push(doc).output  # no version for unchanged content
    kit.cli("release", name, "--version", "1", "--actor", "tester")

    def production_is_v1() -> Any:
        raw = kit.chat(name, VARS)
        assert raw.headers["x-gateway-prompt-version"] == f"{name}@1"
        return raw

    raw = eventually(production_is_v1)
    assert _reply(raw) == ("Echo: Customer Ada asks: Where is my parcel?", "stop")
    by_version = kit.chat(f"{name}@2", VARS)
    assert by_version.headers["x-gateway-prompt-version"] == f"{name}@2"
    assert _reply(by_version)[0] == "Echo: Customer Ada wants to know: Where is my parcel?"
    assert kit.served(f"{name}@latest") == f"{name}@2"
    assert kit.served(f"{name}@production") == f"{name}@1"


def test_model_prompt_reference_serves_a_label_with_the_prompts_own_model(kit: PromptKit) -> None:
    name = kit.name("by-model")
    kit.api_push(prompt_doc(name, model="gpt-4o"))
    kit.api_release(name, 1, label="staging")
    raw = kit.sdk.chat.completions.with_raw_response.create(
        model=f"prompt/{name}@staging", messages=[], extra_body={"prompt_variables": VARS}
    )
    assert raw.headers["x-gateway-prompt-version"] == f"{name}@1"
    assert raw.headers["x-gateway-model"] == "gpt-4o"
    assert raw.parse().model == "gpt-4o"
    with_id = kit.chat(f"{name}@staging", VARS, model="gpt-4o-mini")  # the request's model overrides
    assert with_id.headers["x-gateway-model"] == "gpt-4o-mini"


def test_the_requests_own_messages_follow_the_rendered_ones(kit: PromptKit) -> None:
    name = kit.name("follow")
    kit.api_push(prompt_doc(name))
    kit.api_release(name, 1)
    raw = kit.chat(name, VARS, messages=[{"role": "user", "content": "And a follow-up question"}])
    assert _reply(raw)[0] == "Echo: And a follow-up question"
    usage = raw.parse().usage
    assert usage is not None and usage.prompt_tokens > 3 + 4  # the prompt's two messages were sent too


def test_the_prompts_parameters_apply_and_the_request_overrides_them_unless_locked(kit: PromptKit) -> None:
    free, locked = kit.name("free"), kit.name("locked")
    kit.api_push(
        prompt_doc(free, parameters={"max_tokens": 2}),
        prompt_doc(locked, parameters={"max_tokens": 2}, locked=["max_tokens", "model"]),
    )
    kit.api_release(free, 1)
    kit.api_release(locked, 1)
    assert _reply(kit.chat(free, VARS)) == ("Echo: Customer", "length")
    assert _reply(kit.chat(free, VARS, max_tokens=50))[1] == "stop"
    raw = kit.chat(locked, VARS, max_tokens=50, model="gpt-4o")
    assert _reply(raw) == ("Echo: Customer", "length")  # the locked max_tokens won
    assert raw.headers["x-gateway-model"] == "gpt-4o-mini"  # and so did the locked model


def test_json_response_format_from_the_prompt_reaches_the_provider(kit: PromptKit) -> None:
    name = kit.name("json")
    doc = prompt_doc(name, parameters={"response_format": "json_object", "max_tokens": 100})
    doc["messages"] = [{"role": "user", "content": "Extract the order details as JSON from: {{ text }}"}]
    doc["variables"] = {"properties": {"text": {"type": "string"}}, "required": ["text"]}
    kit.api_push(doc)
    kit.api_release(name, 1)
    text, _ = _reply(kit.chat(name, {"text": "2 apples"}))
    assert json.loads(text) == {"echo": "Extract the order details as JSON from: 2 apples"}


def test_a_prompt_served_as_a_stream(kit: PromptKit) -> None:
    name = kit.name("stream")
    kit.api_push(prompt_doc(name))
    kit.api_release(name, 1)
    stream = kit.sdk.chat.completions.create(
        model="gpt-4o-mini", messages=[], stream=True, extra_body={"prompt_id": name, "prompt_variables": VARS}
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Echo: Customer Ada asks: Where is my parcel?"


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"customer_name": "Ada"}, "`question`"),
        ({}, "`customer_name`, `question`"),
        ({"customer_name": "Ada", "question": 42}, "prompt_variables.question: 42 is not of type 'string'"),
    ],
)
def test_a_missing_or_invalid_variable_is_a_400_naming_it(
    kit: PromptKit, variables: dict[str, Any], named: str
) -> None:
    name = kit.name("strict")
    kit.api_push(prompt_doc(name))
    kit.api_release(name, 1)
    with pytest.raises(openai.BadRequestError) as caught:
        kit.chat(name, variables)
    assert caught.value.status_code == 400
    assert named in caught.value.message
    assert caught.value.body["param"].startswith("prompt_variables")  # type: ignore[index]


@pytest.mark.parametrize(
    ("reference", "named"),
    [
        ("no-such-prompt-anywhere", "unknown prompt `no-such-prompt-anywhere`"),
        ("{name}@canary-x", "has no label `canary-x`"),
        ("{name}@99", "has no version 99"),
        ("{name}", "has no label `production`"),
        ("{name}@", "invalid prompt reference"),
    ],
)
def test_an_unknown_prompt_label_or_version_is_a_400_naming_it(kit: PromptKit, reference: str, named: str) -> None:
    name = kit.name("known")
    kit.api_push(prompt_doc(name))
    with pytest.raises(openai.BadRequestError) as caught:
        kit.chat(reference.format(name=name), VARS)
    assert named in caught.value.message
    assert caught.value.body["param"] == "prompt_id"  # type: ignore[index]


def test_a_template_reaching_for_python_internals_is_refused_by_the_sandbox(kit: PromptKit) -> None:
    name = kit.name("evil")
    doc = prompt_doc(name)
    doc["messages"][1]["content"] = "{{ customer_name.__class__.__mro__[1].__subclasses__() }} {{ question }}"
    kit.api_push(doc)
    kit.api_release(name, 1)
    with pytest.raises(openai.BadRequestError) as caught:
        kit.chat(name, VARS)
    assert "sandbox refused" in caught.value.message
    assert "subclasses" not in caught.value.message.split("refused:")[0]


def test_requests_without_a_prompt_are_untouched(kit: PromptKit) -> None:
    raw = kit.sdk.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert "x-gateway-prompt-version" not in raw.headers
    assert _reply(raw)[0] == "Echo: hi"
    with pytest.raises(openai.BadRequestError, match="messages"):
        kit.sdk.chat.completions.create(model="gpt-4o-mini", messages=[])


def test_the_request_record_names_the_prompt_version(kit: PromptKit) -> None:
    name = kit.name("logged")
    kit.api_push(prompt_doc(name))
    kit.api_release(name, 1)
    kit.chat(name, VARS)
    database = Database(kit.database_url())

    def recorded() -> None:
        with database.session() as session:
            rows = session.exec(select(RequestLog).where(col(RequestLog.prompt_name) == name)).all()
        assert [row.prompt_version for row in rows] == [1]

    try:
        eventually(recorded)
    finally:
        database.dispose()


def test_a_prompt_serves_the_responses_api_with_its_parameters_renamed(kit: PromptKit) -> None:
    name = kit.name("responses")
    kit.api_push(prompt_doc(name, parameters={"max_tokens": 2}))
    kit.api_release(name, 1)
    raw = kit.sdk.responses.with_raw_response.create(
        model="gpt-4o-mini", extra_body={"prompt_id": name, "prompt_variables": VARS}
    )
    assert raw.headers["x-gateway-prompt-version"] == f"{name}@1"
    response = raw.parse()
    assert response.output_text == "Echo: Customer"  # max_tokens: 2 became max_output_tokens
    assert response.status == "incomplete"
