"""Count tokens with tiktoken when the provider reported no usage, offline.

Contract:

* Nothing is loaded at import or construction. The first count points ``TIKTOKEN_CACHE_DIR`` at the encodings
  litellm ships (``litellm/litellm_core_utils/tokenizers/``, found without importing litellm) unless it is
  already set, then loads the encoding (a few hundred ms). Loading is guarded by a lock, so concurrent callers
  from worker threads load each encoding once. Call the counting methods from a worker thread
  (``asyncio.to_thread``): encoding is CPU work.
* Models tiktoken does not know are counted with ``cl100k_base``, as litellm does; the result is an estimate.
* ``prompt_tokens(endpoint, body)`` follows OpenAI's accounting for chat (3 tokens per message, 1 per name,
  3 to prime the reply); ``text_tokens(text)`` counts a completion's text.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tiktoken import Encoding

DEFAULT_ENCODING = "cl100k_base"
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3


def bundled_tokenizer_dir() -> Path | None:
    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "litellm_core_utils" / "tokenizers"
    return path if path.is_dir() else None


class TokenCounter:
    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache_dir = cache_dir
        self._lock = threading.Lock()
        self._encodings: dict[str, Encoding] = {}

    def encoding(self, model: str) -> Encoding:
        name = _encoding_name(model)
        found = self._encodings.get(name)
        if found is not None:
            return found
        with self._lock:
            found = self._encodings.get(name)
            if found is None:
                found = self._load(name)
                self._encodings[name] = found
        return found

    def _load(self, name: str) -> Encoding:
        directory = self._cache_dir or bundled_tokenizer_dir()
        if directory is not None:
            # setdefault: an operator's own cache directory wins over the bundled files.
            os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(directory))
        import tiktoken  # noqa: PLC0415 - tiktoken, only when a count is needed

        return tiktoken.get_encoding(name)

    def text_tokens(self, model: str, text: str) -> int:
        if not text:
            return 0
        return len(self.encoding(model).encode(text, disallowed_special=()))

    def prompt_tokens(self, model: str, endpoint: str, body: dict[str, Any]) -> int:
        if endpoint == "chat":
            return self._message_tokens(model, body.get("messages"))
        key = "prompt" if endpoint == "completions" else "input"
        return self._input_tokens(model, body.get(key))

    def _message_tokens(self, model: str, messages: Any) -> int:
        if not isinstance(messages, list):
            return 0
        total = REPLY_PRIMING
        for message in messages:
            if not isinstance(message, dict):
                continue
            total += TOKENS_PER_MESSAGE + sum(self.text_tokens(model, part) for part in _message_parts(message))
            if isinstance(message.get("name"), str):
                total += TOKENS_PER_NAME
        return total

    def _input_tokens(self, model: str, value: Any) -> int:
        if isinstance(value, str):
            return self.text_tokens(model, value)
        if isinstance(value, list):
            if value and all(isinstance(item, int) for item in value):
                return len(value)  # already token ids
            return sum(self._input_tokens(model, item) for item in value)
        return 0


def _message_parts(message: dict[str, Any]) -> list[str]:
    parts = [str(message.get("role") or ""), _content_text(message.get("content"))]
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            parts += [str(function.get("name") or ""), str(function.get("arguments") or "")]
    return parts


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        # Only text parts count; images and audio are priced differently and are not estimated here.
        return "\n".join(
            str(part.get("text") or "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def _encoding_name(model: str) -> str:
    import tiktoken.model  # noqa: PLC0415 - tiktoken

    name = model.rsplit("/", 1)[-1]
    try:
        return tiktoken.model.encoding_name_for_model(name)
    except KeyError:
        return DEFAULT_ENCODING
