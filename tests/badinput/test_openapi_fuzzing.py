"""Schemathesis against the running gateway, from two documents: the gateway's own admin OpenAPI document
(``/admin/openapi.json``, fetched with the master key) and OpenAI's published spec for the proxy endpoints.

Each operation gets a fixed, derandomized budget of positive (schema-valid) and negative (schema-violating) cases,
no shrinking, so a run is bounded and repeatable. Every answer must pass ``judge``: no 5xx, errors in the OpenAI
shape, no traceback.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from support.badinput import MASTER_KEY, Findings, judge
from support.contracts import spec_path
from support.servers import Gateway

pytestmark = pytest.mark.slow

#: Cases per operation and generation mode.
ADMIN_EXAMPLES = 10
PROXY_EXAMPLES = 40
#: The proxy operations of OpenAI's spec the gateway serves (path relative to /v1).
PROXY_OPERATIONS = {("POST", "/chat/completions"), ("POST", "/completions"), ("POST", "/embeddings"),
                    ("GET", "/models"), ("GET", "/models/{model}")}


@functools.cache
def openai_document() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with spec_path().open("rb") as file:
        document: dict[str, Any] = yaml.load(file, Loader=loader)
    return document


def fuzz(operation: Any, base_url: str, examples: int, findings: Findings, session: requests.Session) -> None:
    where = f"{operation.method.upper()} {operation.path}"
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @settings(max_examples=examples, derandomize=True, deadline=None, database=None, print_blob=False,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            try:
                response = case.call(base_url=base_url, session=session, timeout=30)
            except requests.RequestException as exc:
                findings.add(where, f"no answer: {type(exc).__name__}", repr(case.body)[:300])
                return
            findings.add(where, judge(response.status_code, response.content), f"{case.as_curl_command()}")

        with contextlib.suppress(Unsatisfiable):  # nothing to break in this mode (an operation without inputs)
            run()


def operations(schema: Any, wanted: set[tuple[str, str]] | None = None) -> list[Any]:
    found = [result.ok() for result in schema.get_all_operations() if result.ok() is not None]
    return [op for op in found if wanted is None or (op.method.upper(), op.path) in wanted]


def test_the_admin_api_survives_its_own_openapi_document(target: Gateway) -> None:
    headers = {"authorization": f"Bearer {MASTER_KEY}"}
    schema = schemathesis.openapi.from_url(target.url + "/admin/openapi.json", headers=headers, timeout=30)
    findings = Findings()
    with requests.Session() as session:
        session.headers.update(headers)
        for operation in operations(schema):
            fuzz(operation, target.url + "/admin", ADMIN_EXAMPLES, findings, session)
    assert findings.cases > 0
    assert not findings.seen, findings.report()


def test_the_proxy_endpoints_survive_openai_s_spec(target: Gateway) -> None:
    schema = schemathesis.openapi.from_dict(openai_document())
    findings = Findings()
    with requests.Session() as session:
        session.headers.update({"authorization": f"Bearer {MASTER_KEY}"})
        chosen = operations(schema, PROXY_OPERATIONS)
        assert len(chosen) == len(PROXY_OPERATIONS), [f"{o.method} {o.path}" for o in chosen]
        for operation in chosen:
            fuzz(operation, target.v1, PROXY_EXAMPLES, findings, session)
    assert not findings.seen, findings.report()
