"""Keys and teams through the admin API, and what a key may then do through the OpenAI SDK."""

from __future__ import annotations

import time

import httpx
import openai
import psycopg
import pytest
from support.keyed import MASTER_KEY, ONE_WORD, Admin, wait_until
from support.keys import Pair, chat


def test_created_key_works_and_only_its_hash_is_stored(pair: Pair) -> None:
    response = pair.admin.client.post("/admin/keys", json={"name": "stored-hashed", "rpm": 100})
    assert response.status_code == 201
    created = response.json()
    key = created["key"]
    assert key.startswith("sk-gw-") and created["key_prefix"] == key[:10] + "…"
    assert chat(pair.a.v1, key) == 200
    assert chat(pair.b.v1, key) == 200  # the other replica learned of it too

    with psycopg.connect(pair.database_url) as db:
        row = db.execute("SELECT * FROM virtual_keys WHERE id = %s", (created["id"],)).fetchone()
    assert row is not None
    assert not any(key in str(value) for value in row)
    assert key[10:] not in " ".join(str(value) for value in row)


def test_list_and_get_show_no_secret(pair: Pair) -> None:
    key = pair.admin.create_key(name="listed", models=["gpt-4o-mini"], budget_usd=5, budget_period="daily")
    listed = pair.admin.client.get("/admin/keys")
    assert listed.status_code == 200 and key not in listed.text
    entry = next(k for k in listed.json()["data"] if k["name"] == "listed")
    assert entry["status"] == "active" and entry["budget_usd"] == 5 and entry["budget_period"] == "daily"
    one = pair.admin.client.get("/admin/keys/listed")
    assert one.status_code == 200 and one.json()["id"] == entry["id"] and key not in one.text


def test_revoked_key_is_refused_within_a_second_on_another_replica(pair: Pair) -> None:
    key = pair.admin.create_key(name="revoked-across")
    assert chat(pair.b.v1, key) == 200
    revoked = Admin(pair.a.url).client.post("/admin/keys/revoked-across/revoke")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    started = time.monotonic()
    assert chat(pair.a.v1, key) == 401  # at once on the replica that revoked it
    assert wait_until(lambda: chat(pair.b.v1, key) == 401, timeout=1.0) is not None, "B still accepts the key"
    assert time.monotonic() - started < 1.0


def test_revoked_key_error_says_so_without_echoing_the_key(pair: Pair) -> None:
    key = pair.admin.create_key(name="revoked-message")
    pair.admin.client.delete("/admin/keys/revoked-message").raise_for_status()
    response = httpx.post(pair.a.v1 + "/chat/completions", json={"model": "gpt-4o-mini", "messages": ONE_WORD},
                          headers={"authorization": f"Bearer {key}"})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "authentication_error" and error["code"] == "key_revoked"
    assert "revoked" in error["message"] and key not in response.text and key[6:12] not in response.text


def test_rotated_key_old_secret_stops_working_new_one_works(pair: Pair) -> None:
    old = pair.admin.create_key(name="rotated")
    response = pair.admin.client.post("/admin/keys/rotated/rotate")
    assert response.status_code == 200
    new = response.json()["key"]
    assert new != old and new.startswith("sk-gw-")
    assert chat(pair.a.v1, old) == 401 and chat(pair.a.v1, new) == 200
    assert wait_until(lambda: chat(pair.b.v1, old) == 401 and chat(pair.b.v1, new) == 200, timeout=1.0) is not None


def test_unknown_key_is_refused_and_not_echoed(pair: Pair) -> None:
    fake_key = "sk-gw-" + "x" * 43
    response = httpx.get(pair.a.v1 + "/models", headers={"authorization": f"Bearer {fake_key}"})
    assert response.status_code == 401 and fake_key not in response.text
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_expired_key_is_refused(pair: Pair) -> None:
    """The moment of expiry itself is checked with a clock in tests/test_auth.py; here, no waiting for it."""
    key = pair.admin.create_key(name="long-expired", expires="2020-01-01T00:00:00")
    with openai.OpenAI(base_url=pair.a.v1, api_key=key, max_retries=0) as client, pytest.raises(
        openai.AuthenticationError, match="expired"
    ):
        client.models.list()


def test_key_limited_to_some_models_sees_and_uses_only_those(pair: Pair) -> None:
    key = pair.admin.create_key(models=["gpt-4o-mini", "priced"])
    with openai.OpenAI(base_url=pair.a.v1, api_key=key, max_retries=0) as client:
        assert sorted(m.id for m in client.models.list()) == ["gpt-4o-mini", "priced"]
        with pytest.raises(openai.PermissionDeniedError, match="may not use the model `backup`"):
            client.chat.completions.create(model="backup", messages=ONE_WORD)  # type: ignore[arg-type]
        with pytest.raises(openai.PermissionDeniedError):
            client.models.retrieve("backup")
    assert chat(pair.a.v1, key, "gpt-4o-mini") == 200


def test_team_model_list_applies_to_its_keys(pair: Pair) -> None:
    team = pair.admin.create_team(models=["backup"])
    key = pair.admin.create_key(team=team["name"])
    assert chat(pair.a.v1, key, "backup") == 200
    assert chat(pair.a.v1, key, "gpt-4o-mini") == 403


def test_master_key_still_works_and_virtual_keys_cannot_administer(pair: Pair) -> None:
    assert chat(pair.a.v1, MASTER_KEY) == 200
    key = pair.admin.create_key()
    response = httpx.get(pair.a.url + "/admin/keys", headers={"authorization": f"Bearer {key}"})
    assert response.status_code == 403


def test_teams_create_update_and_errors(pair: Pair) -> None:
    admin = pair.admin.client
    created = admin.post("/admin/teams", json={"name": "research", "budget_usd": 20, "rpm": 50})
    assert created.status_code == 201
    assert admin.post("/admin/teams", json={"name": "research"}).status_code == 409
    updated = admin.patch("/admin/teams/research", json={"rpm": None, "budget_period": "weekly"})
    assert updated.status_code == 200
    assert updated.json()["rpm"] is None and updated.json()["budget_period"] == "weekly"
    assert updated.json()["budget_usd"] == 20
    assert any(t["name"] == "research" for t in admin.get("/admin/teams").json()["data"])
    assert admin.get("/admin/teams/research").json()["id"] == created.json()["id"]
    bad = admin.post("/admin/keys", json={"name": "bad", "budget_period": "yearly"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "budget_period"
    assert admin.post("/admin/keys", json={"name": "orphan", "team": "no-such-team"}).status_code == 404
    assert admin.post("/admin/keys/no-such-key/revoke").status_code == 404
