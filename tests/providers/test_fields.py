"""The allow-list of request fields a litellm deployment receives (issue 8, defect 1)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from support.contracts import spec_path

from gateway.providers.fields import ALLOWED, CHAT_FIELDS, COMPLETIONS_FIELDS, EMBEDDINGS_FIELDS, allowed_fields

SPEC = spec_path()
CONNECTION = [
    "base_url",
    "api_base",
    "api_key",
    "api_version",
    "extra_headers",
    "headers",
    "custom_llm_provider",
    "timeout",
    "num_retries",
    "mock_response",
    "aws_access_key_id",
    "aws_region_name",
    "vertex_project",
    "vertex_credentials",
    "azure_ad_token",
    "callbacks",
    "extra_body",
    "client",
    "organization",
    "model",
    "metadata",
    "stream",
]


@pytest.mark.parametrize("endpoint", ["chat", "completions", "embeddings"])
@pytest.mark.parametrize("name", CONNECTION)
def test_no_field_that_decides_where_or_how_to_connect_passes(endpoint: Any, name: str) -> None:
    assert allowed_fields(endpoint, {name: "x", "user": "u"}) == {"user": "u"}


def test_openai_fields_and_documented_provider_extras_pass() -> None:
    body = {"messages": [], "temperature": 0.5, "response_format": {"type": "json_object"}, "top_k": 3, "junk": 1}
    assert allowed_fields("chat", body) == {k: v for k, v in body.items() if k != "junk"}
    assert allowed_fields("embeddings", {"input": "x", "dimensions": 8, "top_k": 1}) == {"input": "x", "dimensions": 8}


def _properties(schemas: dict[str, Any], name: str) -> set[str]:
    schema = schemas[name]
    found = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        if "$ref" in part:
            found |= _properties(schemas, part["$ref"].rsplit("/", 1)[-1])
        found |= set(part.get("properties", {}))
    return found


@pytest.mark.skipif(not SPEC.exists(), reason="OpenAI's spec is not on this machine")
@pytest.mark.parametrize(
    ("schema", "fields"),
    [
        ("CreateChatCompletionRequest", CHAT_FIELDS),
        ("CreateCompletionRequest", COMPLETIONS_FIELDS),
        ("CreateEmbeddingRequest", EMBEDDINGS_FIELDS),
    ],
)
def test_the_lists_are_openais_request_schemas(schema: str, fields: frozenset[str]) -> None:
    schemas = yaml.safe_load(SPEC.read_text())["components"]["schemas"]
    assert fields == _properties(schemas, schema) - {"model", "stream", "metadata"}
    assert set(ALLOWED) == {"chat", "completions", "embeddings"}
