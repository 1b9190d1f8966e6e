"""Who shares entries, and what a request may say: team scope by default, no-store, no-cache, the force-refresh
header, max-age and per-request TTL, a cache that a request cannot make looser than its policy."""

from __future__ import annotations

import time

import httpx
import openai
import pytest
from support.caching import MODEL, ask, entries, wait_filed
from support.config import MASTER_KEY
from support.keyed import Admin
from support.servers import FakeProvider, Gateway


def keyed(server: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0)


def test_keys_of_different_teams_never_share_an_entry_and_keys_of_one_team_do(
    cached: Gateway, fake: FakeProvider
) -> None:
    admin = Admin(cached.url)
    red, blue, green = (admin.create_team()["id"] for _ in range(3))
    red_a, red_b = keyed(cached, admin.create_key(team=red)), keyed(cached, admin.create_key(team=red))
    blue_a, green_a = keyed(cached, admin.create_key(team=blue)), keyed(cached, admin.create_key(team=green))
    question = "What were the main causes of the French Revolution?"
    before = entries(cached)
    ask(red_a, question)
    wait_filed(cached, before + 1)
    assert ask(red_b, question)[1]["x-gateway-cache"] == "hit"
    assert ask(blue_a, question)[1]["x-gateway-cache"] == "miss"
    assert ask(green_a, "What were the main reasons for the French Revolution?")[1]["x-gateway-cache"] == "miss"
    assert fake.count(MODEL) == 3


def test_no_store_keeps_nothing_and_no_cache_and_the_refresh_header_skip_the_lookup(
    cached: Gateway, sdk: openai.OpenAI, fake: FakeProvider
) -> None:
    question = "Summarise the plot of Hamlet in one sentence"
    _, headers = ask(sdk, question, extra_body={"cache": {"no-store": True}})
    assert headers["x-gateway-cache"] == "miss"
    time.sleep(0.5)
    before = entries(cached)
    _, headers = ask(sdk, question, extra_headers={"Cache-Control": "no-store"})
    assert headers["x-gateway-cache"] == "miss"
    time.sleep(0.5)
    assert entries(cached) == before, "no-store answers are not filed"
    ask(sdk, question)
    wait_filed(cached, before + 1)
    assert ask(sdk, question)[1]["x-gateway-cache"] == "hit"
    assert ask(sdk, question, extra_body={"cache": {"no-cache": True}})[1]["x-gateway-cache"] == "refresh"
    assert ask(sdk, question, extra_headers={"Cache-Control": "no-cache"})[1]["x-gateway-cache"] == "refresh"
    assert ask(sdk, question, extra_headers={"x-gateway-cache-refresh": "true"})[1]["x-gateway-cache"] == "refresh"
    assert fake.count(MODEL) == 6
    assert "cache" not in fake.stats()["last_request"], "the cache controls never reach the upstream"


def test_ttl_expiry_and_max_age(cached: Gateway, sdk: openai.OpenAI, fake: FakeProvider) -> None:
    question = "Give me one fun fact about octopuses"
    before = entries(cached)
    ask(sdk, question, extra_body={"cache": {"ttl": 1}})
    wait_filed(cached, before + 1)
    assert ask(sdk, question)[1]["x-gateway-cache"] == "hit"
    time.sleep(1.5)
    assert ask(sdk, question)[1]["x-gateway-cache"] == "miss"  # expired (and filed again, for an hour)
    time.sleep(1.2)
    assert ask(sdk, question, extra_headers={"Cache-Control": "max-age=1"})[1]["x-gateway-cache"] == "miss"
    assert ask(sdk, question, extra_body={"cache": {"s-maxage": 60}})[1]["x-gateway-cache"] == "hit"
    assert fake.count(MODEL) == 3


def test_bad_cache_controls_are_refused_in_openais_error_shape(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        ask(sdk, "hello", extra_body={"cache": {"ttl": "soon"}})
    assert caught.value.body["param"] == "cache.ttl"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        ask(sdk, "hello", extra_body={"cache": {"forever": True}})


def test_admin_delete_clears_by_namespace_and_all(cached: Gateway, sdk: openai.OpenAI, fake: FakeProvider) -> None:
    admin = httpx.Client(base_url=cached.url, headers={"authorization": f"Bearer {MASTER_KEY}"})
    before = entries(cached)
    ask(sdk, "Explain photosynthesis briefly", extra_body={"cache": {"namespace": "biology"}})
    ask(sdk, "Explain plate tectonics briefly", extra_body={"cache": {"namespace": "geology"}})
    wait_filed(cached, before + 2)
    assert admin.delete("/admin/cache", params={"namespace": "biology"}).status_code == 200
    biology = ask(sdk, "Explain photosynthesis briefly", extra_body={"cache": {"namespace": "biology"}})
    geology = ask(sdk, "Explain plate tectonics briefly", extra_body={"cache": {"namespace": "geology"}})
    assert (biology[1]["x-gateway-cache"], geology[1]["x-gateway-cache"]) == ("miss", "hit")
    assert admin.delete("/admin/cache").json()["entries_after"] == 0
    assert admin.delete("/admin/cache", headers={"authorization": "Bearer sk-not-the-master"}).status_code == 401


def test_embeddings_are_cached_exactly_and_a_request_refusing_both_lookup_and_store_bypasses(
    cached: Gateway, sdk: openai.OpenAI, fake: FakeProvider
) -> None:
    before = entries(cached)
    first = sdk.embeddings.with_raw_response.create(model="text-embedding-3-small", input=["cache me"])
    assert first.headers["x-gateway-cache"] == "miss"
    deadline = time.monotonic() + 30
    while True:  # embeddings have no semantic entry: wait on the exact store's count
        again = sdk.embeddings.with_raw_response.create(model="text-embedding-3-small", input=["cache me"])
        if again.headers["x-gateway-cache"] == "hit":
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert again.parse().data[0].embedding == first.parse().data[0].embedding
    assert entries(cached) == before  # no semantic entry for embeddings
    both = {"no-cache": True, "no-store": True}
    assert ask(sdk, "Tell me a joke about cats", extra_body={"cache": both})[1]["x-gateway-cache"] == "bypass"


@pytest.mark.parametrize("stream", [False, True])
def test_responses_requests_bypass_the_cache_and_its_controls_never_reach_the_provider(
    sdk: openai.OpenAI, fake: FakeProvider, stream: bool
) -> None:
    question = "Tell me a joke about owls"
    for _ in range(2):
        raw = sdk.responses.with_raw_response.create(
            model=MODEL, input=question, stream=stream, extra_body={"cache": {"ttl": 60}}
        )
        assert raw.headers["x-gateway-cache"] == "bypass"
        answer = raw.parse()
        if stream:
            assert "".join(e.delta for e in answer if e.type == "response.output_text.delta") == f"Echo: {question}"
        else:
            assert answer.output_text == f"Echo: {question}"
        assert "cache" not in fake.stats()["last_request"]
    assert fake.count(MODEL, "/v1/responses") == 2
