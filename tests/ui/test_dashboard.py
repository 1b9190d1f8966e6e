"""The dashboard in a real browser (Chromium, driven by Playwright) over a gateway with real traffic: the login
refuses a wrong key, every page loads (a screenshot of each goes to tests/ui/screenshots/), the figures on the
pages equal the admin API's for the same parameters, and logging out ends the session."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from support.config import MASTER_KEY
from support.dashboard import AWS_KEY, EMAIL, GUARDED_KEY, GUARDED_TEAM, KEY, SCREENSHOTS, TEAM, Dashboard, log_in

from gateway.http.ui.pages import PAGES


def shoot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def figure(page: Any, name: str) -> float:
    return float(page.get_attribute(f"[data-figure={name}]", "data-value"))


def test_a_wrong_key_is_refused(page: Any, dashboard: Dashboard) -> None:
    log_in(page, dashboard, key="sk-not-the-master-key")
    assert page.url.endswith("/ui/login")
    assert "not this gateway's master key" in page.inner_text("[role=alert]")
    assert not [c for c in page.context.cookies() if c["name"] == "gateway_ui"]
    page.goto(dashboard.url + "/costs")
    assert page.url.endswith("/ui/login")  # still not logged in
    shoot(page, "login")


def test_every_page_loads_after_login_and_logout_ends_the_session(page: Any, dashboard: Dashboard) -> None:
    log_in(page, dashboard)
    assert page.url.endswith("/ui/overview")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "gateway_ui"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
    assert MASTER_KEY not in cookie["value"]
    for entry in PAGES:
        page.goto(f"{dashboard.url}/{entry.slug}")
        assert page.locator("h1").first.inner_text()
        assert page.locator("[role=alert]").count() == 0, page.inner_text("main")
        shoot(page, entry.slug)
    assert page.locator("[data-chart] canvas").count() == 0  # the last page has no charts; the overview has them
    page.goto(dashboard.url + "/overview")
    assert page.locator("[data-chart] canvas").count() == 6  # uPlot drew every chart, offline
    page.click("form.logout button")
    assert page.url.endswith("/ui/login")
    page.goto(dashboard.url + "/overview")
    assert page.url.endswith("/ui/login")


def test_overview_figures_equal_the_admin_api(page: Any, dashboard: Dashboard) -> None:
    log_in(page, dashboard)
    for period in ("7d", "30d"):
        page.goto(f"{dashboard.url}/overview?start={period}")
        total = dashboard.api("/admin/costs", group_by="day", start=period)["total"]
        assert figure(page, "requests") == total["requests"] >= dashboard.sent
        assert figure(page, "cost_usd") == pytest.approx(total["cost_usd"], rel=1e-12)
        assert figure(page, "total_tokens") == total["total_tokens"]
        assert figure(page, "error_rate") == pytest.approx(total["error_rate"], abs=1e-6)
        assert figure(page, "cache_savings_usd") == pytest.approx(total["cache_savings_usd"])
    shoot(page, "overview-30d")


def test_cost_rows_equal_the_admin_api_with_names_not_ids(page: Any, dashboard: Dashboard) -> None:
    log_in(page, dashboard)
    page.goto(f"{dashboard.url}/costs?group_by=key&group_by=model&start=7d")
    api = dashboard.api("/admin/costs", group_by="key,model", start="7d")
    rows = page.locator("table[data-table=costs] tbody tr")
    assert rows.count() == len(api["data"])
    for index, expected in enumerate(api["data"]):
        row = rows.nth(index)
        assert float(row.get_attribute("data-cost")) == pytest.approx(expected["cost_usd"], rel=1e-12)
        assert int(row.get_attribute("data-requests")) == expected["requests"]
        assert row.locator("[data-dimension=key]").get_attribute("data-id") == (expected["key"] or "")
    shown = page.inner_text("table[data-table=costs]")
    assert KEY in shown and dashboard.key_id not in shown  # the key's name, never its id
    total = page.locator("table[data-table=costs] tfoot tr")
    assert float(total.get_attribute("data-total-cost")) == pytest.approx(api["total"]["cost_usd"], rel=1e-12)
    with page.expect_download() as download:
        page.click("a[download]")
    csv = download.value.path().read_text()
    assert csv.splitlines()[0].startswith("key,key_name,model,requests")  # names beside ids (issue 14)
    assert len(csv.splitlines()) == len(api["data"]) + 1
    for key in (dashboard.key_id, KEY):  # a filter by id or by name
        page.goto(f"{dashboard.url}/costs?group_by=team&start=7d&key={key}")
        assert TEAM in page.inner_text("table[data-table=costs]")
        by_team = dashboard.api("/admin/costs", group_by="team", start="7d", key=dashboard.key_id)["total"]
        assert int(page.get_attribute("tfoot tr", "data-total-requests")) == by_team["requests"]
    shoot(page, "costs-by-team")


def test_requests_list_and_detail(page: Any, dashboard: Dashboard) -> None:
    log_in(page, dashboard)
    page.goto(f"{dashboard.url}/requests?model=always-503")
    rows = page.locator("table[data-table=requests] tbody tr")
    assert rows.count() == 1
    rows.first.locator("a").click()
    assert page.inner_text("[data-field=attempts]") == "4"  # three failed attempts, then the fallback
    assert page.inner_text("[data-field=status]").startswith("200")
    assert MASTER_KEY not in page.content()
    shoot(page, "request-detail")
    page.goto(f"{dashboard.url}/requests?errors=1")
    statuses = page.locator("[data-status]").all_inner_texts()
    assert statuses and all(int(status) >= 400 for status in statuses)


def test_prompt_page_shows_versions_canary_diff_history_and_eval_runs(page: Any, dashboard: Dashboard) -> None:
    log_in(page, dashboard)
    page.goto(f"{dashboard.url}/prompts")
    page.click("text=support-reply")
    labels = page.inner_text("table[data-table=labels]")
    assert "production" in labels and "v2 at 50" in labels
    assert page.locator("[data-diff='1-2'] .del").count() and page.locator("[data-diff='1-2'] .add").count()
    variants = dashboard.api("/admin/prompts/support-reply/compare")["variants"]
    assert page.locator("table[data-table=variants] tbody tr").count() == len(variants) >= 1
    assert "release" in page.inner_text("table[data-table=history]")
    shoot(page, "prompt-detail")
    page.goto(f"{dashboard.url}/prompts/extract-json")
    runs = page.locator("table[data-table=runs] tbody tr a")
    assert runs.count() == 2
    runs.first.click()  # the newest run: compared with the one before it
    assert page.locator("table[data-table=cases] tbody tr").count() > 0
    assert "Newly failing: 0" in page.inner_text("[data-list=comparison]")
    shoot(page, "eval-run")


def test_keys_page_spend_equals_the_report_for_the_budget_period(page: Any, dashboard: Dashboard) -> None:
    log_in(page, dashboard)
    page.goto(f"{dashboard.url}/keys")
    month = datetime.now(UTC).strftime("%Y-%m-01")
    by_key = dashboard.api("/admin/costs", group_by="key", start=month)["data"]
    spent = next(row["cost_usd"] for row in by_key if row["key"] == dashboard.key_id)
    row = page.locator(f"table[data-table=keys] tr[data-name={KEY}]")
    assert float(row.get_attribute("data-spent")) == pytest.approx(spent, rel=1e-12) and spent > 0
    assert "$1.0000" in row.inner_text()  # its budget
    team = page.locator(f"table[data-table=teams] tr[data-name={TEAM}]")
    assert float(team.get_attribute("data-spent")) == pytest.approx(spent, rel=1e-12)


def test_cache_page_figures_equal_the_admin_api(page: Any, dashboard: Dashboard) -> None:
    log_in(page, dashboard)
    page.goto(f"{dashboard.url}/cache?start=7d")
    total = dashboard.api("/admin/costs", group_by="day", start="7d")["total"]
    assert figure(page, "requests") == total["requests"]
    assert figure(page, "hit_rate") == pytest.approx(total["cached"] / total["requests"])
    assert figure(page, "exact") + figure(page, "semantic") == total["cached"] >= 2
    assert figure(page, "semantic") == dashboard.semantic_hits
    assert figure(page, "cache_savings_usd") == pytest.approx(total["cache_savings_usd"]) and total["cache_savings_usd"]
    for dimension in ("model", "key", "team"):
        report = dashboard.api("/admin/costs", group_by=dimension, start="7d")
        api = {row[dimension] or "": row for row in report["data"]}
        rows = page.locator(f"table[data-table=cache-{dimension}] tbody tr")
        assert rows.count() == len(api)
        for index in range(rows.count()):
            row = rows.nth(index)
            expected = api[row.get_attribute("data-id") or ""]
            assert int(row.get_attribute("data-requests")) == expected["requests"]
            assert int(row.get_attribute("data-cached")) == expected["cached"]
            assert float(row.get_attribute("data-saved")) == pytest.approx(expected["cache_savings_usd"], rel=1e-12)
    shown = page.inner_text("main")
    assert GUARDED_KEY in shown and GUARDED_TEAM in shown and dashboard.guarded_key_id not in shown
    shoot(page, "cache")


def test_guardrails_page_figures_equal_the_admin_api(page: Any, dashboard: Dashboard) -> None:
    log_in(page, dashboard)
    page.goto(f"{dashboard.url}/guardrails?start=7d")
    by_action = dashboard.api("/admin/guardrails/report", since="7d", group_by="action")["data"]
    counts = {row["action"]: row["count"] for row in by_action}
    assert counts.get("block") and counts.get("mask")
    for action in ("block", "redact", "mask"):
        assert figure(page, action) == counts.get(action, 0)
    assert figure(page, "findings") == sum(counts.values())
    for table, group_by in (("guardrail", "guardrail,policy,action"), ("key", "key,team,action")):
        api = dashboard.api("/admin/guardrails/report", since="7d", group_by=group_by)["data"]
        rows = page.locator(f"table[data-table=guardrails-{table}] tbody tr")
        assert rows.count() == len(api)
        dimensions = group_by.split(",")
        shown = {
            (
                *(rows.nth(i).locator(f"[data-dimension={d}]").get_attribute("data-id") for d in dimensions),
                int(rows.nth(i).get_attribute("data-count")),
            )
            for i in range(rows.count())
        }
        assert shown == {(*(row[d] for d in dimensions), row["count"]) for row in api}
    text = page.inner_text("main")
    assert "secret-block" in text and "email-mask" in text and GUARDED_KEY in text
    assert AWS_KEY not in page.content() and EMAIL not in page.content()  # never a matched value
    shoot(page, "guardrails")
