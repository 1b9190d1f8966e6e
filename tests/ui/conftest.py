"""A gateway with real traffic for the dashboard's tests: requests from a virtual key of a team (plain, streamed,
failed, retried to a fallback, through a released prompt with a canary), and two eval runs of a prompt.

The browser is Debian's Chromium (``apt-get install chromium``, done by ``.ci/run``); Playwright never downloads
one. Without it the browser tests are skipped, saying so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from support.config import base_config
from support.dashboard import (
    CHROMIUM,
    GUARDED_KEY,
    GUARDED_TEAM,
    KEY,
    SCREENSHOTS,
    TEAM,
    Dashboard,
    guarded_sections,
    release,
    run_evals,
    send_guarded_traffic,
    send_traffic,
    wait_for_log,
)
from support.evals import ROOT, broken_prompts, push
from support.keyed import Admin
from support.servers import FakeProvider, gateway


@pytest.fixture(scope="session")
def dashboard(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    tmp = tmp_path_factory.mktemp("dashboard")
    # The fake deployments that fail (always-503 and its fallback) have no price; the budgeted key may still use them.
    config = base_config(fake, tmp, gateway={**guarded_sections(tmp), "budget_unpriced_models": "allow"})
    config_path = tmp / "gateway.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    push(ROOT / "prompts", config_path)
    push(broken_prompts(tmp), config_path)  # support-reply v2
    with gateway(config, tmp, env={"GATEWAY_GATEWAY__PROMPT_REFRESH_SECONDS": "0.2"}) as server:
        admin = Admin(server.url)
        team = admin.create_team(name=TEAM, budget_usd=5.0)
        created = admin.client.post("/admin/keys", json={"name": KEY, "team": team["id"], "budget_usd": 1.0})
        assert created.status_code == 201, created.text
        release(admin)
        sent = send_traffic(server, created.json()["key"])
        guarded = admin.client.post(
            "/admin/keys", json={"name": GUARDED_KEY, "team": admin.create_team(name=GUARDED_TEAM)["id"]}
        )
        assert guarded.status_code == 201, guarded.text
        semantic = send_guarded_traffic(server, guarded.json()["key"])
        run_evals(server, tmp, config["general_settings"]["database_url"])
        board = Dashboard(server, admin, created.json()["id"], team["id"], sent, guarded.json()["id"], semantic)
        wait_for_log(board)
        yield board


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Per module: Playwright's sync API runs an event loop of its own until it stops, which the async tests of
    other modules (pytest-asyncio's loop) must not find running."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed (apt-get install -y chromium): no browser tests")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only the browser tests load Playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    context.close()
