"""OpenAI Responses API <-> OpenAI chat completions, both ways, for ``POST /v1/responses`` on chat-only models.

Pure translation: no I/O, no litellm, no module state. ``responses_to_chat`` turns the request around (raising
``ResponsesRequestError`` for a 400), ``chat_to_response`` the non-streamed answer, ``ChatToResponseStream`` the
streamed one (the API's typed events). ``input_items`` reads a request's ``input`` as items, which the gateway
stores for ``previous_response_id``.
"""

from gateway.responses_compat.request import ResponsesRequestError, input_items, responses_to_chat
from gateway.responses_compat.response import chat_to_response, new_id
from gateway.responses_compat.stream import ChatToResponseStream

__all__ = [
    "ChatToResponseStream",
    "ResponsesRequestError",
    "chat_to_response",
    "input_items",
    "new_id",
    "responses_to_chat",
]
