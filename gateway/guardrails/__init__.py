"""Guardrails: policies of input and output checks (PII, secrets, prompt injection, words, JSON schemas, custom
ones) run as the pipeline stage "guardrails" (``stage.GuardrailStage``). See docs/guardrails.md."""
