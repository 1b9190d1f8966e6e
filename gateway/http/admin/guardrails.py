"""``/admin/guardrails``: the loaded policies, trying text against them, and counts of findings.

    GET  /admin/guardrails                                      the policies and their guardrails
    POST /admin/guardrails/test   {"text": "...", "policies": ["pii"], "side": "input"}
    GET  /admin/guardrails/report?since=7d&group_by=guardrail,action[,key,team,prompt,entity,policy,stage]

``test`` runs the running gateway's own guardrails (the same objects the pipeline uses) over the text; the answer
has the findings, with offsets but never the matched values, and the text as it would go upstream.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from gateway.errors import NotFound
from gateway.guardrails.manage import describe, report, try_text
from gateway.guardrails.stage import GuardrailStage
from gateway.http.admin.common import AdminRoute, GatewayServices, json_response, run_db
from gateway.reports.timerange import parse_range
from gateway.services import Services

router = APIRouter(tags=["guardrails"], route_class=AdminRoute)


class TrialSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=1_000_000)
    policies: list[str] = Field(default_factory=list)
    side: Literal["input", "output"] = "input"


def _stage(svc: Services) -> GuardrailStage:
    for stage in svc.pipeline.stages:
        if isinstance(stage, GuardrailStage):
            return stage
    raise NotFound("This gateway runs no guardrails stage.")


@router.get("/guardrails")
async def list_policies(svc: GatewayServices) -> Response:
    return json_response({"object": "list", "data": describe(_stage(svc).engine.policies)})


@router.post("/guardrails/test")
async def test_text(spec: TrialSpec, svc: GatewayServices) -> Response:
    trial = await try_text(_stage(svc).engine.policies, spec.policies, spec.text, spec.side)
    return json_response(trial.as_dict())


@router.get("/guardrails/report")
async def findings_report(request: Request, svc: GatewayServices) -> Response:
    params = request.query_params
    span = parse_range(params.get("since"), None)
    group_by = [d.strip() for d in (params.get("group_by") or "guardrail,action").split(",") if d.strip()]
    rows = await run_db(svc, report, span.start, group_by)
    return json_response({"object": "list", "since": span.start.isoformat(), "data": rows})
