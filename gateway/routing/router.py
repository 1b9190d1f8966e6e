"""Choose a deployment for a model name and call it, with retries, fallbacks and cooldown.

For one request the router tries the requested model name, then each of its fallbacks in order. Within a
name it makes up to ``num_retries + 1`` attempts, each on a healthy deployment that it has not tried yet when
there is one, waiting between attempts (exponential backoff with jitter, or the provider's ``Retry-After``).
Only retryable errors (429, 5xx, connection errors, timeouts) lead to another attempt; a provider's 400 is the
client's problem and is raised at once. A deployment that fails ``allowed_fails`` times in a row cools down
for ``cooldown_time`` seconds and gets no traffic meanwhile; only upstream faults count (an error whose
``blames_deployment`` is true: not a client's 4xx, its own short timeout or the adapter's failure), so one
client cannot cool a model down for the others. An optional admission hook (``set_admission``) is
asked before each attempt; a deployment it refuses (at its own RPM/TPM limit) is skipped like a cooling one.
A fallback goes only to a model name the caller may use (``may_use``): a key's model allow-list holds for its
fallbacks too; the requested name itself was checked before (the limits stage answers it with a 403).

Wildcard entries (``model_name: "anthropic/*"`` or ``"*"``, as in LiteLLM) are ``Wildcard`` patterns: a requested
name that no entry names exactly but a pattern matches gets its own group, made by the pattern's factory on first
use (the most specific pattern wins: the longest one without its ``*``) and kept, up to ``MAX_WILDCARD_GROUPS``
names. ``model_names`` lists the configured names and the names the wildcards are known to serve
(``listed``: the price map's models of a wildcard's provider), never a pattern.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from gateway.errors import RateLimited, RequestError, UnknownModel, UpstreamError, UpstreamUnavailable
from gateway.routing.deployment import Deployment
from gateway.routing.strategies import Strategy

T = TypeVar("T")
#: Names made from wildcard patterns that are kept; past it the oldest is dropped (a client cannot grow memory).
MAX_WILDCARD_GROUPS = 1024
logger = logging.getLogger("gateway.router")
#: Asked before an attempt on a deployment: None admits it; a number refuses it for about that many seconds.
Admission = Callable[[Deployment], Awaitable[float | None]]
#: Whether the caller may use a model name (its key's and team's allow-lists); fallbacks outside it are skipped.
ModelPredicate = Callable[[str], bool]
#: Told of each failed attempt (telemetry's metrics): the deployment, the error, and whether it now cools down.
FailureHook = Callable[[Deployment, UpstreamError, bool], None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    num_retries: int = 2
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    min_wait: float = 0.0
    max_retry_after: float = 30.0
    allowed_fails: int = 3
    cooldown: float = 30.0
    latency_alpha: float = 0.2


@dataclass(frozen=True, slots=True)
class Wildcard:
    """A wildcard ``model_name``: its pattern, and the factory of a matched name's deployments."""

    pattern: re.Pattern[str]
    make: Callable[[str, re.Match[str]], list[Deployment]]
    specificity: int  #: the pattern's length without its ``*``: more specific patterns are tried first
    listed: tuple[str, ...] = ()  #: concrete names to show in ``/v1/models``
    limited: bool = False  #: its deployments have an RPM or TPM limit


class NoDeploymentForTags(RequestError):
    default_code = "no_deployment_for_tags"


@dataclass(frozen=True, slots=True)
class TagFiltering:
    """LiteLLM's tag routing (``router_settings.enable_tag_filtering``): a request's tags choose the deployments
    whose ``litellm_params.tags`` share one of them (all of them with ``match_any=False``); a request without a
    matching deployment, or without tags, goes to the deployments tagged ``default``, else (untagged request
    only) to any deployment."""

    match_any: bool = True

    def choose(self, model_name: str, group: Sequence[Deployment], tags: Sequence[str]) -> list[Deployment]:
        wanted = set(tags)
        if wanted:
            matching = [d for d in group if self._matches(set(d.tags), wanted)]
            if matching:
                return matching
        defaults = [d for d in group if "default" in d.tags]
        if defaults or not wanted:
            return defaults or list(group)
        raise NoDeploymentForTags(
            f"No deployment of `{model_name}` has the tags {sorted(wanted)}, and none is tagged `default`.",
            param="tags",
        )

    def _matches(self, have: set[str], wanted: set[str]) -> bool:
        return bool(have & wanted) if self.match_any else wanted <= have


