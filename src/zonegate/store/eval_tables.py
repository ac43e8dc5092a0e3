"""Tables of evaluation runs: one row per run, one per (item, attempt), and the output cache.

They live on the shared ``metadata`` so Alembic sees one schema; migration ``0002_eval_runs``
creates exactly these tables.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
)

from zonegate.store.tables import Money, UtcDateTime, metadata


def _json() -> JSON:
    return JSON(none_as_null=True)


eval_runs = Table(
    "eval_runs",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("schema_version", Integer, nullable=False),
    Column("suite_name", Text, nullable=False),
    Column("suite_version", Text, nullable=False),
    Column("suite", _json(), nullable=False),  # the suite as run: scorers, parameters, items
    Column("requested_model", Text, nullable=False),
    Column("model_identity", _json(), nullable=False),  # pinned deployment(s) behind the name
    Column("served_models", _json(), nullable=False),
    Column("config_hash", Text, nullable=False),
    Column("config_source", Text, nullable=False),
    Column("parameters", _json(), nullable=False),
    Column("repeats", Integer, nullable=False),
    Column("use_cache", Boolean, nullable=False),
    Column("packages", _json(), nullable=False),
    Column("principal", Text, nullable=False),
    Column("team", Text, nullable=False),
    Column("judge_model", Text),
    Column("status", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("summary", _json()),
)
Index("ix_eval_runs_suite_name", eval_runs.c.suite_name)

eval_results = Table(
    "eval_results",
    metadata,
    Column(
        "run_id",
        Text,
        ForeignKey("eval_runs.run_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("item_id", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("output", Text),
    Column("scores", _json(), nullable=False),
    Column("latency_ms", Float),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("cost", Money),
    Column("currency", Text),
    Column("served_model", Text),
    Column("model_id", Text),
    Column("system_fingerprint", Text),
    Column("request_id", Text),
    Column("error_code", Text),
    Column("error_message", Text),
    Column("cached", Boolean, nullable=False),
    Column("tries", Integer, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    # One row per (item, attempt): a resumed run can never record a pair twice.
    PrimaryKeyConstraint("run_id", "item_id", "attempt"),
)

eval_cache = Table(
    "eval_cache",
    metadata,
    Column("entry_id", Text, primary_key=True),
    Column("cache_key", Text, nullable=False),
    Column("model_id", Text),
    Column("served_model", Text),
    Column("system_fingerprint", Text),
    Column("output", Text, nullable=False),
    Column("latency_ms", Float),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("request_id", Text),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_eval_cache_cache_key", eval_cache.c.cache_key)
