"""Which prompt version an eval run resolves from the registry, and what it does when there is no registry."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import OperationalError
from support.databases import opened
from support.prompts import prompt_doc

from gateway.db import Database
from gateway.evals import session
from gateway.evals.runner import PromptTarget
from gateway.evals.session import resolve_prompt
from gateway.prompts.registry import push
from gateway.prompts.spec import PromptSpec


def test_a_version_in_the_registry_is_resolved_with_its_content_hash(database: Database) -> None:
    push(database, [("p.yaml", PromptSpec.model_validate(prompt_doc("p")))], "tests")
    target = resolve_prompt(database, "p", None, "latest", required=True)
    assert (target.version, target.label) == (1, "latest") and target.content_hash


def test_without_registry_tables_a_remote_run_goes_on_and_says_why(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with opened(database_url, migrate=False) as empty, caplog.at_level(logging.WARNING, "gateway.evals"):
        assert resolve_prompt(empty, "p", 3, None, required=False) == PromptTarget("p", 3, None)
        with pytest.raises(OperationalError):
            resolve_prompt(empty, "p", 3, None, required=True)
    assert "no prompt registry" in caplog.text


def test_a_bug_while_resolving_is_not_taken_for_a_missing_registry(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise TypeError("a bug")

    monkeypatch.setattr(session, "get_version", broken)
    with pytest.raises(TypeError, match="a bug"):
        resolve_prompt(database, "p", None, "latest", required=False)
