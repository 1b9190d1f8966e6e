"""``/admin/prompts``: the prompt registry over HTTP, the same operations as ``gateway prompts``.

    GET  /admin/prompts                          list prompts and their labels
    POST /admin/prompts                          push prompt files: {"prompts": [<YAML text or object>], "actor"}
    GET  /admin/prompts/{ref}                    one version (NAME, NAME@N, NAME@label)
    GET  /admin/prompts/{name}/diff?a=&b=        unified diffs of messages and parameters
    POST /admin/prompts/{name}/release           {"version", "label", "canary", "force", "actor"}
    POST /admin/prompts/{name}/promote           {"label", "force", "actor"}
    POST /admin/prompts/{name}/rollback          {"label", "actor"}
    GET  /admin/prompts/{name}/history           audited label moves
    GET  /admin/prompts/{name}/compare           per-variant figures and the error-rate test

Writes are announced on the invalidation bus, so every replica's prompt cache reloads at once. Errors: unknown
prompt/version/label 404, refused move (eval gate, nothing to roll back) 409, invalid files 400.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any, ClassVar, TypeVar

import yaml
from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy.exc import DataError

from gateway.errors import GatewayError, NotFound, RequestError
from gateway.http.services import Services, services
from gateway.keys.models import printable_name
from gateway.prompts.errors import LabelNotFound, PromptError, PromptNotFound, ReleaseRefused, VersionNotFound

T = TypeVar("T")
DEFAULT_ACTOR = "admin-api"
#: ``compare?since_hours=``: up to ten years back (a larger figure once overflowed the date arithmetic).
MAX_SINCE_HOURS = 10 * 366 * 24
#: Names, references, labels and actors (in the path, the query or the body) are looked up in or written to the
#: database and the audit log: printable, at most 255 characters, else a 400 (a NUL made PostgreSQL refuse them).
Text = Annotated[str, AfterValidator(printable_name)]


class Conflict(GatewayError):
    status: ClassVar[int] = 409
    error_type: ClassVar[str] = "invalid_request_error"
    default_code: ClassVar[str | None] = "release_refused"


class PushBody(BaseModel):
    prompts: list[str | dict[str, Any]] = Field(min_length=1)
    actor: Text = DEFAULT_ACTOR


class ReleaseBody(BaseModel):
    version: int = Field(le=2**31 - 1)
    label: Text = "production"
    canary: float | None = None
    force: bool = False
    actor: Text = DEFAULT_ACTOR


class PromoteBody(BaseModel):
    label: Text = "production"
    force: bool = False
    actor: Text = DEFAULT_ACTOR


class RollbackBody(BaseModel):
    label: Text = "production"
    actor: Text = DEFAULT_ACTOR


def prompts_router() -> APIRouter:
    """The routes; ``admin_router`` mounts them under ``/admin`` behind the master key."""
    router = APIRouter(prefix="/prompts", tags=["prompts"])
    Master = Depends(services)

    @router.get("")
    async def list_prompts(svc: Services = Master) -> dict[str, Any]:
        from gateway.prompts.registry import list_prompts as read

        summaries = await _call(svc, read)
        return {"data": [asdict(s) for s in summaries]}

    @router.post("")
    async def push(body: PushBody, svc: Services = Master) -> dict[str, Any]:
        from gateway.prompts.loader import parse
        from gateway.prompts.registry import push as write

        specs = []
        for index, prompt in enumerate(body.prompts):
            source = f"prompts[{index}]"
            specs.append((source, _guard(lambda: parse(_as_yaml(prompt), source))))  # noqa: B023 (called at once)
        results = await _call(svc, write, specs, body.actor)
        for name in sorted({r.name for r in results if r.status != "unchanged"}):
            await _announce(svc, name)
        return {"data": [asdict(r) for r in results]}

    @router.get("/{ref}")
    async def show(ref: Text, svc: Services = Master) -> dict[str, Any]:
        from gateway.prompts.reference import parse_reference
        from gateway.prompts.registry import get_version

        return asdict(await _call(svc, get_version, _guard(lambda: parse_reference(ref))))

    @router.get("/{name}/diff")
    async def diff(name: Text, a: Text, b: Text, svc: Services = Master) -> dict[str, Any]:
        from gateway.prompts.diff import diff_versions
        from gateway.prompts.reference import parse_reference
        from gateway.prompts.registry import get_version

        old = await _call(svc, get_version, _guard(lambda: parse_reference(f"{name}@{a}")))
        new = await _call(svc, get_version, _guard(lambda: parse_reference(f"{name}@{b}")))
        parts = diff_versions(name, old.version, old.content, new.version, new.content)
        return {"a": old.version, "b": new.version, "parts": [asdict(p) for p in parts]}

    @router.post("/{name}/release")
    async def release(name: Text, body: ReleaseBody, svc: Services = Master) -> dict[str, Any]:
        from gateway.prompts.release import release as move

        result = await _call(
            svc,
            lambda db: move(
                db, name, body.version, label=body.label, canary=body.canary, force=body.force, actor=body.actor
            ),
        )
        if result.changed:
            await _announce(svc, name)
        return asdict(result)

    @router.post("/{name}/promote")
    async def promote(name: Text, body: PromoteBody, svc: Services = Master) -> dict[str, Any]:
        from gateway.prompts.release import promote as move

        result = await _call(svc, lambda db: move(db, name, label=body.label, force=body.force, actor=body.actor))
        await _announce(svc, name)
        return asdict(result)

    @router.post("/{name}/rollback")
    async def rollback(name: Text, body: RollbackBody, svc: Services = Master) -> dict[str, Any]:
        from gateway.prompts.release import rollback as move

        result = await _call(svc, lambda db: move(db, name, label=body.label, actor=body.actor))
        await _announce(svc, name)
        return asdict(result)

    @router.get("/{name}/history")
    async def history(name: Text, svc: Services = Master) -> dict[str, Any]:
        from gateway.prompts.registry import history as read

        entries = await _call(svc, read, name)
        return {"data": [entry.model_dump(mode="json") for entry in entries]}

    @router.get("/{name}/compare")
    async def compare(
        name: Text,
        label: Text = "production",
        since_hours: Annotated[float | None, Query(gt=0, le=MAX_SINCE_HOURS)] = None,
        svc: Services = Master,
    ) -> dict[str, Any]:
        from gateway.db.audit import utcnow
        from gateway.prompts.compare import as_dict
        from gateway.prompts.compare import compare as read

        since = utcnow() - timedelta(hours=since_hours) if since_hours else None
        return as_dict(await _call(svc, lambda db: read(db, name, label=label, since=since)))

    return router


def _as_yaml(prompt: str | dict[str, Any]) -> str:
    return prompt if isinstance(prompt, str) else yaml.safe_dump(prompt, sort_keys=False)


def _guard(action: Callable[[], T]) -> T:
    try:
        return action()
    except (PromptError, ValueError) as exc:
        raise _http_error(exc) from exc


async def _call(svc: Services, fn: Callable[..., T], *args: Any) -> T:
    if svc.database is None:
        raise GatewayError("The gateway has no database.")
    try:
        return await asyncio.to_thread(fn, svc.database, *args)
    except (PromptError, ValueError) as exc:
        raise _http_error(exc) from exc
    except DataError as exc:  # a value the database cannot store (a NUL in a prompt's text, say)
        raise RequestError("A value in the request cannot be stored (out of range, or a NUL character).") from exc


def _http_error(exc: Exception) -> GatewayError:
    if isinstance(exc, PromptNotFound | VersionNotFound | LabelNotFound):
        return NotFound(str(exc), code="prompt_not_found")
    if isinstance(exc, ReleaseRefused):
        return Conflict(str(exc))
    return RequestError(str(exc))


async def _announce(svc: Services, name: str) -> None:
    """Reload this replica's cache before answering (so the change holds at once here), then tell the others."""
    from gateway.prompts.notify import TOPIC
    from gateway.prompts.stage import PromptStage

    for stage in svc.pipeline.stages:
        if isinstance(stage, PromptStage):
            await stage.cache.reload()
    if svc.bus is not None and svc.redis is not None:
        await svc.bus.publish(TOPIC, name)
