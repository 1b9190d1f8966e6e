"""Exact and semantic hits through the running gateway: a hit never reaches the upstream, and only a request
that means the same thing hits."""

from __future__ import annotations

import openai
from support.caching import MODEL, ask, entries, wait_filed
from support.servers import FakeProvider, Gateway


def test_a_repeated_request_is_answered_from_the_cache_without_the_upstream(
    sdk: openai.OpenAI, cached: Gateway, fake: FakeProvider
) -> None:
    before = entries(cached)
    first, headers = ask(sdk, "How do I reset my router to factory settings?")
    assert headers["x-gateway-cache"] == "miss"
    wait_filed(cached, before + 1)
    again, headers = ask(sdk, "How do I reset my router to factory settings?")
    assert again == first
    assert headers["x-gateway-cache"] == "hit"
    assert headers["x-gateway-cache-similarity"] == "1.0000"
    assert len(headers["x-gateway-cache-key"]) == 32
    assert fake.count(MODEL) == 1


def test_a_paraphrase_hits_and_unrelated_changed_numbers_and_negations_miss(
    sdk: openai.OpenAI, cached: Gateway, fake: FakeProvider
) -> None:
    before = entries(cached)
    stored, _ = ask(sdk, "How do I reset my password?")
    ask(sdk, "Convert 100 US dollars to euros")
    ask(sdk, "Can I take ibuprofen with coffee?")
    wait_filed(cached, before + 3)
    calls = fake.count(MODEL)

    answer, headers = ask(sdk, "How can I reset my password?")
    assert headers["x-gateway-cache"] == "semantic-hit"
    assert answer == stored  # the stored answer to the first wording
    assert 0.92 <= float(headers["x-gateway-cache-similarity"]) < 1.0
    assert fake.count(MODEL) == calls

    for other in ("How do I bake sourdough bread?", "Convert 150 US dollars to euros",
                  "Can I not take ibuprofen with coffee?"):
        answer, headers = ask(sdk, other)
        assert headers["x-gateway-cache"] == "miss", other
        assert answer == f"Echo: {other}"
    assert fake.count(MODEL) == calls + 3


def test_namespaces_keep_models_system_prompts_and_parameters_apart(
    sdk: openai.OpenAI, cached: Gateway, fake: FakeProvider
) -> None:
    before = entries(cached)
    question = "What is the tallest mountain in Africa?"
    ask(sdk, question)
    wait_filed(cached, before + 1)
    _, headers = ask(sdk, question, model="backup")
    assert headers["x-gateway-cache"] == "miss"
    _, headers = ask(sdk, question, temperature=0.2)
    assert headers["x-gateway-cache"] == "miss"
    system = {"role": "system", "content": "Answer in French."}
    raw = sdk.chat.completions.with_raw_response.create(
        model=MODEL, messages=[system, {"role": "user", "content": question}]  # type: ignore[list-item]
    )
    assert raw.headers["x-gateway-cache"] == "miss"
    _, headers = ask(sdk, question, extra_body={"cache": {"namespace": "tenant-docs"}})
    assert headers["x-gateway-cache"] == "miss"
    assert fake.count(MODEL) + fake.count("backup-model") == 5
