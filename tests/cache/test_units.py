"""Unit tests of the cache's pure pieces: the replay of a stored body as chunks (reasoning, tool calls), the
second-stage checks, the adaptive threshold, the in-process LRU's bounds, the key's contents."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from pydantic import ValidationError
from support.contracts import validate

from gateway.cache.adaptive import Evidence, decide, learned_threshold, wilson_upper
from gateway.cache.checks import disagreement, features
from gateway.cache.exact import MemoryStore
from gateway.cache.identity import identity, scope_of
from gateway.cache.policy import Policy, base_policy, with_controls
from gateway.cache.replay import assemble, chunks_of
from gateway.config.models import CachePolicy, CacheSettings, GatewayConfig
from gateway.pipeline.context import Principal, RequestContext

BODY: dict[str, Any] = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": None, "message": {
        "role": "assistant", "content": "Let me look that up for you now.", "refusal": None,
        "reasoning_content": "The user wants the weather; call the tool.",
        "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Lisbon, Portugal"}'}}]}}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14},
}


def test_a_body_replays_as_schema_valid_chunks_and_assembles_back_to_itself() -> None:
    chunks = chunks_of("chat", BODY)
    for chunk in chunks:
        validate("CreateChatCompletionStreamResponse", chunk)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert sum(1 for d in deltas if "reasoning_content" in d) > 1  # in pieces, like a live stream
    assert chunks[-1] == {**{k: BODY[k] for k in ("id", "created", "model")}, "object": "chat.completion.chunk",
                          "choices": [], "usage": BODY["usage"]}
    assert assemble("chat", [orjson.dumps(c) for c in chunks]) == BODY


def test_a_stream_without_a_finish_is_not_whole() -> None:
    chunks = chunks_of("chat", BODY)
    cut = [orjson.dumps(c) for c in chunks if not (c["choices"] and c["choices"][0]["finish_reason"])]
    assert assemble("chat", cut) is None


@pytest.mark.parametrize(("stored", "asked", "check"), [
    ("How do I reset my password?", "How can I reset my password?", None),
    ("Convert 100 dollars to euros", "Convert 150 dollars to euros", "numbers"),
    ("Is five a prime number?", "Is 5 a prime number?", None),
    ("Can I take ibuprofen with coffee?", "Can't I take ibuprofen with coffee?", "negation"),
    ("Flights from Paris to Rome", "Flights from Rome to Paris", "order"),
    ("What did Einstein say about time?", "What did Newton say about time?", "entities"),
    ('Translate "good morning" to Spanish', 'Translate "good night" to Spanish', "quotes"),
    ("Is a whale heavier than a shark?", "Is a shark heavier than a whale?", "swap"),
    ("Was the tomb painted with red figures on a black ground?",
     "Was the tomb painted with black figures on a red ground?", "swap"),
    ("Is math important to learn?", "Is it important to learn math?", "swap"),  # the price: a moved word misses
    ("What is the capital of France?", "Tell me the capital of France", None),
])
def test_the_second_stage_check_names_what_differs(stored: str, asked: str, check: str | None) -> None:
    assert disagreement(features(stored), features(asked)) == check


def test_the_learned_threshold_bounds_the_wrong_share_above_it() -> None:
    assert wilson_upper(0, 0) == 1.0 and wilson_upper(0, 100) < 0.04
    right = [(0.95 + i / 1000, True) for i in range(40)]
    wrong = [(0.90 + i / 1000, False) for i in range(20)]
    assert learned_threshold(right + wrong, delta=0.1) == pytest.approx(0.95)
    assert learned_threshold(wrong, delta=0.1) is None
    evidence = Evidence(0.1)
    for similarity, agreed in right + wrong:
        evidence.add(similarity, agreed)
    empty = Evidence(0.1)
    assert decide(0.97, [empty, evidence, empty], explore_rate=0.0) == "hit"
    assert decide(0.92, [empty, evidence, empty], explore_rate=0.0) == "miss"
    assert decide(0.92, [empty, empty, empty], explore_rate=1.0) == "explore"


def test_the_lru_is_bounded_by_entries_and_by_bytes() -> None:
    async def run() -> None:
        store = MemoryStore(max_entries=3, max_bytes=100)
        for name in "abcd":
            await store.put(name, "t.t", b"x" * 10, 60)
        assert await store.get("a", "t.t") is None and await store.get("d", "t.t") == b"x" * 10
        await store.put("big", "t.t", b"y" * 90, 60)  # 120 bytes: the two least recently used go
        assert await store.get("b", "t.t") is None and await store.get("c", "t.t") is None
        assert await store.stats() == {"backend": "memory", "entries": 2, "bytes": 100}
        assert await store.clear("*.*") == 2
    asyncio.run(run())


def test_the_key_holds_the_scope_and_every_parameter_but_not_the_stream_flags() -> None:
    policy = Policy("semantic", 60, 0.9, None, False, False)
    base = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}

    def key(body: dict[str, Any], team: str | None = "t1", **ctx: Any) -> str:
        principal = Principal(key_id="k1", team_id=team)
        return identity(RequestContext("r", "chat", body, "m", principal=principal, **ctx), policy, "team").key

    assert key(base) == key({**base, "stream": True, "stream_options": {"include_usage": True}, "user": "u"})
    assert key(base) != key({**base, "temperature": 1}) != key({**base, "seed": 3})
    assert key(base) != key(base, team="t2")
    assert key(base) != key({**base, "response_format": {"type": "json_object"}})
    assert scope_of(Principal(key_id="k1"), "team") == "key:k1"
    assert scope_of(Principal(key_id="k1", team_id="t"), "shared") == "shared"


def test_one_config_line_turns_the_cache_on_and_a_typo_stops_the_start() -> None:
    assert GatewayConfig.model_validate({"gateway": {"cache": "semantic"}}).gateway.cache.mode == "semantic"
    with pytest.raises(ValidationError):
        GatewayConfig.model_validate({"gateway": {"cache": {"mode": "semantic", "treshold": 0.9}}})


def test_the_most_specific_policy_wins_and_a_request_can_only_make_it_stricter() -> None:
    settings = CacheSettings(
        mode="semantic", ttl_seconds=600,
        models={"m": CachePolicy(threshold=0.97)}, teams={"blue": CachePolicy(mode="exact")},
        keys={"k-off": CachePolicy(mode="off")}, prompts={"faq": CachePolicy(ttl_seconds=60)},
    )

    def policy(key: str = "k", team: str | None = None, prompt: str | None = None, **controls: Any) -> Policy:
        ctx = RequestContext("r", "chat", {}, "m", principal=Principal(key_id=key, team_name=team))
        ctx.prompt_name = prompt
        return with_controls(base_policy(settings, ctx), controls or None, ctx)

    assert (policy().mode, policy().threshold, policy().ttl) == ("semantic", 0.97, 600)
    assert policy(team="blue").mode == "exact" and policy(key="k-off", team="blue").mode == "off"
    assert policy(prompt="faq").ttl == 60
    assert policy(ttl=30).ttl == 30 and policy(ttl=6000).ttl == 600
    assert policy(**{"no-store": True}).store is False and policy(ttl=0).store is False
    refreshed = policy(**{"no-cache": True})
    assert refreshed.lookup is False and refreshed.refresh is True


def test_a_legacy_completion_replays_as_valid_text_chunks_and_back() -> None:
    body = {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "text": "Paris is the capital of France.", "logprobs": None,
                         "finish_reason": "stop"}]}
    chunks = chunks_of("completions", body)
    for chunk in chunks:
        validate("CreateCompletionResponse", chunk, relax={"completion_stream_null_finish_reason"})
    assert "".join(c["choices"][0]["text"] for c in chunks) == body["choices"][0]["text"]
    assert assemble("completions", [orjson.dumps(c) for c in chunks]) == body
