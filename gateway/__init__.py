"""An OpenAI-compatible LLMOps gateway.

Apps point their OpenAI or Anthropic SDK at it and get routing, retries, fallbacks, cost tracking and the rest
without code changes. The engine lives here; `prompts/`, `evals/` and `guardrails/` at the repository root hold data.
"""

__version__ = "0.1.0"
