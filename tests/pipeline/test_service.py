"""Unit tests of the pipeline alone: a scripted provider behind a real router, stages that note what they saw,
and a list for the records.

The rule under test is the pipeline's contract: every request leaves exactly one record, whatever happens to it,
and the stages' ``after`` run in reverse order even when one of them fails.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from gateway.errors import GatewayError, RateLimited, UpstreamUnavailable
from gateway.pipeline.context import RequestContext
from gateway.pipeline.records import RequestRecord
from gateway.pipeline.service import Pipeline
from gateway.pipeline.stages import StreamFilter
from gateway.providers.base import UpstreamRequest, UpstreamResponse
from gateway.routing.deployment import Deployment
from gateway.routing.router import RetryPolicy, Router
from gateway.routing.strategies import weighted_shuffle

USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
ANSWER = orjson.dumps({"id": "c1", "object": "chat.completion", "choices": [], "usage": USAGE})


def chunk(text: str | None = None, usage: dict[str, int] | None = None) -> bytes:
    choices = [] if text is None else [{"index": 0, "delta": {"content": text}, "finish_reason": None}]
    return orjson.dumps({"id": "c1", "object": "chat.completion.chunk", "choices": choices, "usage": usage})


class ScriptedStream:
    def __init__(self, batches: list[list[bytes]]) -> None:
        self.batches = batches
        self.closed = 0

    def __aiter__(self) -> AsyncIterator[list[bytes]]:
        return self._run()

    async def _run(self) -> AsyncIterator[list[bytes]]:
        for batch in self.batches:
            yield batch

    async def aclose(self) -> None:
        self.closed += 1


class ScriptedProvider:
    """Answers with ``answer``, or raises ``error``; ``hang`` makes a call wait until cancelled."""

    def __init__(self, answer: bytes = ANSWER, error: BaseException | None = None, hang: bool = False) -> None:
        self.answer = answer
        self.error = error
        self.hang = hang
        self.requests: list[UpstreamRequest] = []
        self.streams: list[ScriptedStream] = []
        self.batches: list[list[bytes]] = [[chunk("hel"), chunk("lo")], [chunk(usage=USAGE)]]

    async def _called(self, request: UpstreamRequest) -> None:
        self.requests.append(request)
        if self.hang:
            await asyncio.Event().wait()
        if self.error is not None:
            raise self.error

    async def complete(self, request: UpstreamRequest) -> UpstreamResponse:
        await self._called(request)
        return UpstreamResponse(self.answer)

    async def stream(self, request: UpstreamRequest) -> ScriptedStream:
        await self._called(request)
        self.streams.append(ScriptedStream(self.batches))
        return self.streams[-1]

    async def aclose(self) -> None:
        return None


class NotingStage:
    """A stage that notes its calls in a shared journal; it may answer in ``before`` or fail in ``after``."""

    def __init__(self, name: str, journal: list[str], answer: bytes | None = None, broken: bool = False) -> None:
        self.name = name
        self.journal = journal
        self.reply = answer
        self.broken = broken

    async def before(self, ctx: RequestContext) -> bytes | None:
        self.journal.append(f"before {self.name}")
        if self.reply is not None:
            ctx.cache_status = "hit"
        return self.reply

    async def answer(self, ctx: RequestContext, body: bytes) -> bytes:
        self.journal.append(f"answer {self.name}")
        return body

    def stream_filter(self, ctx: RequestContext) -> StreamFilter | None:
        return None

    async def after(self, ctx: RequestContext) -> None:
        self.journal.append(f"after {self.name}")
        if self.broken:
            raise RuntimeError("a bug in a stage")

    async def aclose(self) -> None:
        return None


class ListSink:
    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    def emit(self, record: RequestRecord) -> None:
        self.records.append(record)

    async def aclose(self) -> None:
        return None


def build(provider: ScriptedProvider, *stages: NotingStage) -> tuple[Pipeline, ListSink]:
    deployment = Deployment(id="d1", model_name="m", provider_name="openai", upstream_model="up-m",
                            provider=provider, fast_path=True, timeout=5, stream_timeout=5)
    router = Router({"m": [deployment]}, strategy=weighted_shuffle, policy=RetryPolicy(num_retries=0),
                    fallbacks={}, rng=random.Random(0))
    sink = ListSink()
    return Pipeline(router, sink, stages), sink


def request(stream: bool = False, **fields: Any) -> RequestContext:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    return RequestContext(request_id="req-1", endpoint="chat", body=body, model="m", stream=stream, **fields)


async def relay_all(pipeline: Pipeline, ctx: RequestContext) -> list[bytes]:
    relay = await pipeline.stream(ctx)
    try:
        return [payload async for batch in relay for payload in batch]
    finally:
        await relay.aclose()


async def test_a_call_that_succeeds_leaves_one_record_with_its_usage() -> None:
    provider = ScriptedProvider()
    pipeline, sink = build(provider)
    assert await pipeline.complete(request()) == ANSWER
    [record] = sink.records
    assert (record.status, record.deployment_id, record.upstream_model, record.attempts) == (200, "d1", "up-m", 1)
    assert (record.prompt_tokens, record.completion_tokens) == (3, 2)
    assert provider.requests[0].body["model"] == "up-m"


async def test_a_call_that_fails_leaves_one_record_with_the_error() -> None:
    pipeline, sink = build(ScriptedProvider(error=UpstreamUnavailable("down")))
    with pytest.raises(UpstreamUnavailable):
        await pipeline.complete(request())
    [record] = sink.records
    assert (record.status, record.error_type, record.error_message) == (503, "service_unavailable", "down")


async def test_a_bug_below_the_pipeline_is_recorded_as_the_500_the_client_gets() -> None:
    pipeline, sink = build(ScriptedProvider(error=KeyError("oops")))
    with pytest.raises(KeyError):
        await pipeline.complete(request())
    [record] = sink.records
    assert record.status == 500 and record.error_message == "internal error: KeyError"


async def test_a_stage_that_refuses_the_request_stops_it_with_one_record() -> None:
    class Refusing(NotingStage):
        async def before(self, ctx: RequestContext) -> bytes | None:
            raise RateLimited("slow down")

    journal: list[str] = []
    provider = ScriptedProvider()
    pipeline, sink = build(provider, NotingStage("a", journal), Refusing("limits", journal))
    with pytest.raises(RateLimited):
        await pipeline.complete(request())
    assert provider.requests == []
    assert [r.status for r in sink.records] == [429]
    assert journal == ["before a", "after limits", "after a"]


async def test_a_stage_that_answers_skips_the_upstream_and_the_later_stages() -> None:
    journal: list[str] = []
    provider = ScriptedProvider()
    cached = orjson.dumps({"id": "cached", "choices": []})
    pipeline, sink = build(provider, NotingStage("a", journal), NotingStage("cache", journal, answer=cached),
                           NotingStage("c", journal))
    assert await pipeline.complete(request()) == cached
    assert provider.requests == []
    assert journal == ["before a", "before cache", "answer a", "after c", "after cache", "after a"]
    [record] = sink.records
    assert (record.status, record.cache_status, record.deployment_id) == (200, "hit", None)


async def test_a_stream_answered_by_a_stage_is_replayed_with_one_record() -> None:
    stored = orjson.dumps([orjson.loads(chunk("from cache"))])
    provider = ScriptedProvider()
    pipeline, sink = build(provider, NotingStage("cache", [], answer=stored))
    payloads = await relay_all(pipeline, request(stream=True))
    assert [orjson.loads(p)["choices"][0]["delta"]["content"] for p in payloads] == ["from cache"]
    assert provider.requests == [] and len(sink.records) == 1


async def test_stages_after_run_in_reverse_order() -> None:
    journal: list[str] = []
    pipeline, _ = build(ScriptedProvider(), *(NotingStage(name, journal) for name in ("a", "b", "c")))
    await pipeline.complete(request())
    assert [entry for entry in journal if not entry.startswith("answer")] == [
        "before a", "before b", "before c", "after c", "after b", "after a"]


async def test_a_stage_whose_after_raises_loses_neither_the_record_nor_the_other_stages(
    caplog: pytest.LogCaptureFixture,
) -> None:
    journal: list[str] = []
    pipeline, sink = build(ScriptedProvider(), NotingStage("a", journal), NotingStage("b", journal, broken=True))
    assert await pipeline.complete(request()) == ANSWER
    assert journal[-2:] == ["after b", "after a"]
    assert [r.status for r in sink.records] == [200]
    assert "stage b failed after request req-1" in caplog.text


async def test_a_client_that_leaves_during_the_call_leaves_one_499_record() -> None:
    pipeline, sink = build(ScriptedProvider(hang=True))
    task = asyncio.create_task(pipeline.complete(request()))
    await asyncio.sleep(0.05)  # the call is now waiting on the upstream
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [r.status for r in sink.records] == [499]


async def test_a_stream_leaves_one_record_with_the_usage_of_its_last_chunk() -> None:
    provider = ScriptedProvider()
    pipeline, sink = build(provider)
    await relay_all(pipeline, request(stream=True))
    [record] = sink.records
    assert (record.status, record.prompt_tokens, record.completion_tokens) == (200, 3, 2)
    assert provider.requests[0].body["stream_options"] == {"include_usage": True}  # asked for, to cost it
    assert provider.streams[0].closed >= 1


@pytest.mark.parametrize("asked", [False, True])
async def test_the_usage_only_chunk_reaches_only_a_client_that_asked_for_it(asked: bool) -> None:
    pipeline, _ = build(ScriptedProvider())
    payloads = await relay_all(pipeline, request(stream=True, client_wants_usage=asked))
    usage_only = [p for p in payloads if not orjson.loads(p)["choices"]]
    assert len(payloads) == (3 if asked else 2)
    assert len(usage_only) == (1 if asked else 0)


async def test_a_client_that_leaves_before_the_first_byte_leaves_one_499_record() -> None:
    provider = ScriptedProvider()
    pipeline, sink = build(provider)
    ctx = request(stream=True)
    relay = await pipeline.stream(ctx)
    await relay.aclose()
    await relay.aclose()  # twice: still one record
    assert [r.status for r in sink.records] == [499]
    assert provider.streams[0].closed >= 1
    # The upstream had the request: the cost stage is told to bill it as an estimate, not as free.
    assert ctx.upstream_cancelled and ctx.deployment is not None


async def test_a_client_that_leaves_while_the_stream_opens_leaves_the_deployment_that_had_it() -> None:
    pipeline, sink = build(ScriptedProvider(hang=True))
    ctx = request(stream=True)
    opening = asyncio.ensure_future(pipeline.stream(ctx))
    await asyncio.sleep(0.05)
    opening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await opening
    assert [r.status for r in sink.records] == [499]
    assert ctx.upstream_cancelled and ctx.deployment is not None and ctx.deployment.id == "d1"


async def test_a_client_that_leaves_mid_stream_leaves_one_499_record() -> None:
    pipeline, sink = build(ScriptedProvider())
    relay = await pipeline.stream(request(stream=True))
    async for _ in relay:
        break  # the client went away after the first batch
    await relay.aclose()
    assert [r.status for r in sink.records] == [499]


async def test_a_stream_the_upstream_refuses_is_raised_before_the_first_byte_with_one_record() -> None:
    pipeline, sink = build(ScriptedProvider(error=UpstreamUnavailable("down")))
    with pytest.raises(GatewayError):
        await pipeline.stream(request(stream=True))
    assert [r.status for r in sink.records] == [503]


class Upper:
    """A stream filter that upper-cases each chunk's text and holds the last chunk back until the stream ends."""

    def __init__(self, journal: list[str], fail: bool = False) -> None:
        self.journal = journal
        self.held: list[bytes] = []
        self.fail = fail

    async def feed(self, payloads: list[bytes]) -> list[bytes]:
        if self.fail:
            raise RateLimited("refused midway")
        released = self.held + [payload.replace(b"hel", b"HEL").replace(b"lo", b"LO") for payload in payloads]
        self.held = released[-1:]
        return released[:-1]

    async def end(self) -> list[bytes]:
        self.journal.append("end")
        return self.held


