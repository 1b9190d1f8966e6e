"""Scaling: one gateway on 1 and 2 worker processes, then three replicas behind nginx sharing Redis and PostgreSQL.

Run ``.venv/bin/python bench/scale.py`` (``--help``). A script, not a test: it prints Markdown and exits 0 after
printing, 2 when wrk, nginx or a server is missing or does not start. It needs the machine's PostgreSQL and Redis
(``.ci/services.sh``) and nginx (``apt-get install nginx``; ``deploy/nginx.conf`` is the production form of the
configuration this script writes for its three local replicas).

Contract:

* **Workers.** ``gateway serve --workers N`` for N = 1 and 2 (the bench config of ``overhead.py``: SQLite, one
  fake-provider model), wrk at ``--concurrency`` on the same machine: req/s and errors. Nothing is pinned, since
  two workers need both cores; wrk shares them.
* **Replicas.** Three ``gateway serve`` processes on one throwaway PostgreSQL database and one throwaway Redis
  prefix, behind nginx (round robin). wrk drives a virtual key through nginx for ``--seconds``; while it runs, the
  script checks what must hold across replicas and times how long each change takes to reach all of them:
  an RPM limit (requests admitted out of twice the limit, round robin), a budget (parallel requests against a
  budget worth ten calls), a key revocation (from one replica's admin API until every replica refuses it), a
  prompt release (until every replica serves the new version), and the response cache when the config has one
  (a request answered on one replica, then asked of the others).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import overhead  # bench/overhead.py: the same processes, wrk scripts and measures
import psycopg
import redis
import yaml

MASTER = "sk-bench-master-key"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
MODEL = overhead.MODEL
NGINX_CONF = """worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    upstream gateway {{
{servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://gateway;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 600s;
        }}
    }}
}}
"""


def timed_until(check: Callable[[], bool], limit: float = 30.0) -> float | None:
    """Seconds until ``check()`` holds (polled every 10 ms), or None after ``limit``."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if check():
            return time.perf_counter() - started
        time.sleep(0.01)
    return None


def chat(client: httpx.Client, url: str, key: str, **extra: Any) -> httpx.Response:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello to the benchmark."}], **extra}
    return client.post(f"{url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"})


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    name = f"gw_scale_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def redis_prefix() -> Iterator[str]:
    prefix = f"gwbench:scale:{secrets.token_hex(4)}:"
    try:
        yield prefix
    finally:
        with redis.Redis.from_url(REDIS_URL) as client:
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            if keys:
                client.delete(*keys)


