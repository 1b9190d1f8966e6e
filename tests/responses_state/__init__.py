"""Tests for the stored Responses API state (gateway.responses_state)."""
