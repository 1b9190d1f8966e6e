"""The admin API's one style, seen from a client: every body route documents its schema, a bad body is an
OpenAI-shaped 400 naming the field, bodies are bounded like the proxy's, a conflict is one 409 class, and a
gateway without a database answers one way.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy.exc import OperationalError
from support.contracts import validate
from support.keyed import MASTER_KEY, keyed_config
from support.servers import FakeProvider, Gateway, gateway

from gateway import errors
from gateway.http.admin import common, keys, prompts  # noqa: F401 (their error classes, if any, exist)

#: Admin routes that take a body, and the model that describes it (any other write route is checked too).
BODY_ROUTES = {
    ("post", "/keys"): "KeySpec",
    ("post", "/teams"): "TeamSpec",
    ("patch", "/teams/{ref}"): "TeamUpdate",
    ("post", "/prompts"): "PushBody",
    ("post", "/prompts/{name}/release"): "ReleaseBody",
    ("post", "/prompts/{name}/promote"): "PromoteBody",
    ("post", "/prompts/{name}/rollback"): "RollbackBody",
}
#: Write routes that take nothing but the path: the only ones without a request schema.
NO_BODY = {"/keys/{ref}/revoke", "/keys/{ref}/rotate"}
BODY_LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def gw(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("admin-style")
    config = keyed_config(fake, f"sqlite:///{tmp / 'g.db'}", max_body_bytes=BODY_LIMIT)
    with gateway(config, tmp) as server:
        yield server


@pytest.fixture()
def admin(gw: Gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gw.url + "/admin", headers={"authorization": f"Bearer {MASTER_KEY}"},
                      timeout=30) as client:
        yield client


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    validate("ErrorResponse", body)
    return dict(body["error"])


def test_every_admin_write_route_documents_its_request_schema(admin: httpx.Client) -> None:
    document = admin.get("/openapi.json").json()
    writes = {(method, path) for path, item in document["paths"].items() for method in item
              if method in ("post", "put", "patch") and path not in NO_BODY}
    assert set(BODY_ROUTES) <= writes
    for method, path in writes:
        schema = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
        model = schema["$ref"].rsplit("/", 1)[-1]
        assert document["components"]["schemas"][model]["properties"], (method, path)
        assert BODY_ROUTES.get((method, path), model) == model


def test_a_bad_field_is_an_openai_400_naming_it(admin: httpx.Client) -> None:
    wrong_type = error_of(admin.post("/keys", json={"name": unique("k"), "rpm": "lots"}), 400)
    assert wrong_type["type"] == "invalid_request_error" and wrong_type["param"] == "rpm"
    assert "`rpm`" in wrong_type["message"]
    in_a_list = error_of(admin.post("/keys", json={"name": unique("k"), "models": ["gpt-4o-mini", 5]}), 400)
    assert in_a_list["param"] == "models[1]"
    missing = error_of(admin.post("/prompts/x/release", json={"label": "production"}), 400)
    assert missing["param"] == "version"
    unknown = error_of(admin.patch("/teams/nobody", json={"colour": "blue"}), 400)
    assert unknown["param"] == "colour"


def test_a_query_parameter_out_of_bounds_is_named_as_the_client_wrote_it(admin: httpx.Client) -> None:
    assert error_of(admin.get("/prompts/x/compare?since_hours=-1"), 400)["param"] == "since_hours"


def test_an_admin_body_is_read_within_the_gateways_limits(admin: httpx.Client) -> None:
    too_big = {"prompts": ["x" * (BODY_LIMIT + 1)]}
    assert error_of(admin.post("/prompts", json=too_big), 413)["code"] == "request_too_large"
    not_an_object = error_of(admin.post("/teams", json=["name"]), 400)
    assert not_an_object["code"] == "invalid_json"
    nested = '{"name": "deep", "models": ' + "[" * 300 + "1" + "]" * 300 + "}"
    assert error_of(admin.post("/teams", content=nested, headers={"content-type": "application/json"}), 400)


def test_a_json_body_sent_as_curl_d_sends_it_is_accepted(admin: httpx.Client) -> None:
    """``curl -d`` labels the body a form; the admin API's bodies are always JSON."""
    name = unique("curl")
    created = admin.post("/teams", content=f'{{"name": "{name}"}}',
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == name


def test_a_name_in_use_and_a_refused_release_are_both_the_one_409(admin: httpx.Client) -> None:
    name = unique("team")
    assert admin.post("/teams", json={"name": name}).status_code == 201
    taken = error_of(admin.post("/teams", json={"name": name}), 409)
    assert taken["type"] == "invalid_request_error" and taken["code"] == "conflict"
    prompt = unique("gated")
    doc = {"name": prompt, "model": "gpt-4o-mini", "eval_suite": "never-run-suite",
           "messages": [{"role": "user", "content": "hi"}]}
    assert admin.post("/prompts", json={"prompts": [yaml.safe_dump(doc)]}).status_code == 200
    refused = error_of(admin.post(f"/prompts/{prompt}/release", json={"version": 1}), 409)
    assert refused["type"] == "invalid_request_error" and refused["code"] == "release_refused"


def test_the_exception_tree_has_one_409_class() -> None:
    def tree(cls: type[errors.GatewayError]) -> list[type[errors.GatewayError]]:
        return [cls, *(sub for child in cls.__subclasses__() for sub in tree(child))]

    assert [cls for cls in tree(errors.GatewayError) if cls.status == 409] == [errors.Conflict]
    assert issubclass(errors.Conflict, errors.RequestError)


def test_no_database_is_a_503_database_unavailable() -> None:
    no_database: Any = SimpleNamespace(database=None)
    with pytest.raises(errors.DatabaseUnavailable) as raised:
        asyncio.run(common.run_db(no_database, lambda database: database))
    assert raised.value.status == 503 and raised.value.to_dict()["error"]["code"] == "database_unavailable"


def test_a_database_that_cannot_be_reached_is_the_same_503_without_the_drivers_message() -> None:
    def down(database: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection to postgresql://u:s3cret@db failed"))

    reachable_once: Any = SimpleNamespace(database=object())
    with pytest.raises(errors.DatabaseUnavailable) as raised:
        asyncio.run(common.run_db(reachable_once, down))
    body = raised.value.to_dict()["error"]
    assert raised.value.status == 503 and body["code"] == "database_unavailable" and "s3cret" not in str(body)
    assert raised.value.headers["Retry-After"]
