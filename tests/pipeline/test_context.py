"""The request context: shared outputs are typed fields; ``stage_state`` holds a stage's own data only."""

from __future__ import annotations

from gateway.pipeline.context import RequestContext
from gateway.pipeline.records import RequestRecord


def context(**fields: object) -> RequestContext:
    ctx = RequestContext(request_id="req_1", endpoint="chat", body={"model": "m"}, model="m")
    for name, value in fields.items():
        setattr(ctx, name, value)
    return ctx


def test_a_stage_takes_back_what_it_kept_once() -> None:
    ctx = context()
    assert ctx.take("limits") is None  # nothing kept: no dict was made for it
    assert ctx.stage_state is None
    ctx.keep("limits", "reservation")
    assert ctx.take("limits") == "reservation"
    assert ctx.take("limits") is None


def test_the_record_reads_the_shared_outputs_from_typed_fields() -> None:
    ctx = context(tokens_estimated=True, cache_savings_usd=0.25, response_text=["a", "b"])
    ctx.principal.store_content = True
    record = RequestRecord.from_context(ctx)
    assert (record.tokens_estimated, record.cache_savings_usd, record.response_body) == (True, 0.25, "ab")


def test_a_whole_answer_wins_over_collected_text_in_the_stored_content() -> None:
    ctx = context(response_body=b'{"id":"x"}', response_text=["ignored"])
    ctx.principal.store_content = True
    assert RequestRecord.from_context(ctx).response_body == '{"id":"x"}'
