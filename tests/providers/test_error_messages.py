"""Provider error messages as the client sees them: no traceback, no litellm decoration, bounded (issue 8,
defect 10)."""

from __future__ import annotations

import pytest

from gateway.providers.messages import MAX_MESSAGE, clean_message

TRACE = 'Traceback (most recent call last):\n  File "/srv/gateway/x.py", line 3, in f\n    raise KeyError("type")\n'


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("litellm.APIConnectionError: 'type'\n" + TRACE, "'type'"),
        (
            'litellm.BadRequestError: AnthropicException - {"type":"error","error":{"type":"invalid_request_error",'
            '"message":"max_tokens: too big"}}',
            "max_tokens: too big",
        ),
        (
            "litellm.InternalServerError: AnthropicException - Server disconnected. "
            "Handle with `litellm.InternalServerError`.",
            "Server disconnected",
        ),
        ("bad input\n" + TRACE, "bad input"),
        ('boom\n  File "/srv/app.py", line 9, in handler\n    raise', "boom"),
        (
            "'content'\nKeyError: 'content'\nThis looks like a bug in LiteLLM rather than in your request. https://x",
            "'content' KeyError: 'content'",
        ),
        ("Internal error. Received Model Group=gpt-4o\nAvailable Model Group Fallbacks=None", "Internal error."),
        (
            "litellm.UnsupportedParamsError: anthropic does not support parameters: ['n'], for model=x. To drop "
            "these, set `litellm.drop_params=True` or for proxy: ... send allowed_openai_params=['n']",
            "anthropic does not support parameters: ['n'], for model=x.",
        ),
        ("plain provider message", "plain provider message"),
        ("", "no message"),
    ],
)
def test_keeps_the_providers_words_only(raw: str, clean: str) -> None:
    assert clean_message(raw) == clean


def test_is_bounded() -> None:
    cleaned = clean_message("x" * 100_000)
    assert len(cleaned) == MAX_MESSAGE and cleaned.endswith("…")
