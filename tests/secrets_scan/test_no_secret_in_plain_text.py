"""The secrets scan: after traffic of every kind (answers, streams, errors, upstream faults, a revoked key, a
database outage that spills and a restart that replays), the provider key, the master key and the virtual keys in
use appear nowhere in plain text: not in the SQLite file, not in a dump of the PostgreSQL database, not in the
gateway's output, not in spill or quarantine files, not in any response body (errors included), not in what the
admin API lists, and not in ``/metrics`` when the gateway serves it.

It lives in ``tests/secrets_scan`` so that it runs after the other suites (pytest collects directories in order);
not ``tests/secrets``, which would shadow the standard library's ``secrets``.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import pgcluster
from support.keyed import Admin
from support.pgcluster import PgCluster, pg_cluster
from support.servers import FakeProvider, Gateway, fake_provider, gateway
from support.throwaway import spare_port
from support.traffic import one

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PROVIDER_KEY = f"sk-provider-{secrets.token_hex(20)}"
MASTER_KEY = f"sk-master-{secrets.token_hex(20)}"
READY = 90.0  # seconds a gateway may take to start on a busy machine (litellm deployments load litellm)


@dataclass
class Seen:
    """Everything a client got back, to be scanned with the rest."""

    bodies: list[bytes] = field(default_factory=list)

    def add(self, content: bytes | str) -> None:
        self.bodies.append(content.encode() if isinstance(content, str) else content)


def config(upstream: FakeProvider, database_url: str, spill: Path, *, litellm: bool = True) -> dict[str, Any]:
    """Every deployment holds the provider key; ``litellm`` adds one reached through litellm (slower to start)."""
    def model(name: str, upstream_model: str, base: str | None = None) -> dict[str, Any]:
        return {"model_name": name, "litellm_params": {"model": upstream_model, "api_base": base or upstream.v1,
                                                       "api_key": PROVIDER_KEY}}

    return {
        "model_list": [
            model("gpt-4o-mini", "openai/gpt-4o-mini"),
            model("embed", "openai/text-embedding-3-small"),
            model("backup", "openai/backup-model"),
            model("broken", "openai/fail-503"),
            model("refused", "openai/fail-400"),
            *([model("claude", "anthropic/claude-3-5-sonnet-20241022", upstream.url)] if litellm else []),
        ],
        "router_settings": {"num_retries": 1, "fallbacks": [{"broken": ["backup"]}]},
        "general_settings": {"master_key": MASTER_KEY, "database_url": database_url},
        "gateway": {"retry_backoff_base": 0.01, "retry_backoff_max": 0.05, "log_spill_path": str(spill),
                    "log_flush_interval": 0.1},
    }


def _chat(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4, **extra}


async def traffic(server: Gateway, upstream: FakeProvider, keys: list[str], seen: Seen, *, probes: bool = True) -> None:
    """Answers, streams, errors of every kind, upstream faults, with each key, through the real gateway.

    ``probes`` adds bad JSON, listings and a wrong key: left out during a database outage, where a key the
    gateway has not cached needs the database (a wait that is not what this test is about).
    """
    requests: list[tuple[str, dict[str, Any]]] = [
        ("/v1/chat/completions", _chat("gpt-4o-mini")),
        ("/v1/chat/completions", _chat("gpt-4o-mini", stream=True)),
        ("/v1/chat/completions", _chat("broken")),
        ("/v1/chat/completions", _chat("refused")),
        ("/v1/chat/completions", _chat("no-such-model")),
        ("/v1/chat/completions", _chat("gpt-4o-mini", max_tokens="many")),
        ("/v1/chat/completions", _chat("claude")),
        ("/v1/chat/completions", _chat("claude", stream=True)),
        ("/v1/completions", {"model": "gpt-4o-mini", "prompt": "hi", "max_tokens": 3}),
        ("/v1/embeddings", {"model": "embed", "input": "hello"}),
        ("/v1/messages", {"model": "claude", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}),
        ("/v1/messages", {"model": "gpt-4o-mini", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}),
    ]
    for key in keys:
        upstream.add_fault(model="gpt-4o-mini", count=2, kind="status", status=500)
        upstream.add_fault(model="backup-model", count=1, kind="cut")
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            for path, body in requests:
                headers = {"x-api-key": key} if path == "/v1/messages" else {"authorization": f"Bearer {key}"}
                outcome = await one(client, path, body, headers)
                seen.add(repr(outcome.body) + "".join(outcome.events) + (outcome.failure or ""))
            bearer = {"authorization": f"Bearer {key}"}
            for method, path, extra in () if not probes else (
                ("POST", "/v1/chat/completions", {"content": b"{not json", "headers": bearer}),
                ("GET", "/v1/models", {"headers": bearer}),
                ("GET", "/v1/usage", {"headers": bearer}),
                ("GET", "/v1/models", {"headers": {"authorization": f"Bearer {key}x"}}),
            ):
                try:
                    seen.add((await client.request(method, path, **extra)).content)  # type: ignore[arg-type]
                except httpx.HTTPError as exc:
                    seen.add(str(exc))


async def admin_views(server: Gateway, seen: Seen) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                 headers={"authorization": f"Bearer {MASTER_KEY}"}) as client:
        for path in ("/admin/keys", "/admin/teams", "/admin/costs", "/admin/openapi.json", "/health/ready",
                     "/metrics"):
            response = await client.get(path)
            seen.add(response.content)


def new_key(server: Gateway, **spec: Any) -> tuple[str, str]:
    """A new virtual key: its id and its secret (the one response that may carry it)."""
    response = Admin(server.url, MASTER_KEY).client.post("/admin/keys", json={"name": secrets.token_hex(4), **spec})
    assert response.status_code == 201, response.text
    return str(response.json()["id"]), str(response.json()["key"])


def revoke(server: Gateway, ref: str, key: str, seen: Seen) -> None:
    seen.add(Admin(server.url, MASTER_KEY).client.post(f"/admin/keys/{ref}/revoke").content)
    seen.add(httpx.get(server.v1 + "/models", headers={"authorization": f"Bearer {key}"}).content)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeProvider]:
    with fake_provider() as server:
        yield server


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    if not pgcluster.available():
        pytest.skip(f"no PostgreSQL binaries in {pgcluster.PG_BIN} for a private cluster")
    with pg_cluster(spare_port()) as server:
        yield server


def secrets_in(blob: bytes, names: dict[str, str]) -> list[str]:
    return [name for name, value in names.items() if value.encode() in blob]


def written_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` but the gateway configs (the operator's own file holds the provider key)."""
    configs = set(root.rglob("gateway-*.yaml"))
    return {str(path): path.read_bytes() for path in root.rglob("*") if path.is_file() and path not in configs}


