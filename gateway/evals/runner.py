"""Run a suite: every case (x every model x every repeat) through the gateway, then its assertions.

The request names the prompt by reference, as an app would: ``prompt_id: NAME@VERSION`` (or ``@LABEL``) and
``prompt_variables``, with ``model: prompt/NAME@...`` so the version's own model is used, or the suite's model
as an override. The gateway renders the prompt; the response header ``x-gateway-prompt-version`` says which
version answered, and a run on a label records it. At most ``concurrency`` cases are in flight at once.

Answers are looked up in the run cache first (see ``gateway.evals.cache``). Without the registry at hand, a
label run's version is only known from the first answer, so that one case is always sent before the others.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from gateway.evals.assertions import AssertContext, Output, evaluate
from gateway.evals.cache import RunCache, cache_key
from gateway.evals.client import Reply, Target
from gateway.evals.model import Case, Suite
from gateway.evals.results import CaseResult, RunResult, score_case
from gateway.evals.services import RunnerServices

Progress = Callable[[CaseResult], None]


@dataclass(frozen=True, slots=True)
class PromptTarget:
    """The version under test: a number, or a label (its version learned from the registry or the answer)."""

    name: str
    version: int | None = None
    label: str | None = None
    content_hash: str | None = None

    @property
    def reference(self) -> str:
        return f"{self.name}@{self.version if self.version is not None else self.label}"


@dataclass(frozen=True, slots=True)
class Job:
    index: int
    case: Case
    model: str | None
    repeat: int


class Runner:
    def __init__(
        self,
        suite: Suite,
        target: Target,
        prompt: PromptTarget,
        cache: RunCache,
        *,
        concurrency: int = 8,
        repeat: int = 1,
        progress: Progress | None = None,
    ) -> None:
        self.suite = suite
        self.target = target
        self.prompt = prompt
        self.cache = cache
        self.concurrency = max(1, concurrency)
        self.repeat = max(1, repeat)
        self.progress = progress
        self.services = RunnerServices(target, cache, suite.name)
        self.modules: dict[Path, ModuleType] = {}
        self.served_version: int | None = prompt.version

    def jobs(self) -> list[Job]:
        models: list[str | None] = list(self.suite.models) or [None]
        plan = [(case, model, r) for model in models for case in self.suite.cases for r in range(self.repeat)]
        return [Job(i, case, model, r) for i, (case, model, r) in enumerate(plan)]

    async def run(self) -> RunResult:
        started, created = time.perf_counter(), datetime.now(UTC)
        jobs = self.jobs()
        results: list[CaseResult | None] = [None] * len(jobs)
        if self.served_version is None and jobs:
            results[0] = await self._job(jobs[0])  # learns the label's version; the rest can use the cache
            jobs = jobs[1:]
        semaphore = asyncio.Semaphore(self.concurrency)

        async def bounded(job: Job) -> None:
            async with semaphore:
                results[job.index] = await self._job(job)

        await asyncio.gather(*(bounded(job) for job in jobs))
        done = [r for r in results if r is not None]
        return RunResult(
            run_id="run_" + secrets.token_hex(6),
            suite_name=self.suite.name,
            suite_hash=self.suite.content_hash,
            suite_path=str(self.suite.path),
            prompt_name=self.prompt.name,
            prompt_version=self.served_version,
            label=self.prompt.label,
            threshold=self.suite.threshold,
            models=list(self.suite.models),
            results=done,
            created_at=created,
            duration_s=time.perf_counter() - started,
            git_sha=os.environ.get("GITHUB_SHA") or None,
        )

    async def _job(self, job: Job) -> CaseResult:
        result = CaseResult(job.case, job.model, job.repeat)
        body = self._body(job)
        key = self._key(job)
        stored = self.cache.get(key) if key is not None else None
        if stored is not None:
            reply = Reply(200, stored["body"], stored["headers"], stored["latency_ms"])
            result.cached = True
        else:
            reply = await self.target.client.post("/v1/chat/completions", body)
        if reply.ok:
            result.error = self._check_version(reply)
        else:
            result.error = reply.error
        if result.error is None:
            if not result.cached and (key := self._key(job)) is not None:
                self.cache.put(key, {"body": reply.body, "headers": reply.headers, "latency_ms": reply.latency_ms})
            await self._assess(result, reply, body)
        score_case(result)
        if self.progress is not None:
            self.progress(result)
        return result

    async def _assess(self, result: CaseResult, reply: Reply, body: dict[str, Any]) -> None:
        output = Output.from_response(reply.body, latency_ms=reply.latency_ms, cost_usd=reply.cost_usd, request=body)
        result.output, result.latency_ms, result.cost_usd = output.text, reply.latency_ms, reply.cost_usd
        ctx = AssertContext(result.case, self.suite.options, self.services, self.modules)
        result.assertions = list(await asyncio.gather(*(evaluate(s, output, ctx) for s in result.case.asserts)))

    def _body(self, job: Job) -> dict[str, Any]:
        reference = self.prompt.reference
        body: dict[str, Any] = {
            **job.case.request,
            "model": job.model or f"prompt/{reference}",
            "prompt_id": reference,
            "prompt_variables": job.case.vars,
        }
        return body

    def _key(self, job: Job) -> str | None:
        if self.served_version is None:
            return None
        return cache_key(
            "chat", self.target.identity, self.prompt.name, self.served_version, self.prompt.content_hash,
            job.model, job.case.vars, job.case.request, job.repeat,
        )

    def _check_version(self, reply: Reply) -> str | None:
        """Record the version that answered; a different one than expected is an error, not a result."""
        header = reply.headers.get("x-gateway-prompt-version")
        if header is None:
            return None
        name, _, number = header.rpartition("@")
        version = int(number) if number.isdigit() else None
        if name != self.prompt.name or version is None:
            return f"the gateway served prompt {header}, not {self.prompt.reference}"
        if self.served_version is None:
            self.served_version = version
        elif version != self.served_version:
            return f"the gateway served {header}, but this run tests {self.prompt.name}@{self.served_version}"
        return None
