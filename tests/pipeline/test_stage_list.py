"""The stages are listed once, in pipeline order, and every one starts the same way: ``await cls.start(parts)``."""

from __future__ import annotations

import inspect
import typing

from gateway.pipeline.stages import StageParts
from gateway.wiring import stage_classes


def test_the_stage_list_is_in_pipeline_order() -> None:
    # prompt first (later stages see the rendered request and its model), guardrails on the rendered text, limits
    # next, then the cache (a hit still counts against the limits), cost last (its `after` runs first, so the
    # limits stage charges the real cost, and a cache hit is priced at 0).
    assert [stage.name for stage in stage_classes()] == ["prompts", "guardrails", "limits", "cache", "cost"]


def test_every_stage_has_the_one_start_shape() -> None:
    for stage in stage_classes():
        start = inspect.getattr_static(stage, "start")
        assert isinstance(start, classmethod), stage
        assert inspect.iscoroutinefunction(stage.start), stage
        assert list(inspect.signature(stage.start).parameters) == ["parts"], stage
        hints = typing.get_type_hints(stage.start)
        assert hints["parts"] is StageParts, stage
        assert hints["return"] is typing.Self, stage


def test_every_stage_has_the_whole_stage_interface() -> None:
    for stage in stage_classes():
        for method in ("before", "answer", "after", "aclose"):
            assert inspect.iscoroutinefunction(getattr(stage, method)), (stage, method)
        assert callable(stage.stream_filter) and not inspect.iscoroutinefunction(stage.stream_filter), stage