def replica_config(workdir: Path, fake_url: str, database_url: str, prefix: str, extra: dict[str, Any]) -> Path:
    """The bench model, priced (so that a budget means something), with the master key, Redis and PostgreSQL."""
    params = {"model": f"openai/{MODEL}", "api_base": f"{fake_url}/v1", "api_key": "bench",
              "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}
    config: dict[str, Any] = {
        "model_list": [{"model_name": MODEL, "litellm_params": params}],
        "router_settings": {"num_retries": 0},
        "general_settings": {"master_key": MASTER, "database_url": database_url},
        "gateway": {"redis_url": REDIS_URL, "redis_key_prefix": prefix, "key_refresh_seconds": 60,
                    "prompt_refresh_seconds": 600},
    }
    for section, values in extra.items():
        config[section] = {**config.get(section, {}), **values}
    path = workdir / "replica.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@contextlib.contextmanager
def nginx(workdir: Path, backends: list[str]) -> Iterator[str]:
    port = overhead.free_port()
    servers = "\n".join(f"        server {url.removeprefix('http://')};" for url in backends)
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=workdir, servers=servers, port=port))
    process = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(workdir), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        if timed_until(lambda: overhead.health_ok(port), 10) is None:
            raise RuntimeError(f"nginx did not start: {(workdir / 'nginx-error.log').read_text(errors='replace')}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def workers_cells(args: argparse.Namespace, workdir: Path) -> list[str]:
    rows = ["| workers | req/s | p50 ms | p99 ms | errors |", "| ---: | ---: | ---: | ---: | ---: |"]
    with overhead.fake_provider(None, workdir / "fake-w.log") as (_fake, fake_url):
        config = overhead.write_config(workdir, fake_url)
        for count in (1, 2):
            port = overhead.free_port()
            command = [str(overhead.GATEWAY_BIN), "serve", "--config", str(config), "--port", str(port),
                       "--workers", str(count), "--log-level", "warning"]
            with (workdir / f"workers-{count}.log").open("ab") as out:
                process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
            try:
                if timed_until(lambda port=port: overhead.health_ok(port), 60) is None:  # type: ignore[misc]
                    raise RuntimeError(f"gateway --workers {count} did not start")
                url = f"http://127.0.0.1:{port}"
                overhead.wrk(url, "plain", args.concurrency, 3, None)
                figures = overhead.wrk(url, "plain", args.concurrency, args.cell, None)
                rps = figures["requests"] / (figures["duration_us"] / 1e6)
                rows.append(f"| {count} | {rps:,.0f} | {figures['p50_us'] / 1000:.2f} "
                            f"| {figures['p99_us'] / 1000:.2f} | {errors_of(figures)} |")
            finally:
                overhead.stop(process)
    return rows


def errors_of(figures: dict[str, Any]) -> int:
    keys = ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    return sum(int(figures.get(key, 0)) for key in keys)


class Replicas:
    """Three gateways and nginx in front of them, with an admin client."""

    def __init__(self, urls: list[str], front: str) -> None:
        self.urls, self.front = urls, front
        self.client = httpx.Client(timeout=30)
        self.admin = httpx.Client(base_url=urls[0], headers={"authorization": f"Bearer {MASTER}"}, timeout=30)

    def key(self, **spec: Any) -> tuple[str, str]:
        spec.setdefault("name", f"scale-{secrets.token_hex(4)}")
        response = self.admin.post("/admin/keys", json=spec)
        response.raise_for_status()
        return str(response.json()["key"]), str(spec["name"])

    def everywhere(self, key: str, status: int, **extra: Any) -> bool:
        return all(chat(self.client, url, key, **extra).status_code == status for url in self.urls)


def check_rpm(replicas: Replicas, limit: int = 30) -> str:
    """A bucket refills continuously (``limit`` / 60 requests a second), so the expected count grows with time."""
    key, _ = replicas.key(rpm=limit)
    started = time.perf_counter()
    admitted = sum(chat(replicas.client, replicas.front, key).status_code == 200 for _ in range(2 * limit))
    refilled = int((time.perf_counter() - started) * limit / 60)
    return (f"| RPM limit {limit}, {2 * limit} requests round robin | {admitted} admitted "
            f"| at most {limit} + {refilled} refilled meanwhile |")


def check_budget(replicas: Replicas, calls: int = 10) -> str:
    probe = chat(replicas.client, replicas.front, MASTER)
    cost = float(probe.headers.get("x-gateway-cost-usd", "0") or 0)
    if cost <= 0:
        return "| budget | the bench model reported no cost | - |"
    key, _name = replicas.key(budget_usd=calls * cost)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda _: chat(httpx.Client(timeout=30), replicas.front, key).status_code,
                                 range(3 * calls)))
    admitted = statuses.count(200)
    return (f"| budget worth {calls} calls, {3 * calls} parallel requests | {admitted} admitted "
            f"({admitted * cost / (calls * cost):.2f}x the budget) | at most {calls} + one per replica in flight |")


def check_revocation(replicas: Replicas) -> str:
    key, name = replicas.key()
    if timed_until(lambda: replicas.everywhere(key, 200)) is None:
        return "| key revocation | the new key never reached every replica | - |"
    started = time.perf_counter()
    replicas.admin.post(f"/admin/keys/{name}/revoke").raise_for_status()
    reached = timed_until(lambda: replicas.everywhere(key, 401))
    total = "never" if reached is None else f"{(time.perf_counter() - started) * 1000:.0f} ms"
    return f"| key revoked on replica 1 | refused by all 3 after {total} | through the bus (refresh set to 60 s) |"


def check_prompt(replicas: Replicas) -> str:
    name = f"scale-{secrets.token_hex(3)}"

    def push(words: str) -> None:
        spec = {"name": name, "model": MODEL, "messages": [{"role": "system", "content": f"Be {words}."}]}
        replicas.admin.post("/admin/prompts", json={"prompts": [spec]}).raise_for_status()

    def served(version: int) -> bool:
        for url in replicas.urls:
            response = chat(replicas.client, url, MASTER, prompt_id=name)
            if response.headers.get("x-gateway-prompt-version") != f"{name}@{version}":
                return False
        return True

    push("first")
    replicas.admin.post(f"/admin/prompts/{name}/release", json={"version": 1}).raise_for_status()
    timed_until(lambda: served(1))
    push("second")
    started = time.perf_counter()
    replicas.admin.post(f"/admin/prompts/{name}/release", json={"version": 2}).raise_for_status()
    reached = timed_until(lambda: served(2))
    total = "never" if reached is None else f"{(time.perf_counter() - started) * 1000:.0f} ms"
    return f"| prompt release on replica 1 | version 2 served by all 3 after {total} | through the bus |"