@dataclass(slots=True)
class Attempted:
    """Which deployment answered, and after how many attempts in all."""

    deployment: Deployment
    attempts: int


class Router:
    def __init__(
        self,
        groups: Mapping[str, Sequence[Deployment]],
        *,
        strategy: Strategy,
        policy: RetryPolicy,
        fallbacks: Mapping[str, Sequence[str]],
        default_fallbacks: Sequence[str] = (),
        wildcards: Sequence[Wildcard] = (),
        tag_filtering: TagFiltering | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._groups = {name: list(deployments) for name, deployments in groups.items()}
        self._configured = frozenset(self._groups)
        self._wildcards = sorted(wildcards, key=lambda w: -w.specificity)
        self._made: list[str] = []  # names made from wildcards, oldest first
        self._tags = tag_filtering
        self._strategy = strategy
        self._policy = policy
        self._fallbacks = fallbacks
        self._default_fallbacks = list(default_fallbacks)
        self._rng = rng or random.Random()
        self._clock = clock
        self._sleep = sleep
        self._admit: Admission | None = None
        self._on_failure: FailureHook | None = None

    def set_admission(self, admit: Admission | None) -> None:
        self._admit = admit

    def set_failure_hook(self, hook: FailureHook | None) -> None:
        self._on_failure = hook

    @property
    def model_names(self) -> list[str]:
        """The configured names, then the names wildcards serve that are known ahead (never a pattern)."""
        names = dict.fromkeys(self._configured)
        for wildcard in self._wildcards:
            names.update(dict.fromkeys(wildcard.listed))
        return list(names)

    def deployments(self, model_name: str) -> Sequence[Deployment]:
        return self._group(model_name) or ()

    def reachable(self, model_name: str) -> list[Deployment]:
        """Every deployment a request for ``model_name`` may end on: its own and its fallbacks'."""
        return [d for name in self._chain(model_name, None) for d in self.deployments(name)]

    def all_deployments(self) -> list[Deployment]:
        return [d for group in self._groups.values() for d in group]

    @property
    def has_deployment_limits(self) -> bool:
        """Whether a deployment, configured or still to be made from a wildcard, has an RPM or TPM limit."""
        configured = any(d.rpm is not None or d.tpm is not None for d in self.all_deployments())
        return configured or any(wildcard.limited for wildcard in self._wildcards)

    def require(self, model_name: str) -> None:
        if self._group(model_name) is None:
            patterns = "".join(f", {w.pattern.pattern}" for w in self._wildcards)
            raise UnknownModel(
                f"The model `{model_name}` does not exist on this gateway. "
                f"Configured models: {', '.join(sorted(self._configured)) or '(none)'}"
                + (f" (and names matching the patterns {patterns[2:]})" if patterns else ""),
                param="model",
            )

    def _group(self, model_name: str) -> list[Deployment] | None:
        group = self._groups.get(model_name)
        if group is not None or not self._wildcards:
            return group
        for wildcard in self._wildcards:
            match = wildcard.pattern.fullmatch(model_name)
            if match is not None:
                return self._remember(model_name, wildcard.make(model_name, match))
        return None

    def _remember(self, model_name: str, group: list[Deployment]) -> list[Deployment]:
        if len(self._made) >= MAX_WILDCARD_GROUPS:
            self._groups.pop(self._made.pop(0), None)
        self._made.append(model_name)
        self._groups[model_name] = group
        return group

    async def call(
        self,
        model_name: str,
        fn: Callable[[Deployment], Awaitable[T]],
        may_use: ModelPredicate | None = None,
        tags: Sequence[str] = (),
    ) -> tuple[T, Attempted]:
        """Run ``fn`` on a deployment of ``model_name`` (or a fallback the caller may use) until one succeeds.
        ``tags``: the request's, for tag routing (when the config turns it on)."""
        self.require(model_name)
        chain = self._chain(model_name, may_use)
        last_error: UpstreamError | None = None
        limited: float | None = None
        attempts = 0
        for index, name in enumerate(chain):
            if index:
                logger.info("falling back from %s to %s", chain[index - 1], name)
            tried: set[str] = set()
            for attempt in range(self._policy.num_retries + 1):
                deployment, wait = await self._choose(name, tried, tags)
                if deployment is None and wait is not None:
                    limited = wait if limited is None else min(limited, wait)
                    break
                if deployment is None:
                    last_error = last_error or UpstreamUnavailable(
                        f"every deployment of `{name}` is cooling down after repeated failures",
                        headers={"Retry-After": str(max(1, round(self._soonest_recovery(name))))},
                    )
                    break
                tried.add(deployment.id)
                attempts += 1
                try:
                    result = await self._attempt(deployment, fn)
                except UpstreamError as exc:
                    if not exc.retryable:
                        raise
                    last_error = exc
                    if attempt < self._policy.num_retries:
                        await self._sleep(self._wait(attempt, exc))
                    continue
                return result, Attempted(deployment, attempts)
        if attempts == 0 and limited is not None:
            raise RateLimited(
                f"Every deployment of `{model_name}` is at its rate limit (deployment rpm/tpm). "
                f"Please try again in {max(1, round(limited))}s.",
                headers={"Retry-After": str(max(1, round(limited)))},
            )
        assert last_error is not None
        raise last_error

    def _chain(self, model_name: str, may_use: ModelPredicate | None) -> list[str]:
        fallbacks = self._fallbacks.get(model_name, self._default_fallbacks)
        if may_use is None:
            return [model_name, *fallbacks]
        return [model_name, *(name for name in fallbacks if may_use(name))]

    async def _attempt(self, deployment: Deployment, fn: Callable[[Deployment], Awaitable[T]]) -> T:
        started = self._clock()
        deployment.in_flight += 1
        try:
            result = await fn(deployment)
        except UpstreamError as exc:
            cooled = (
                exc.retryable
                and exc.blames_deployment
                and deployment.record_failure(self._clock(), self._policy.allowed_fails, self._policy.cooldown)
            )
            if self._on_failure is not None:
                self._on_failure(deployment, exc, cooled)
            if cooled:
                logger.warning(
                    "deployment %s cools down for %gs after %d failures in a row: %s",
                    deployment.id,
                    self._policy.cooldown,
                    self._policy.allowed_fails,
                    exc.message,
                )
            raise
        finally:
            deployment.in_flight -= 1
        deployment.record_success(self._clock() - started, self._policy.latency_alpha)
        return result

    async def _choose(
        self, name: str, tried: set[str], tags: Sequence[str] = ()
    ) -> tuple[Deployment | None, float | None]:
        """A healthy deployment that the admission hook admits; else None, with the soonest wait if it refused."""
        refused: set[str] = set()
        wait: float | None = None
        while (deployment := self._pick(name, tried, refused, tags)) is not None:
            refusal = None if self._admit is None else await self._admit(deployment)
            if refusal is None:
                return deployment, None
            refused.add(deployment.id)
            wait = refusal if wait is None else min(wait, refusal)
        return None, wait

    def _pick(
        self, name: str, tried: set[str], refused: set[str] | None = None, tags: Sequence[str] = ()
    ) -> Deployment | None:
        now = self._clock()
        group: Sequence[Deployment] = self._group(name) or ()
        if self._tags is not None:
            group = self._tags.choose(name, group, tags)
        healthy = [d for d in group if d.available(now) and not (refused and d.id in refused)]
        if not healthy:
            return None
        fresh = [d for d in healthy if d.id not in tried]
        return self._strategy(fresh or healthy, self._rng)

    def _soonest_recovery(self, name: str) -> float:
        now = self._clock()
        return min((d.cooldown_until - now for d in self._group(name) or ()), default=1.0)

    def _wait(self, attempt: int, exc: UpstreamError) -> float:
        policy = self._policy
        if exc.retry_after is not None:
            return max(policy.min_wait, min(exc.retry_after, policy.max_retry_after))
        ceiling = min(policy.backoff_max, policy.backoff_base * (2.0**attempt))
        # Equal jitter: never less than half the step, so retries from many clients spread out but still wait.
        return max(policy.min_wait, ceiling / 2 + self._rng.uniform(0, ceiling / 2))
