"""Unit tests of the tiktoken fallback (``gateway.costs.tokens``): offline, lazy, OpenAI's message accounting."""

from __future__ import annotations

import os
import subprocess
import sys

from gateway.costs.tokens import TokenCounter, bundled_tokenizer_dir


def test_counting_loads_nothing_until_asked_and_uses_litellms_bundled_encodings() -> None:
    # A fresh interpreter with no network: constructing a counter loads nothing; counting works offline.
    script = (
        "import os, sys\n"
        "from gateway.costs.tokens import TokenCounter\n"
        "counter = TokenCounter()\n"
        "assert 'tiktoken' not in sys.modules\n"
        "print(counter.text_tokens('gpt-4o-mini', 'hello world'), counter.text_tokens('some-model', 'hello world'))\n"
        "print(os.environ['TIKTOKEN_CACHE_DIR'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_CACHE_DIR"}
    env.update(https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9")  # any download would fail
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    counts, directory = result.stdout.splitlines()
    assert counts == "2 2"
    assert directory == str(bundled_tokenizer_dir())


def test_chat_prompts_are_counted_the_way_openai_bills_them() -> None:
    counter = TokenCounter()
    body = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello world"}]}
    words = sum(counter.text_tokens("gpt-4o-mini", text) for text in ("system", "Be brief.", "user", "hello world"))
    # 3 per message, the texts, and 3 that prime the reply.
    assert counter.prompt_tokens("gpt-4o-mini", "chat", body) == 3 * 2 + words + 3


def test_completion_and_embedding_inputs_are_counted() -> None:
    counter = TokenCounter()
    assert counter.prompt_tokens("gpt-3.5-turbo-instruct", "completions", {"prompt": "hello world"}) == 2
    assert counter.prompt_tokens("text-embedding-3-small", "embeddings", {"input": ["hello world", "hello"]}) == 3
    assert counter.prompt_tokens("text-embedding-3-small", "embeddings", {"input": [1, 2, 3, 4]}) == 4