def check_cache(replicas: Replicas) -> str:
    question = f"What is the capital of France? ({secrets.token_hex(3)})"
    body = {"messages": [{"role": "user", "content": question}]}
    first = chat(replicas.client, replicas.urls[0], MASTER, **body)
    if "x-gateway-cache" not in first.headers:
        return "| response cache | not in this build or config | - |"
    time.sleep(0.2)  # the store is written in the background
    seen = [chat(replicas.client, url, MASTER, **body).headers.get("x-gateway-cache") for url in replicas.urls[1:]]
    return f"| answer cached on replica 1 | replicas 2 and 3 answered: {', '.join(map(str, seen))} | hit, hit |"


def replicas_cells(args: argparse.Namespace, workdir: Path) -> list[str]:
    extra = yaml.safe_load(Path(args.config_extra).read_text()) if args.config_extra else {}
    with (overhead.fake_provider(None, workdir / "fake-r.log") as (_fake, fake_url), pg_database() as database,
          redis_prefix() as prefix):
        config = replica_config(workdir, fake_url, database, prefix, extra)
        with contextlib.ExitStack() as stack:
            urls = []
            for index in range(3):
                process, url, _ = overhead.start_gateway(config, None, workdir / f"replica-{index}.log")
                stack.callback(overhead.stop, process)
                urls.append(url)
            front = stack.enter_context(nginx(workdir, urls))
            replicas = Replicas(urls, front)
            load_key, _ = replicas.key()
            return run_under_load(args, replicas, front, load_key)


def run_under_load(args: argparse.Namespace, replicas: Replicas, front: str, load_key: str) -> list[str]:
    result: dict[str, Any] = {}
    lua = Path(args.workdir) / "chat-keyed.lua"  # the bench script, with the virtual key instead of "bench"
    lua.write_text(overhead.SCRIPTS["plain"].read_text().replace("Bearer bench", f"Bearer {load_key}"))
    command = ["wrk", "-t1", f"-c{args.concurrency}", f"-d{args.seconds}s", "--timeout", "10s", "-s", str(lua),
               f"{front}/v1/chat/completions"]

    def load() -> None:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        result.update(next((json.loads(line[6:]) for line in done.stdout.splitlines()
                            if line.startswith("BENCH ")), {}))

    runner = threading.Thread(target=load)
    runner.start()
    time.sleep(2)
    checks = [check_rpm(replicas), check_budget(replicas), check_revocation(replicas), check_prompt(replicas),
              check_cache(replicas)]
    runner.join()
    rps = result.get("requests", 0) / max(result.get("duration_us", 1) / 1e6, 1e-9)
    return [
        f"Load through nginx: {rps:,.0f} req/s for {args.seconds} s at c={args.concurrency}, "
        f"{errors_of(result)} errors, p99 {result.get('p99_us', 0) / 1000:.1f} ms (wrk, nginx, 3 replicas, "
        "PostgreSQL, Redis and the fake provider on the same machine).",
        "",
        "| what must hold across replicas (under that load) | measured | expected |",
        "| --- | --- | --- |",
        *checks,
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=120, help="load through nginx (default 2 minutes)")
    parser.add_argument("--cell", type=int, default=10, help="seconds per workers cell")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--config-extra", help="YAML merged into the replicas' config (e.g. a cache section)")
    parser.add_argument("--skip-workers", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            print(f"scale: {tool} is not installed (apt-get install {tool})", file=sys.stderr)
            return 2
    about = overhead.machine(None, None)
    lines = [f"Machine: {about['cpu']}, {about['cores']} cores, Python {about['python']}, commit {about['commit']}, "
             "no core pinning (wrk on the same machine).", ""]
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        args.workdir = tmp
        try:
            if not args.skip_workers:
                lines += [*workers_cells(args, Path(tmp)), ""]
            lines += replicas_cells(args, Path(tmp))
        except RuntimeError as exc:
            print(f"scale: {exc}", file=sys.stderr)
            return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
