"""``/admin/prompts``: the prompt registry over HTTP, the same operations as ``gateway prompts``.

    GET  /admin/prompts                          list prompts and their labels
    POST /admin/prompts                          push prompt files: a ``PushBody``
    GET  /admin/prompts/{ref}                    one version (NAME, NAME@N, NAME@label)
    GET  /admin/prompts/{name}/diff?a=&b=        unified diffs of messages and parameters
    POST /admin/prompts/{name}/release           a ``ReleaseBody``
    POST /admin/prompts/{name}/promote           a ``PromoteBody``
    POST /admin/prompts/{name}/rollback          a ``RollbackBody``
    GET  /admin/prompts/{name}/history           audited label moves
    GET  /admin/prompts/{name}/compare           per-variant figures and the error-rate test

Writes are published on the change bus, so every replica's prompt cache (this one's before the answer) reloads.
Errors: unknown prompt/version/label 404 (``prompt_not_found``), refused move (eval gate, nothing to roll back)
409 (``release_refused``), invalid files 400, no database 503.
"""

from __future__ import annotations

import functools
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from gateway.bus import PROMPTS as TOPIC
from gateway.db.audit import utcnow
from gateway.errors import Conflict, NotFound, RequestError
from gateway.http.admin.common import AdminRoute, ErrorMap, GatewayServices, Text, guarded, publish, run_db
from gateway.http.services import Services
from gateway.keys.models import MAX_INT
from gateway.prompts import compare as comparison
from gateway.prompts import registry
from gateway.prompts import release as moves
from gateway.prompts.diff import diff_versions
from gateway.prompts.errors import LabelNotFound, PromptError, PromptNotFound, ReleaseRefused, VersionNotFound
from gateway.prompts.loader import parse
from gateway.prompts.reference import parse_reference
from gateway.prompts.spec import PromptSpec

DEFAULT_ACTOR = "admin-api"
#: ``compare?since_hours=``: up to ten years back (a larger figure once overflowed the date arithmetic).
MAX_SINCE_HOURS = 10 * 366 * 24
#: ``PromptError``s not listed here (an invalid file, a bad reference) are 400s.
PROMPT_ERRORS: ErrorMap = {
    PromptNotFound: functools.partial(NotFound, code="prompt_not_found"),
    VersionNotFound: functools.partial(NotFound, code="prompt_not_found"),
    LabelNotFound: functools.partial(NotFound, code="prompt_not_found"),
    ReleaseRefused: functools.partial(Conflict, code="release_refused"),
    PromptError: RequestError,
}

router = APIRouter(prefix="/prompts", tags=["prompts"], route_class=AdminRoute)


class PushBody(BaseModel):
    prompts: list[str | dict[str, Any]] = Field(min_length=1, description="prompt files: YAML text or objects")
    actor: Text = DEFAULT_ACTOR


class ReleaseBody(BaseModel):
    version: int = Field(le=MAX_INT)
    label: Text = "production"
    canary: float | None = Field(default=None, description="percent of traffic for the new version")
    force: bool = Field(default=False, description="skip the eval gate")
    actor: Text = DEFAULT_ACTOR


class PromoteBody(BaseModel):
    label: Text = "production"
    force: bool = False
    actor: Text = DEFAULT_ACTOR


class RollbackBody(BaseModel):
    label: Text = "production"
    actor: Text = DEFAULT_ACTOR


@router.get("")
async def list_prompts(svc: GatewayServices) -> dict[str, Any]:
    summaries = await run_db(svc, registry.list_prompts, errors=PROMPT_ERRORS)
    return {"data": [asdict(summary) for summary in summaries]}


@router.post("")
async def push(body: PushBody, svc: GatewayServices) -> dict[str, Any]:
    specs = [_parsed(index, prompt) for index, prompt in enumerate(body.prompts)]
    results = await run_db(svc, registry.push, specs, body.actor, errors=PROMPT_ERRORS)
    for name in sorted({result.name for result in results if result.status != "unchanged"}):
        await publish(svc, TOPIC, name)
    return {"data": [asdict(result) for result in results]}


@router.get("/{ref}")
async def show(ref: Text, svc: GatewayServices) -> dict[str, Any]:
    reference = guarded(lambda: parse_reference(ref), PROMPT_ERRORS)
    return asdict(await run_db(svc, registry.get_version, reference, errors=PROMPT_ERRORS))


@router.get("/{name}/diff")
async def diff(name: Text, a: Text, b: Text, svc: GatewayServices) -> dict[str, Any]:
    old = await _version(svc, f"{name}@{a}")
    new = await _version(svc, f"{name}@{b}")
    parts = diff_versions(name, old.version, old.content, new.version, new.content)
    return {"a": old.version, "b": new.version, "parts": [asdict(part) for part in parts]}


@router.post("/{name}/release")
async def release(name: Text, body: ReleaseBody, svc: GatewayServices) -> dict[str, Any]:
    move = functools.partial(moves.release, label=body.label, canary=body.canary, force=body.force, actor=body.actor)
    result = await run_db(svc, move, name, body.version, errors=PROMPT_ERRORS)
    if result.changed:
        await publish(svc, TOPIC, name)
    return asdict(result)


@router.post("/{name}/promote")
async def promote(name: Text, body: PromoteBody, svc: GatewayServices) -> dict[str, Any]:
    move = functools.partial(moves.promote, label=body.label, force=body.force, actor=body.actor)
    result = await run_db(svc, move, name, errors=PROMPT_ERRORS)
    await publish(svc, TOPIC, name)
    return asdict(result)


@router.post("/{name}/rollback")
async def rollback(name: Text, body: RollbackBody, svc: GatewayServices) -> dict[str, Any]:
    move = functools.partial(moves.rollback, label=body.label, actor=body.actor)
    result = await run_db(svc, move, name, errors=PROMPT_ERRORS)
    await publish(svc, TOPIC, name)
    return asdict(result)


@router.get("/{name}/history")
async def history(name: Text, svc: GatewayServices) -> dict[str, Any]:
    entries = await run_db(svc, registry.history, name, errors=PROMPT_ERRORS)
    return {"data": [entry.model_dump(mode="json") for entry in entries]}


@router.get("/{name}/compare")
async def compare(
    name: Text,
    svc: GatewayServices,
    label: Text = "production",
    since_hours: Annotated[float | None, Query(gt=0, le=MAX_SINCE_HOURS)] = None,
) -> dict[str, Any]:
    since = utcnow() - timedelta(hours=since_hours) if since_hours else None
    read = functools.partial(comparison.compare, label=label, since=since)
    return comparison.as_dict(await run_db(svc, read, name, errors=PROMPT_ERRORS))


def _parsed(index: int, prompt: str | dict[str, Any]) -> tuple[str, PromptSpec]:
    """One pushed file as ``(source, spec)``; the source (``prompts[0]``) names it in any error."""
    source = f"prompts[{index}]"
    text = prompt if isinstance(prompt, str) else yaml.safe_dump(prompt, sort_keys=False)
    return source, guarded(lambda: parse(text, source), PROMPT_ERRORS)


async def _version(svc: Services, ref: str) -> registry.VersionInfo:
    reference = guarded(lambda: parse_reference(ref), PROMPT_ERRORS)
    return await run_db(svc, registry.get_version, reference, errors=PROMPT_ERRORS)
