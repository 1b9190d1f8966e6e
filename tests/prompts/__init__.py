"""Tests of versioned prompts (gateway.prompts)."""
