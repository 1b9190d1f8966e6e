"""Helpers for tests of virtual keys and limits: a config with priced and rate-limited models, an admin client,
and a webhook receiver.

The config has fast-path models only (no litellm), so a gateway starts in about two seconds.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from gateway.db import Database
from support.servers import FakeProvider, Gateway

MASTER_KEY = "sk-test-master"
#: "priced" costs 4 * 0.001 + 2 * 0.002 = 0.008 USD for one user message of one word, with max_tokens=2.
INPUT_PRICE = 0.001
OUTPUT_PRICE = 0.002
CALL_COST = 0.008
ONE_WORD = [{"role": "user", "content": "hello"}]


def keyed_config(
    fake: FakeProvider,
    database_url: str,
    *,
    redis_url: str | None = None,
    prefix: str | None = None,
    master_key: str | None = MASTER_KEY,
    **gateway: Any,
) -> dict[str, Any]:
    def model(name: str, upstream: str, **params: Any) -> dict[str, Any]:
        info = params.pop("model_info", {})
        entry = {"model_name": name, "litellm_params": {"model": upstream, "api_base": fake.v1, "api_key": "fake",
                                                        **params}}
        return {**entry, "model_info": info} if info else entry

    section: dict[str, Any] = {"retry_backoff_base": 0.01, "retry_backoff_max": 0.05, **gateway}
    if redis_url is not None:
        section["redis_url"] = redis_url
    if prefix is not None:
        section["redis_key_prefix"] = prefix
    general: dict[str, Any] = {"database_url": database_url}
    if master_key is not None:
        general["master_key"] = master_key
    return {
        "model_list": [
            model("gpt-4o-mini", "openai/gpt-4o-mini"),
            model("long-answers", "openai/gpt-4o-mini-2024-07-18"),  # usage scripted by the tests that use it
            model("backup", "openai/backup-model"),
            model("priced", "openai/gpt-4o-mini", input_cost_per_token=INPUT_PRICE,
                  output_cost_per_token=OUTPUT_PRICE),
            model("dep-limited", "openai/gpt-4o-mini", rpm=2, weight=1000, model_info={"id": "dep-a"}),
            model("dep-limited", "openai/backup-model", weight=0.001, model_info={"id": "dep-b"}),
            model("solo-limited", "openai/gpt-4o-mini", rpm=1, model_info={"id": "dep-solo"}),
        ],
        "router_settings": {"num_retries": 0},
        "general_settings": general,
        "gateway": section,
    }


@dataclass
class Admin:
    """The admin API of one gateway, with the master key."""

    url: str
    master_key: str = MASTER_KEY
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, headers={"authorization": f"Bearer {self.master_key}"})

    def create_key(self, **spec: Any) -> str:
        """A new key (unique name unless given); returns its secret."""
        spec.setdefault("name", f"k-{time.monotonic_ns()}")
        response = self.client.post("/admin/keys", json=spec)
        assert response.status_code == 201, response.text
        return str(response.json()["key"])

    def create_team(self, **spec: Any) -> dict[str, Any]:
        spec.setdefault("name", f"t-{time.monotonic_ns()}")
        response = self.client.post("/admin/teams", json=spec)
        assert response.status_code == 201, response.text
        return dict(response.json())


@dataclass
class Receiver:
    """A tiny HTTP server that records every JSON body POSTed to it."""

    url: str
    bodies: list[dict[str, Any]]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.bodies)


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook", bodies)
    finally:
        server.shutdown()
        server.server_close()


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.01) -> float | None:
    """Seconds until ``predicate()`` held, or None if it never did within ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(step)
    return None


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def migrated(database_url: str) -> str:
    """Run the migrations once, so that gateways started together do not race to create the tables."""
    database = Database(database_url)
    try:
        database.upgrade()
    finally:
        database.dispose()
    return database_url


@contextmanager
def together(*servers: AbstractContextManager[Gateway]) -> Iterator[list[Gateway]]:
    """Start several gateways at once (each start is mostly Python imports), stop them all at the end."""
    with ExitStack() as stack, ThreadPoolExecutor(len(servers)) as pool:
        futures = [pool.submit(server.__enter__) for server in servers]
        started: list[Gateway] = []
        failure: BaseException | None = None
        for server, future in zip(servers, futures, strict=True):
            try:
                started.append(future.result())
                stack.push(server.__exit__)
            except BaseException as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        yield started