def pg_dump(cluster: PgCluster, database_url: str) -> bytes:
    name = database_url.rsplit("/", 1)[1]
    command = [str(pgcluster.PG_BIN / "pg_dump"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", name]
    return subprocess.run(command, capture_output=True, check=True, timeout=60).stdout


async def test_no_key_appears_in_the_database_logs_spill_files_bodies_or_metrics(
    upstream: FakeProvider, cluster: PgCluster, tmp_path: Path
) -> None:
    seen = Seen()
    sqlite_dir, pg_dir = tmp_path / "sqlite", tmp_path / "pg"
    database_url = cluster.new_database()
    names = {"provider key": PROVIDER_KEY, "master key": MASTER_KEY}

    with gateway(config(upstream, f"sqlite:///{sqlite_dir / 'gateway.db'}", sqlite_dir / "spill.jsonl"),
                 sqlite_dir, ready_timeout=READY) as server:
        (_, first), (second_id, second) = new_key(server), new_key(server, models=["gpt-4o-mini"])
        names |= {"virtual key 1": first, "virtual key 2": second}
        await traffic(server, upstream, [first, second, MASTER_KEY], seen)
        revoke(server, second_id, second, seen)
        await admin_views(server, seen)
        await asyncio.sleep(0.5)  # the log writer's last batch

    pg_config = config(upstream, database_url, pg_dir / "spill.jsonl", litellm=False)
    with gateway(pg_config, pg_dir / "first", ready_timeout=READY) as server:
        pg_key = new_key(server)[1]
        names["virtual key pg"] = pg_key
        await traffic(server, upstream, [pg_key], seen)
        cluster.stop("fast")  # an outage: records go to the spill file, and the shutdown spills the rest
        await traffic(server, upstream, [pg_key, MASTER_KEY], seen, probes=False)
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=30)
    assert (pg_dir / "spill.jsonl").stat().st_size > 0, "the outage should have spilled records"
    spilled = (pg_dir / "spill.jsonl").read_bytes()
    cluster.start()
    with gateway(pg_config, pg_dir / "second", ready_timeout=READY) as server:
        await admin_views(server, seen)
        await asyncio.sleep(1.0)  # the replay

    places = written_files(tmp_path)  # the SQLite file, logs, spill and quarantine files
    places |= {"spill file (before replay)": spilled, "postgres dump": pg_dump(cluster, database_url)}
    places |= {f"response {i}": body for i, body in enumerate(seen.bodies)}
    leaks = {place: found for place, blob in places.items() if (found := secrets_in(blob, names))}
    assert not leaks, f"secrets in plain text: {leaks}"
