"""Tests for the OpenAI Responses <-> chat completions translation layer."""
