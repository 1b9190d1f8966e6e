"""Shared helpers for the test suite (contract validation against OpenAI's OpenAPI spec)."""