class Filtering(NotingStage):
    def __init__(self, name: str, journal: list[str], fail: bool = False) -> None:
        super().__init__(name, journal)
        self.fail = fail

    async def answer(self, ctx: RequestContext, body: bytes) -> bytes:
        self.journal.append(f"answer {self.name}")
        return body.replace(b'"c1"', f'"{self.name}"'.encode())

    def stream_filter(self, ctx: RequestContext) -> StreamFilter | None:
        return Upper(self.journal, self.fail)


async def test_a_whole_answer_goes_through_the_stages_answer_in_reverse_order() -> None:
    journal: list[str] = []
    pipeline, _ = build(ScriptedProvider(), Filtering("a", journal), NotingStage("b", journal))
    body = await pipeline.complete(request())
    assert orjson.loads(body)["id"] == "a"
    assert journal == ["before a", "before b", "answer b", "answer a", "after b", "after a"]


async def test_a_stage_answer_is_seen_only_by_the_stages_before_the_one_that_answered() -> None:
    journal: list[str] = []
    pipeline, _ = build(ScriptedProvider(), NotingStage("a", journal), NotingStage("cache", journal, answer=ANSWER),
                        NotingStage("c", journal))
    await pipeline.complete(request())
    assert journal == ["before a", "before cache", "answer a", "after c", "after cache", "after a"]


