"""Prove that the OpenAPI contract helpers accept real OpenAI shapes and reject broken ones."""

from __future__ import annotations

import copy
import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from . import contracts
from .contracts import (
    schema,
    schema_names,
    validate,
    validate_sse_chat_stream,
    validate_sse_completion_stream,
)

# --------------------------------------------------------------------------------------------------------
# Hand-written examples, shaped like real api.openai.com responses
# --------------------------------------------------------------------------------------------------------

CHAT_COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "hi", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}

# Everything api.openai.com returns today for a plain gpt-4o-mini call.
CHAT_COMPLETION_FULL: dict[str, Any] = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello!", "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 19,
        "completion_tokens": 10,
        "total_tokens": 29,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
    "system_fingerprint": "fp_06737a9306",
}

CHAT_TOOL_CALL: dict[str, Any] = {
    "id": "chatcmpl-2",
    "object": "chat.completion",
    "created": 2,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [
                    {
                        "id": "call_abc",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
}

_CHUNK_BASE: dict[str, Any] = {
    "id": "chatcmpl-3",
    "object": "chat.completion.chunk",
    "created": 3,
    "model": "gpt-4o-mini-2024-07-18",
    "service_tier": "default",
    "system_fingerprint": "fp_06737a9306",
}


def _chunk(delta: dict[str, Any] | None, finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
    return {**_CHUNK_BASE, "choices": choices, **extra}


CHAT_CHUNKS: list[dict[str, Any]] = [
    _chunk({"role": "assistant", "content": "", "refusal": None}, usage=None),
    _chunk({"content": "Hel"}, usage=None),
    _chunk({"content": "lo\u2028!"}, usage=None),  # U+2028 must not split an SSE line
    _chunk({}, "stop", usage=None),
    _chunk(None, usage={"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}),
]

COMPLETION: dict[str, Any] = {
    "id": "cmpl-1",
    "object": "text_completion",
    "created": 1,
    "model": "gpt-3.5-turbo-instruct",
    "choices": [{"text": "\n\nThis is a test.", "index": 0, "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}


def _completion_chunk(text: str, finish_reason: str | None) -> dict[str, Any]:
    return {
        "id": "cmpl-2",
        "object": "text_completion",
        "created": 1,
        "model": "gpt-3.5-turbo-instruct",
        "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}],
    }


EMBEDDINGS: dict[str, Any] = {
    "object": "list",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.0023, -0.0093, 0.0158]}],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 2, "total_tokens": 2},
}

MODELS: dict[str, Any] = {
    "object": "list",
    "data": [
        {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
        {"id": "text-embedding-3-small", "object": "model", "created": 1705948997, "owned_by": "system"},
    ],
}

ERROR: dict[str, Any] = {
    "error": {
        "message": "Incorrect API key provided: sk-xxx.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}


def sse(*events: dict[str, Any] | str, newline: str = "\n") -> bytes:
    """Frame events the way api.openai.com does: ``data: <json>`` + blank line each."""
    frames = [f"data: {e if isinstance(e, str) else json.dumps(e, ensure_ascii=False)}" for e in events]
    return "".join(frame + newline + newline for frame in frames).encode()


def _fails(match: str) -> pytest.RaisesExc[AssertionError]:
    return pytest.raises(AssertionError, match=match)


# --------------------------------------------------------------------------------------------------------
# Spec loading
# --------------------------------------------------------------------------------------------------------


def test_spec_found_and_names_discoverable() -> None:
    assert contracts.spec_path().is_file()
    names = schema_names()
    for name in (
        "CreateChatCompletionResponse",
        "CreateChatCompletionStreamResponse",
        "CreateCompletionResponse",
        "CreateEmbeddingResponse",
        "ListModelsResponse",
        "Model",
        "ErrorResponse",
    ):
        assert name in names


def test_unknown_schema_name_is_a_key_error_with_suggestions() -> None:
    with pytest.raises(KeyError, match="CreateChatCompletionResponse"):
        validate("CreateChatCompletionRespons", {})


def test_unknown_relaxation_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown relaxation"):
        validate("Model", {}, relax=["everything"])  # type: ignore[list-item]


def _closure(name: str) -> set[str]:
    """``name`` plus every component schema it references, transitively."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        stack: list[Any] = [schema(current)]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                    todo.append(ref.rsplit("/", 1)[1])
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
    return seen


@pytest.mark.parametrize(
    "name",
    [
        "CreateChatCompletionResponse",
        "CreateChatCompletionStreamResponse",
        "CreateCompletionResponse",
        "CreateEmbeddingResponse",
        "ListModelsResponse",
        "ErrorResponse",
        "CreateChatCompletionRequest",
        "FineTuningJob",
    ],
)
def test_normalised_schemas_are_valid_draft_2020_12(name: str) -> None:
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    for member in sorted(_closure(name)):
        problems = [f"{e.json_path}: {e.message}" for e in meta.iter_errors(schema(member))]
        assert not problems, f"{member}: {problems}"


def test_openapi_30_leftovers_are_translated() -> None:
    chunk_choice = schema("CreateChatCompletionStreamResponse")["properties"]["choices"]["items"]
    finish_reason = chunk_choice["properties"]["finish_reason"]
    assert finish_reason["type"] == ["string", "null"]
    assert None in finish_reason["enum"]
    assert "nullable" not in json.dumps(schema("CreateChatCompletionStreamResponse"))
    # the 3.0 `allOf: [{$ref}, {nullable: true}]` idiom and 2019-09 $recursiveRef
    assert schema("RunObject")["properties"]["tool_choice"]["anyOf"][1] == {"type": "null"}
    assert "$recursiveRef" not in json.dumps(schema("CompoundFilter"))


def test_validators_are_built_once_per_schema() -> None:
    validate("Model", MODELS["data"][0])
    before = contracts._validator.cache_info()
    for _ in range(50):
        validate("Model", MODELS["data"][0])
    after = contracts._validator.cache_info()
    assert after.misses == before.misses
    assert after.hits >= before.hits + 50


def test_env_var_override_and_openapi_30_nullable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec = tmp_path / "mini.yaml"
    spec.write_text(
        textwrap.dedent(
            """\
            openapi: 3.0.3
            info: {title: mini, version: "1"}
            paths: {}
            components:
              schemas:
                Thing:
                  type: object
                  required: [kind, rate, parent]
                  properties:
                    kind: {type: string, enum: [a, b], nullable: true}
                    rate: {type: number, minimum: 0, exclusiveMinimum: true}
                    parent:
                      allOf:
                        - $ref: '#/components/schemas/Other'
                        - nullable: true
                Other:
                  type: object
                  required: [id]
                  properties: {id: {type: string}}
            """
        )
    )
    monkeypatch.setattr(contracts, "SPEC_PATH", spec)
    assert contracts.spec_path() == spec
    assert schema_names() == ["Other", "Thing"]
    validate("Thing", {"kind": None, "rate": 0.5, "parent": None})
    validate("Thing", {"kind": "a", "rate": 1, "parent": {"id": "x"}})
    with _fails(r"(?s)\$\.kind: 'c' is not one of.*\$\.parent.*\$\.rate: 0 is less than or equal"):
        validate("Thing", {"kind": "c", "rate": 0, "parent": {}})


def test_spec_is_read_from_the_repository_with_its_licence() -> None:
    """A clone alone passes: the spec (MIT) and its licence are vendored in tests/contracts/, nothing outside."""
    repo_root = Path(__file__).resolve().parents[2]
    path = contracts.spec_path()
    assert path.is_relative_to(repo_root), f"{path} lies outside the repository"
    assert path.is_file()
    assert "MIT" in path.with_name("openai-openapi.LICENSE").read_text()


def test_missing_spec_file_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(contracts, "SPEC_PATH", tmp_path / "absent.yaml")
    with pytest.raises(FileNotFoundError, match="tests/contracts/"):
        schema_names()


# --------------------------------------------------------------------------------------------------------
# Chat completions
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [CHAT_COMPLETION, CHAT_COMPLETION_FULL, CHAT_TOOL_CALL], ids=["min", "full", "tool"])
def test_real_chat_completion_passes(body: dict[str, Any]) -> None:
    validate("CreateChatCompletionResponse", body)


def test_wrong_role_fails_with_its_path() -> None:
    body = copy.deepcopy(CHAT_COMPLETION)
    body["choices"][0]["message"]["role"] = "robot"
    with _fails(r"\$\.choices\[0\]\.message\.role: 'robot' is not one of \['assistant'\]"):
        validate("CreateChatCompletionResponse", body)


def test_missing_id_fails() -> None:
    body = {k: v for k, v in CHAT_COMPLETION.items() if k != "id"}
    with _fails(r"\$: 'id' is a required property"):
        validate("CreateChatCompletionResponse", body)


@pytest.mark.parametrize("field", ["content", "refusal", "role"])
def test_message_fields_the_spec_requires(field: str) -> None:
    body = copy.deepcopy(CHAT_COMPLETION)
    del body["choices"][0]["message"][field]
    with _fails(f"'{field}' is a required property"):
        validate("CreateChatCompletionResponse", body)


@pytest.mark.parametrize("field", ["index", "message", "logprobs", "finish_reason"])
def test_choice_fields_the_spec_requires(field: str) -> None:
    body = copy.deepcopy(CHAT_COMPLETION)
    del body["choices"][0][field]
    with _fails(rf"\$\.choices\[0\]: '{field}' is a required property"):
        validate("CreateChatCompletionResponse", body)


def test_every_error_is_listed_and_capped() -> None:
    body = copy.deepcopy(CHAT_COMPLETION)
    body["choices"] = [{"index": str(i)} for i in range(12)]
    del body["id"]
    with pytest.raises(AssertionError) as excinfo:
        validate("CreateChatCompletionResponse", body)
    report = str(excinfo.value)
    assert "(49 problems)" in report  # 12 choices x (3 missing + bad index) + missing id
    assert report.count("\n  - ") == contracts.MAX_REPORTED_ERRORS
    assert "... and 39 more" in report
    assert "$.choices[2]" in report  # indices sort numerically, so [10] and [11] are the ones cut off
    assert "$.choices[10]" not in report


def test_null_system_fingerprint_is_an_explicit_relaxation() -> None:
    body = {**CHAT_COMPLETION_FULL, "system_fingerprint": None}
    with _fails(r"(?s)system_fingerprint: None is not of type 'string'.*hint: .*null_system_fingerprint"):
        validate("CreateChatCompletionResponse", body)
    validate("CreateChatCompletionResponse", body, relax={"null_system_fingerprint"})
    # the relaxation is narrow: other errors still bite
    with _fails("'robot'"):
        bad = copy.deepcopy(body)
        bad["choices"][0]["message"]["role"] = "robot"
        validate("CreateChatCompletionResponse", bad, relax={"null_system_fingerprint"})


# --------------------------------------------------------------------------------------------------------
# Chat completion streams
# --------------------------------------------------------------------------------------------------------


def test_real_chat_stream_passes() -> None:
    chunks = validate_sse_chat_stream(sse(*CHAT_CHUNKS, "[DONE]"))
    assert chunks == CHAT_CHUNKS


def test_chat_stream_accepts_crlf_comments_and_str() -> None:
    body = sse(*CHAT_CHUNKS, "[DONE]", newline="\r\n").decode()
    assert len(validate_sse_chat_stream(": keep-alive\r\n\r\n" + body)) == len(CHAT_CHUNKS)


def test_chat_stream_chunk_missing_choices_fails() -> None:
    broken = {k: v for k, v in CHAT_CHUNKS[1].items() if k != "choices"}
    with _fails(r"chunk\[1\] \$: 'choices' is a required property"):
        validate_sse_chat_stream(sse(CHAT_CHUNKS[0], broken, *CHAT_CHUNKS[2:], "[DONE]"))


def test_chat_stream_without_done_fails() -> None:
    with _fails(r"does not end with a `data: \[DONE\]` event"):
        validate_sse_chat_stream(sse(*CHAT_CHUNKS))


def test_chat_stream_done_must_be_last_and_unique() -> None:
    with _fails("must appear once, as the last event"):
        validate_sse_chat_stream(sse(*CHAT_CHUNKS[:2], "[DONE]", *CHAT_CHUNKS[2:], "[DONE]"))


def test_chat_stream_unterminated_last_event_fails() -> None:
    with _fails("not terminated by a blank line"):
        validate_sse_chat_stream(sse(*CHAT_CHUNKS) + b"data: [DONE]")


def test_chat_stream_bad_chunk_values_fail() -> None:
    wrong_object = {**CHAT_CHUNKS[1], "object": "chat.completion"}
    wrong_finish = _chunk({}, "finished")
    with _fails(r"(?s)chunk\[1\] \$\.object: .*chunk\[2\] \$\.choices\[0\]\.finish_reason: 'finished'"):
        validate_sse_chat_stream(sse(CHAT_CHUNKS[0], wrong_object, wrong_finish, "[DONE]"))


def test_chat_stream_needs_a_final_finish_reason() -> None:
    with _fails("choice index 0 never ends with a non-null finish_reason"):
        validate_sse_chat_stream(sse(*CHAT_CHUNKS[:3], "[DONE]"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"data: [DONE]\n\n", "no data chunks"),
        (b"data: {oops\n\ndata: [DONE]\n\n", r"event\[0\]: data is not JSON"),
        (b"data: [1]\n\ndata: [DONE]\n\n", "not a JSON object"),
    ],
)
def test_chat_stream_framing_errors(body: bytes, message: str) -> None:
    with _fails(message):
        validate_sse_chat_stream(body)


# --------------------------------------------------------------------------------------------------------
# Legacy completions
# --------------------------------------------------------------------------------------------------------


def test_real_completion_passes() -> None:
    validate("CreateCompletionResponse", COMPLETION)


def test_completion_missing_text_fails() -> None:
    body = copy.deepcopy(COMPLETION)
    del body["choices"][0]["text"]
    with _fails(r"\$\.choices\[0\]: 'text' is a required property"):
        validate("CreateCompletionResponse", body)


def _completion_stream() -> bytes:
    return sse(
        _completion_chunk("\n\n", None),
        _completion_chunk("This is a test.", None),
        _completion_chunk("", "stop"),
        "[DONE]",
    )


def test_completion_stream_is_strict_by_default() -> None:
    with _fails(r"(?s)chunk\[0\] \$\.choices\[0\]\.finish_reason: None.*completion_stream_null_finish_reason"):
        validate_sse_completion_stream(_completion_stream())


def test_completion_stream_passes_with_its_relaxation() -> None:
    chunks = validate_sse_completion_stream(_completion_stream(), relax={"completion_stream_null_finish_reason"})
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, None, "stop"]


def test_completion_stream_relaxation_still_requires_a_final_finish_reason() -> None:
    body = sse(_completion_chunk("a", None), _completion_chunk("b", None), "[DONE]")
    with _fails("choice index 0 never ends with a non-null finish_reason"):
        validate_sse_completion_stream(body, relax={"completion_stream_null_finish_reason"})


def test_completion_stream_without_done_fails() -> None:
    with _fails(r"\[DONE\]"):
        validate_sse_completion_stream(sse(_completion_chunk("x", "stop")))


# --------------------------------------------------------------------------------------------------------
# Embeddings, models, errors
# --------------------------------------------------------------------------------------------------------


def test_real_embeddings_pass() -> None:
    validate("CreateEmbeddingResponse", EMBEDDINGS)


def test_embeddings_missing_usage_fails() -> None:
    with _fails("'usage' is a required property"):
        validate("CreateEmbeddingResponse", {k: v for k, v in EMBEDDINGS.items() if k != "usage"})


def test_base64_embeddings_need_explicit_relaxation() -> None:
    body = copy.deepcopy(EMBEDDINGS)
    body["data"][0]["embedding"] = "AAAAAAAA8D8="
    with _fails(r"(?s)\$\.data\[0\]\.embedding: .*hint: .*base64_embedding"):
        validate("CreateEmbeddingResponse", body)
    validate("CreateEmbeddingResponse", body, relax={"base64_embedding"})
    body["data"][0]["embedding"] = 3
    with _fails(r"\$\.data\[0\]\.embedding"):
        validate("CreateEmbeddingResponse", body, relax={"base64_embedding"})


def test_real_model_list_and_model_pass() -> None:
    validate("ListModelsResponse", MODELS)
    validate("Model", MODELS["data"][0])


def test_model_list_item_missing_owned_by_fails() -> None:
    body = copy.deepcopy(MODELS)
    del body["data"][1]["owned_by"]
    with _fails(r"\$\.data\[1\]: 'owned_by' is a required property"):
        validate("ListModelsResponse", body)


def test_real_error_passes_and_param_code_are_required() -> None:
    validate("ErrorResponse", ERROR)
    body = copy.deepcopy(ERROR)
    del body["error"]["param"]
    del body["error"]["code"]
    with _fails(r"(?s)\$\.error: 'code' is a required property.*\$\.error: 'param' is a required property"):
        validate("ErrorResponse", body)


@pytest.fixture
def many_bodies() -> Iterator[list[dict[str, Any]]]:
    yield [copy.deepcopy(CHAT_COMPLETION_FULL) for _ in range(300)]


def test_validation_is_fast_enough_for_hundreds_of_tests(many_bodies: list[dict[str, Any]]) -> None:
    validate("CreateChatCompletionResponse", many_bodies[0])  # warm the caches
    started = time.perf_counter()
    for body in many_bodies:
        validate("CreateChatCompletionResponse", body)
    assert time.perf_counter() - started < 5.0
