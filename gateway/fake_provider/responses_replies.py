"""Deterministic OpenAI Responses API replies (``POST /v1/responses``), whole and streamed.

The fake answers a Responses request the way it answers chat (the same echo, tool-call and schema rules of
``replies``): the request is read as chat, the chat reply is planned, and the answer is written in the Responses
shape with the gateway's own translator, whose output the contract tests hold to OpenAI's schemas. It keeps no
conversation state: a ``previous_response_id`` is accepted and ignored, as a stateless OpenAI-compatible server
would.
"""

from __future__ import annotations

import time

import orjson

from gateway.fake_provider import replies
from gateway.fake_provider.content import Frames, Json
from gateway.responses_compat import ChatToResponseStream, chat_to_response, responses_to_chat


def chat_body(body: Json) -> Json:
    """The request as chat (raises ``ResponsesRequestError`` for what the fake cannot read)."""
    return responses_to_chat({k: v for k, v in body.items() if k != "previous_response_id"})


def response(body: Json, model: str, digest: str) -> Json:
    plan = replies.plan_chat(chat_body(body))
    chat = replies.chat_completion(plan, model, "chatcmpl-" + digest, int(time.time()))
    return chat_to_response(chat, body, "resp_" + digest)


def response_stream(body: Json, model: str, digest: str) -> Frames:
    plan = replies.plan_chat(chat_body(body))
    chat = replies.chat_stream(plan, model, "chatcmpl-" + digest, int(time.time()), include_usage=True)
    translator = ChatToResponseStream(body, "resp_" + digest, model)
    events: list[bytes] = []
    for frame in chat.frames:
        payload = frame.removeprefix(b"data: ").strip()
        if payload != b"[DONE]":
            events += translator.feed(orjson.loads(payload))
    events += translator.finish()
    return Frames([_frame(event) for event in events], preamble=2)  # created and in_progress come first


def _frame(payload: bytes) -> bytes:
    kind = str(orjson.loads(payload)["type"])
    return b"event: " + kind.encode() + b"\ndata: " + payload + b"\n\n"
