"""litellm imports in the background from start-up; the first call that needs it waits for the import."""

from __future__ import annotations

import asyncio
import threading
import types

import pytest

from gateway.providers import litellm_provider
from gateway.providers.litellm_provider import LiteLLMLoader


async def test_callers_wait_for_the_import_while_the_loop_keeps_running(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    fake = types.ModuleType("litellm")

    def slow_import() -> types.ModuleType:
        release.wait(10)
        return fake

    monkeypatch.setattr(litellm_provider, "load_litellm", slow_import)
    loader = LiteLLMLoader().start()
    first, second = asyncio.ensure_future(loader.module()), asyncio.ensure_future(loader.module())
    await asyncio.sleep(0.05)  # the loop is free while the import runs in its thread
    assert not first.done() and not second.done()
    release.set()
    assert await first is fake and await second is fake
    assert loader.module_now is fake
    await loader.aclose()


async def test_a_failed_import_is_raised_to_every_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> types.ModuleType:
        raise ImportError("no litellm here")

    monkeypatch.setattr(litellm_provider, "load_litellm", broken)
    loader = LiteLLMLoader().start()
    for _ in range(2):
        with pytest.raises(ImportError, match="no litellm here"):
            await loader.module()
    await loader.aclose()
