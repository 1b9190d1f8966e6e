"""Eval runs and their per-case results: what ``gateway eval run`` stores and the release gate reads.

A run is one execution of one suite against one prompt version. It is written once, at the end of the run, by
the CLI (never by the gateway's request path), and never changed afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel


class EvalRun(SQLModel, table=True):
    __tablename__ = "eval_runs"
    __table_args__ = (
        Index("ix_eval_runs_suite_created", "suite", "created_at"),
        Index("ix_eval_runs_prompt", "prompt_name", "prompt_version", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=32, unique=True)
    created_at: datetime
    suite: str = Field(max_length=255)
    suite_hash: str = Field(max_length=64)
    prompt_name: str | None = Field(default=None, max_length=255)
    prompt_version: int | None = None
    label: str | None = Field(default=None, max_length=64)
    passed: bool
    pass_rate: float
    mean_score: float
    total: int
    passed_count: int
    failed_count: int
    error_count: int
    threshold: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    models: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cost_usd: float | None = None
    duration_s: float
    git_sha: str | None = Field(default=None, max_length=64)


class EvalResult(SQLModel, table=True):
    __tablename__ = "eval_results"
    __table_args__ = (Index("ix_eval_results_run", "run_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=32, foreign_key="eval_runs.run_id")
    case_id: str = Field(max_length=255)
    description: str | None = None
    model: str | None = Field(default=None, max_length=255)
    repeat: int = 0
    vars: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    output: str | None = Field(default=None, sa_column=Column(Text))
    passed: bool
    score: float
    assertions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    latency_ms: float | None = None
    cost_usd: float | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    cached: bool = False
