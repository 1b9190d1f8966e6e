"""Tests for the Anthropic Messages <-> OpenAI chat translation layer."""
