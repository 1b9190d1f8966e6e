"""How the Responses API is served for chat-only models: litellm's bridge against the gateway's own translation.

Both turn a Responses request into a chat request and a chat answer into a ``response`` object; this times one
round trip of each (a tool conversation of six input items and one function tool, and an answer with text and a
tool call), in process, and the one-off cost of importing litellm, which the gateway's own translation avoids for
fast-path models (vLLM, Ollama, Groq...). Prints Markdown; nothing here asserts on time.

    .venv/bin/python bench/responses_translation.py [--rounds 2000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from gateway.responses_compat import chat_to_response, responses_to_chat

REQUEST: dict[str, Any] = {
    "model": "claude-sonnet",
    "instructions": "You are brief.",
    "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "What is the weather in Paris and in Rome?"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me check."}]},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny, 21 C"},
        {"type": "function_call", "call_id": "call_2", "name": "get_weather", "arguments": '{"city":"Rome"}'},
        {"type": "function_call_output", "call_id": "call_2", "output": "cloudy, 18 C"},
    ],
    "tools": [{"type": "function", "name": "get_weather", "description": "Weather for a city", "strict": True,
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                              "additionalProperties": False}}],
    "max_output_tokens": 200,
    "temperature": 0.2,
}
CHAT: dict[str, Any] = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "claude-sonnet",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "Paris is sunny; checking one more.",
        "tool_calls": [{"id": "call_3", "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}]}}],
    "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
}


def own() -> None:
    responses_to_chat(REQUEST)
    chat_to_response(CHAT, REQUEST, "resp_1")


def litellm_bridge() -> Callable[[], None]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from litellm.responses.litellm_completion_transformation.transformation import (  # noqa: PLC0415 - litellm
        LiteLLMCompletionResponsesConfig as Bridge,
    )

    params = {k: v for k, v in REQUEST.items() if k not in ("model", "input")}

    def run() -> None:
        Bridge.transform_responses_api_request_to_chat_completion_request(
            model="anthropic/claude-sonnet-4-5", input=REQUEST["input"], responses_api_request=params,
            custom_llm_provider="anthropic",
        )
        Bridge.transform_chat_completion_response_to_responses_api_response(REQUEST["input"], params, dict(CHAT))

    return run


def per_call_us(fn: Callable[[], None], rounds: int) -> float:
    for _ in range(min(200, rounds)):
        fn()
    started = time.process_time()
    for _ in range(rounds):
        fn()
    return (time.process_time() - started) / rounds * 1e6


def import_seconds() -> float:
    code = "import os,time;os.environ['LITELLM_LOCAL_MODEL_COST_MAP']='True';t=time.perf_counter();import litellm;" \
           "print(time.perf_counter()-t)"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    rounds = parser.parse_args().rounds
    ours = per_call_us(own, rounds)
    theirs = per_call_us(litellm_bridge(), rounds)
    print("| translation (request + answer, one round trip) | CPU per round trip |")
    print("| --- | --- |")
    print(f"| gateway's own (`gateway.responses_compat`) | {ours:.1f} µs |")
    print(f"| litellm's Responses bridge | {theirs:.1f} µs ({theirs / ours:.1f}x) |")
    print(f"\nImporting litellm (needed for its bridge, not for fast-path models): {import_seconds():.1f} s")


if __name__ == "__main__":
    main()
