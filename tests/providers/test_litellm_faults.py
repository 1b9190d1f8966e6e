"""Which litellm failures are the adapter's own (not retried, no cooldown) and which are the provider's."""

from __future__ import annotations

import json

import pytest

from gateway.providers.litellm_provider import _local_fault


class WrappedError(Exception):
    """Stands in for litellm's mapped exception, raised inside the ``except`` that caught the original."""


def wrapped(original: BaseException) -> WrappedError:
    try:
        try:
            raise original
        except BaseException:
            raise WrappedError("litellm.APIConnectionError: ...") from None
    except WrappedError as exc:
        return exc


@pytest.mark.parametrize("original", [KeyError("type"), TypeError("bad"), AttributeError("get"), IndexError(0)])
def test_an_error_in_the_adapters_own_code_is_local(original: BaseException) -> None:
    assert _local_fault(wrapped(original)) is original


@pytest.mark.parametrize(
    "original",
    [ConnectionRefusedError(111, "refused"), TimeoutError(), json.JSONDecodeError("bad", "x", 0)],
)
def test_a_network_failure_or_a_garbled_answer_is_the_providers(original: BaseException) -> None:
    assert _local_fault(wrapped(original)) is None


def test_a_key_error_after_a_network_error_is_still_the_networks() -> None:
    def inner() -> None:
        try:
            raise ConnectionResetError()
        except ConnectionResetError:
            raise KeyError("content") from None

    try:
        inner()
    except KeyError as exc:
        assert _local_fault(wrapped(exc)) is None
