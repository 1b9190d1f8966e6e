"""LiteLLM's own proxy (``litellm --config``), the peer issue 15's "≥ 25x LiteLLM proxy" goal is stated against.

Used by ``features.py``; not a script of its own. Contract: ``ensure()`` makes a virtualenv of its own under the
git-ignored ``.bench/litellm-proxy`` on first use and installs ``litellm[proxy]`` from PyPI into it (the version of
litellm in the main venv when PyPI has its proxy extra, else the newest one pip can install), so that the proxy's
dependencies never touch the gateway's venv. It returns the CLI and the installed version, or None and why not.
``start()`` runs the proxy with the leanest sensible config (``write_config``): one model mapped to the fake
provider as an OpenAI-compatible ``api_base``, a master key (random per run: the proxy refuses to start without
one; with no database, checking it is a comparison), no database, no callbacks, no cache, the model price map
read from the package instead of fetched at start (``LITELLM_LOCAL_MODEL_COST_MAP``), logging at ERROR, one
worker; ready means the first 200 from ``/health/liveliness``. ``lua()`` registers the bench's wrk scripts with
that key as ``overhead.SCRIPTS["litellm-plain"]`` and ``["litellm-stream"]``.
"""

from __future__ import annotations

import http.client
import importlib.metadata
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import overhead  # the sibling script, found through the path set just above

VENV = overhead.ROOT / ".bench" / "litellm-proxy"
HEALTH = "/health/liveliness"
INSTALL_TIMEOUT_S = 900


def ensure() -> tuple[Path | None, str]:
    """The proxy's CLI and litellm's version in its venv, installing both on first use; or None and the reason."""
    binary = VENV / "bin" / "litellm"
    if not binary.exists():
        reason = install()
        if reason:
            return None, reason
    probe = subprocess.run([str(VENV / "bin" / "python"), "-c", "import importlib.metadata as m; "
                            "print(m.version('litellm'))"], capture_output=True, text=True, check=False)
    if probe.returncode != 0 or not binary.exists():
        return None, f"the virtualenv {VENV} has no working litellm (delete it to reinstall): {probe.stderr[-300:]}"
    return binary, probe.stdout.strip()


def install() -> str:
    """Create the venv and install the proxy; an empty string when it worked, else why it did not."""
    print(f"  installing litellm[proxy] into {VENV} (once; a few minutes)", file=sys.stderr, flush=True)
    made = subprocess.run([sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        return f"could not create {VENV}: {made.stderr.strip()[-300:]}"
    pip = [str(VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
    tried = []
    for spec in pinned_spec(), "litellm[proxy]":
        if spec is None:
            continue
        try:
            done = subprocess.run([*pip, spec], capture_output=True, text=True, check=False,
                                  timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return f"pip install {spec} took over {INSTALL_TIMEOUT_S} s"
        if done.returncode == 0:
            return ""
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
        tried.append(f"pip install '{spec}': {' '.join(errors)[-300:] or 'failed'}")
        print(f"  {tried[-1]}", file=sys.stderr, flush=True)
    return "; ".join(tried)


def pinned_spec() -> str | None:
    """``litellm[proxy]`` at the version of the main venv's litellm, when there is one."""
    try:
        return f"litellm[proxy]=={importlib.metadata.version('litellm')}"
    except importlib.metadata.PackageNotFoundError:
        return None


def write_config(workdir: Path, fake_url: str) -> tuple[Path, str]:
    """The config and its master key."""
    key = f"sk-{secrets.token_hex(24)}"
    params = {"model": f"openai/{overhead.MODEL}", "api_base": f"{fake_url}/v1", "api_key": "bench"}
    document: dict[str, Any] = {"model_list": [{"model_name": overhead.MODEL, "litellm_params": params}],
                                "general_settings": {"master_key": key}}
    path = workdir / "litellm-proxy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path, key


def lua(workdir: Path, key: str) -> None:
    """The bench's own wrk scripts, with the proxy's master key instead of ``bench``."""
    for mode in ("plain", "stream"):
        path = workdir / f"litellm-{mode}.lua"
        path.write_text(f'dofile("{overhead.SCRIPTS[mode]}")\nwrk.headers["Authorization"] = "Bearer {key}"\n')
        overhead.SCRIPTS[f"litellm-{mode}"] = path


def start(binary: Path, config: Path, core: int | None, log: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    """Spawn the proxy on a free port; returns it, its URL and the seconds from spawn to ready."""
    port = overhead.free_port()
    command = [str(binary), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
               "--num_workers", "1"]
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR",
           "PATH": f"{VENV / 'bin'}:{os.environ.get('PATH', '')}"}
    options = {"health": HEALTH, "env": env, "cwd": config.parent, "wait": 180.0}
    return overhead.start_server("the LiteLLM proxy", overhead.pinned(core, command), port, log, options)


def prime(url: str, key: str) -> None:
    """One plain and one streamed request: the proxy's first request imports and builds much (seconds), which a
    1 s warm-up would not cover. Raises RuntimeError when either is not a 200."""
    host, port = url.removeprefix("http://").split(":")
    for stream in (False, True):
        body = {"model": overhead.MODEL, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 16,
                **({"stream": True, "stream_options": {"include_usage": True}} if stream else {})}
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        try:
            connection.request("POST", "/v1/chat/completions", json.dumps(body),
                               {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
            response = connection.getresponse()
            answer = response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise RuntimeError(f"the LiteLLM proxy answered {response.status}: {answer[:300]!r}")
