"""Scripted usage: tests that price tokens the fake cannot produce by counting words (250k-token prompts, cache
writes, reasoning tokens) tell the fake what usage to report for a model.

Contract: ``POST /_fake/usage {"model": m, "usage": {...}}`` makes every reply for model ``m`` report that usage,
in the provider's own shape (OpenAI's ``prompt_tokens``/``*_details``; Anthropic's ``input_tokens``,
``cache_creation_input_tokens``, ``cache_creation: {ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}``...),
merged over the counted usage (nested objects merged key by key), streamed or not, until
``DELETE /_fake/usage``. OpenAI's ``total_tokens`` is recomputed. In an Anthropic stream the scripted usage
goes in ``message_start`` and its ``output_tokens`` in ``message_delta``, where Anthropic puts them.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from gateway.fake_provider.content import Frames, Json


class UsageScripts:
    """Scripted usage per model name."""

    def __init__(self) -> None:
        self.by_model: dict[str, Json] = {}

    def for_model(self, model: str) -> Json | None:
        return self.by_model.get(model)


SCRIPTS_KEY = web.AppKey("fake_provider_usage", UsageScripts)


def merged(counted: Any, scripted: Json) -> Json:
    """``scripted`` over ``counted``, nested objects merged; OpenAI's total recomputed when it is there."""
    result: Json = dict(counted) if isinstance(counted, dict) else {}
    for key, value in scripted.items():
        result[key] = merged(result.get(key), value) if isinstance(value, dict) else value
    if "total_tokens" in result:
        result["total_tokens"] = int(result.get("prompt_tokens") or 0) + int(result.get("completion_tokens") or 0)
    return result


def script_reply(reply: Json, scripted: Json | None) -> Json:
    if scripted is not None:
        reply["usage"] = merged(reply.get("usage"), scripted)
    return reply


def script_frames(frames: Frames, scripted: Json | None) -> Frames:
    if scripted is None:
        return frames
    return Frames([_script_frame(frame, scripted) for frame in frames.frames], frames.preamble)


def _script_frame(frame: bytes, scripted: Json) -> bytes:
    head, marker, data = frame.partition(b"data: ")
    if not marker or b'"usage"' not in data:
        return frame
    payload = orjson.loads(data)
    if payload.get("type") == "message_start":
        payload["message"]["usage"] = merged(payload["message"].get("usage"), scripted)
    elif payload.get("type") == "message_delta":
        if "output_tokens" in scripted:
            payload["usage"]["output_tokens"] = scripted["output_tokens"]
    elif isinstance(payload.get("usage"), dict):
        payload["usage"] = merged(payload["usage"], scripted)
    else:
        return frame
    return head + marker + orjson.dumps(payload) + b"\n\n"


async def set_usage(request: web.Request) -> web.Response:
    spec = await request.json(loads=orjson.loads)
    if not isinstance(spec, dict) or not isinstance(spec.get("model"), str) or not isinstance(spec.get("usage"), dict):
        return web.json_response({"error": 'the body must be {"model": "...", "usage": {...}}'}, status=400)
    request.app[SCRIPTS_KEY].by_model[spec["model"]] = spec["usage"]
    return web.json_response({"model": spec["model"], "usage": spec["usage"]}, status=201)


async def clear_usage(request: web.Request) -> web.Response:
    scripts = request.app[SCRIPTS_KEY]
    cleared = len(scripts.by_model)
    scripts.by_model.clear()
    return web.json_response({"cleared": cleared})