async def test_an_answer_a_stage_refuses_reaches_the_client_and_the_record_as_that_error() -> None:
    class Refusing(NotingStage):
        async def answer(self, ctx: RequestContext, body: bytes) -> bytes:
            raise RateLimited("not this answer")

    pipeline, sink = build(ScriptedProvider(), Refusing("guard", []))
    with pytest.raises(RateLimited):
        await pipeline.complete(request())
    assert [r.status for r in sink.records] == [429]


async def test_a_stream_filter_may_hold_chunks_back_and_releases_them_at_the_end() -> None:
    journal: list[str] = []
    pipeline, sink = build(ScriptedProvider(), Filtering("a", journal), Filtering("b", journal))
    payloads = await relay_all(pipeline, request(stream=True))
    texts = [orjson.loads(p)["choices"][0]["delta"]["content"] for p in payloads]
    assert texts == ["HEL", "LO"]
    assert journal.count("end") == 2 and [r.status for r in sink.records] == [200]


async def test_a_stream_filter_that_refuses_ends_the_stream_with_its_error_and_no_end() -> None:
    journal: list[str] = []
    pipeline, sink = build(ScriptedProvider(), Filtering("guard", journal, fail=True))
    with pytest.raises(RateLimited):
        await relay_all(pipeline, request(stream=True))
    assert "end" not in journal
    assert [r.status for r in sink.records] == [429]


async def test_a_replayed_stage_answer_goes_through_the_filters_of_the_stages_before_it() -> None:
    journal: list[str] = []
    stored = orjson.dumps([orjson.loads(chunk("hel")), orjson.loads(chunk("lo"))])
    pipeline, _ = build(ScriptedProvider(), Filtering("a", journal), NotingStage("cache", journal, answer=stored),
                        Filtering("c", journal))
    payloads = await relay_all(pipeline, request(stream=True))
    assert [orjson.loads(p)["choices"][0]["delta"]["content"] for p in payloads] == ["HEL", "LO"]
    assert journal.count("end") == 1
