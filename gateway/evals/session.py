"""One ``gateway eval run``: run the suite on the candidate, store the run, and, with a baseline, compare.

The baseline is the newest stored run of the same suite content on the version the baseline names (a label
resolved in the registry, a version number, or a run id). When there is none, the suite is run on the baseline
now (mostly from the run cache when it ran before) and stored too, so the comparison is like for like.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import OperationalError, ProgrammingError

from gateway.db import Database
from gateway.evals.cache import NoCache, RunCache
from gateway.evals.client import Target, local_gateway, remote_gateway
from gateway.evals.compare import Comparison, compare
from gateway.evals.model import Suite
from gateway.evals.reports import run_dict
from gateway.evals.results import RunResult
from gateway.evals.runner import Progress, PromptTarget, Runner
from gateway.evals.store import RunNotFound, StoredRun, find_run, load_run, save_run
from gateway.prompts.errors import PromptError
from gateway.prompts.reference import Reference
from gateway.prompts.registry import get_version

ProgressFactory = Callable[[str, int], AbstractContextManager[Progress]]

logger = logging.getLogger("gateway.evals")


class UsageProblem(Exception):
    """Something the user must fix before anything runs (exit code 2)."""


@dataclass(slots=True)
class RunSettings:
    gateway_url: str | None = None
    config: Path | None = None
    api_key: str | None = None
    concurrency: int = 8
    repeat: int = 1
    cache_dir: Path | None = Path(".eval-cache")  # None: no cache
    retries: int = 3
    timeout: float = 120.0
    baseline: str | None = None
    max_drop: float = 0.05


@dataclass(slots=True)
class Outcome:
    run: RunResult
    comparison: Comparison | None
    report: dict[str, object]

    @property
    def passed(self) -> bool:
        return bool(self.report["passed"])


def resolve_prompt(database: Database, name: str, version: int | None, label: str | None,
                   *, required: bool) -> PromptTarget:
    """The version and content hash from the registry when it is readable; ``required`` makes a miss fatal."""
    try:
        info = get_version(database, Reference(name, version=version, label=label))
    except PromptError as exc:
        if required:
            raise UsageProblem(f"{exc} in the registry at {database.safe_url} "
                               "(push it first: gateway prompts push prompts/)") from exc
        return PromptTarget(name, version, label)
    except (OperationalError, ProgrammingError) as exc:  # no registry tables there (SQLite / PostgreSQL)
        if required:
            raise
        logger.warning("no prompt registry at %s (%s): the gateway will say which version ran",
                       database.safe_url, type(exc.orig).__name__)
        return PromptTarget(name, version, label)
    return PromptTarget(name, info.version, label, info.content_hash)


async def execute(
    suite: Suite, database: Database, settings: RunSettings, candidate: tuple[int | None, str | None],
    progress: ProgressFactory,
) -> Outcome:
    in_process = settings.gateway_url is None
    version, label = candidate
    prompt = resolve_prompt(database, suite.prompt, version, label, required=in_process)
    cache: RunCache = RunCache(settings.cache_dir) if settings.cache_dir is not None else NoCache()
    try:
        async with _target(suite, settings) as target:
            run = await _run(suite, target, prompt, cache, settings, progress)
            await asyncio.to_thread(save_run, database, run)
            comparison = None
            if settings.baseline is not None:
                base = await _baseline(suite, database, target, cache, settings, progress)
                stored = await asyncio.to_thread(load_run, database, run.run_id)
                comparison = compare(base, stored)
    finally:
        cache.close()
    max_drop = settings.max_drop if settings.baseline is not None else None
    return Outcome(run, comparison, run_dict(run, comparison, max_drop))


async def _run(suite: Suite, target: Target, prompt: PromptTarget, cache: RunCache, settings: RunSettings,
               progress: ProgressFactory) -> RunResult:
    runner = Runner(suite, target, prompt, cache, concurrency=settings.concurrency, repeat=settings.repeat)
    with progress(f"{suite.name} on {prompt.reference}", len(runner.jobs())) as advance:
        runner.progress = advance
        return await runner.run()


async def _baseline(suite: Suite, database: Database, target: Target, cache: RunCache, settings: RunSettings,
                    progress: ProgressFactory) -> StoredRun:
    selector = settings.baseline
    assert selector is not None
    try:
        stored = await asyncio.to_thread(find_run, database, suite.name, selector, suite.prompt)
        if stored.run.suite_hash == suite.content_hash:
            return stored
    except RunNotFound:
        pass
    if selector.startswith("run_"):
        raise UsageProblem(f"baseline {selector} was not found, or ran another version of the suite")
    version, label = (int(selector), None) if selector.isdigit() else (None, selector)
    prompt = resolve_prompt(database, suite.prompt, version, label, required=settings.gateway_url is None)
    run = await _run(suite, target, prompt, cache, settings, progress)
    await asyncio.to_thread(save_run, database, run)
    return await asyncio.to_thread(load_run, database, run.run_id)


@asynccontextmanager
async def _target(suite: Suite, settings: RunSettings) -> AsyncIterator[Target]:
    tags = f"eval,suite:{suite.name}"
    if settings.gateway_url is not None:
        async with remote_gateway(settings.gateway_url, settings.api_key, tags, retries=settings.retries,
                                  call_timeout=settings.timeout, concurrency=settings.concurrency) as target:
            yield target
    elif settings.config is not None:
        async with local_gateway(settings.config, settings.api_key, tags, retries=settings.retries,
                                 call_timeout=settings.timeout) as target:
            yield target
    else:
        raise UsageProblem("say where the gateway is: --gateway URL, or --config FILE to start it in process")
