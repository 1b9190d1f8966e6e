"""Fixtures for end-to-end eval tests: a gateway on its own SQLite file with the example prompts pushed, plus a
deliberately broken version of support-reply, and a stub judge whose verdict each test chooses.

The registry holds support-reply v1 (the file in ``prompts/``) and v2 (its user template drops
``{{ customer_name }}``); ``latest`` points back at v1. The other example prompts have v1 only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import yaml
from support.config import base_config
from support.evals import ROOT, EvalKit, StubJudge, broken_prompts, eval_model, push
from support.servers import FakeProvider, gateway


@pytest.fixture(scope="session")
def eval_kit(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EvalKit]:
    tmp = tmp_path_factory.mktemp("evals")
    judge = StubJudge()
    judge.start()
    config = base_config(fake, tmp)
    config["model_list"] = [
        *(eval_model(m, fake.v1) for m in ("gpt-4o-mini", "text-embedding-3-small", "flaky-eval", "down-eval")),
        eval_model("judge-stub", judge.url + "/v1"),
    ]
    config["router_settings"] = {"num_retries": 0, "allowed_fails": 100}  # 5xx reach the eval runner
    database_url = str(config["general_settings"]["database_url"])
    config_path = tmp / "gateway.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    push(ROOT / "prompts", config_path)
    push(broken_prompts(tmp), config_path)
    push(ROOT / "prompts", config_path)  # latest back on v1; v2 stays in the registry
    try:
        with gateway(config, tmp, env={"GATEWAY_GATEWAY__PROMPT_REFRESH_SECONDS": "0.2"}) as server:
            yield EvalKit(server, fake, judge, tmp, config_path, database_url)
    finally:
        judge.stop()
