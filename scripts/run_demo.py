"""`make run`: start the gateway on its embedded default.

Without OPENAI_API_KEY and ANTHROPIC_API_KEY it also starts the built-in fake provider on 127.0.0.1:$FAKE_PORT
(default 9100) and serves config/demo.yaml, pointed at that port; with either key it serves config/real.yaml,
keeping only the models whose key is set. $PORT (default 4000) is the gateway's port.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = [sys.executable, "-m", "gateway"]
DEMO_FAKE_BASE = "http://127.0.0.1:9100"  # where config/demo.yaml expects the fake provider


def real_config() -> Path:
    config = yaml.safe_load((ROOT / "config" / "real.yaml").read_text())
    keys = {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"}
    config["model_list"] = [
        entry
        for entry in config["model_list"]
        if str(entry["litellm_params"].get("api_key", "")).removeprefix("os.environ/") not in keys
        or os.environ.get(str(entry["litellm_params"]["api_key"]).removeprefix("os.environ/"))
    ]
    path = Path(tempfile.mkdtemp()) / "real.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def demo_config(fake_port: str) -> Path:
    """config/demo.yaml as it is, or a copy whose deployments call the fake provider on another port."""
    demo = ROOT / "config" / "demo.yaml"
    moved = f"http://127.0.0.1:{fake_port}"
    if moved == DEMO_FAKE_BASE:
        return demo
    path = Path(tempfile.mkdtemp()) / "demo.yaml"
    path.write_text(demo.read_text().replace(DEMO_FAKE_BASE, moved))
    return path


def main() -> int:
    port = os.environ.get("PORT", "4000")
    fake = None
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("ANTHROPIC_API_KEY"):
        config = real_config()
        print(f"provider keys found: serving {config}", flush=True)
    else:
        fake_port = os.environ.get("FAKE_PORT", "9100")
        config = demo_config(fake_port)
        fake = subprocess.Popen([*GATEWAY, "fake-provider", "--port", fake_port])
        print(f"no provider key set: serving config/demo.yaml with the fake provider on :{fake_port}", flush=True)
    try:
        return subprocess.call([*GATEWAY, "serve", "--config", str(config), "--port", port])
    except KeyboardInterrupt:
        return 0
    finally:
        if fake is not None:
            fake.terminate()
            fake.wait()


if __name__ == "__main__":
    sys.exit(main())
