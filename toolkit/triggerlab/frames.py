"""The frames a simulation hands to :class:`~triggerlab.results.SimulationResult`: schemas and their check.

The simulator builds these (docs: contracts between simulator and results); the result refuses a frame whose
columns or types differ, so a mismatch shows up where it is made and not as a wrong number in a report.
"""

from __future__ import annotations

import polars as pl

from triggerlab.errors import SimulationError

__all__ = [
    "GOAL_EVENTS_SCHEMA",
    "HISTORY_ALLOTTED_SCHEMA",
    "MESSAGES_SCHEMA",
    "OUTCOMES_SCHEMA",
    "UPLIFT_SCHEMA",
    "check_frame",
    "empty",
]

_UTC = pl.Datetime("us", "UTC")

#: one row per recipient, sorted by line then recipient (spec/semantics.md, "Outcome columns")
OUTCOMES_SCHEMA = pl.Schema(
    [
        ("request_id", pl.String()),
        ("line", pl.Int64()),
        ("recipient", pl.Int64()),
        ("campaign_id", pl.String()),
        ("identity", pl.String()),
        ("received_at", _UTC),
        ("status", pl.String()),
        ("reason", pl.String()),
        ("bucket", pl.Int64()),
        ("delivery_at", _UTC),
        ("delivery_local", pl.String()),
        ("delayed", pl.Boolean()),
        ("missing_keys", pl.List(pl.String())),
        ("converted", pl.Boolean()),
    ]
)

#: the goal events that can convert users in a campaign's sent or control rows (after the campaign's first
#: such trigger, up to its last one's window end); ``revenue`` is the raw value as text
GOAL_EVENTS_SCHEMA = pl.Schema(
    [("campaign_id", pl.String()), ("identity", pl.String()), ("ts", _UTC), ("revenue", pl.String())]
)

#: distinct (campaign, user) pairs of the delivery history, for the simulated campaigns
HISTORY_ALLOTTED_SCHEMA = pl.Schema([("campaign_id", pl.String()), ("identity", pl.String())])

#: rendered messages (render "sample" or "all"); ``fields`` is the JSON text of RenderedMessage.fields
MESSAGES_SCHEMA = pl.Schema(
    [
        ("request_id", pl.String()),
        ("recipient", pl.Int64()),
        ("campaign_id", pl.String()),
        ("identity", pl.String()),
        ("status", pl.String()),
        ("delivery_at", _UTC),
        ("fields", pl.String()),
    ]
)

#: ``SimulationResult.uplift()``: the campaign id, then every key of the JSON summary's uplift object
UPLIFT_SCHEMA = pl.Schema(
    [
        ("campaign_id", pl.String()),
        ("users_test", pl.Int64()),
        ("converted_test", pl.Int64()),
        ("rate_test", pl.Float64()),
        ("users_control", pl.Int64()),
        ("converted_control", pl.Int64()),
        ("rate_control", pl.Float64()),
        ("uplift_abs", pl.Float64()),
        ("uplift_rel", pl.Float64()),
        ("ci95", pl.List(pl.Float64())),
        ("p_value", pl.Float64()),
        ("mde", pl.Float64()),
        ("arpu_test", pl.Float64()),
        ("arpu_control", pl.Float64()),
        ("incremental_revenue", pl.Float64()),
        ("revenue_boost_pct", pl.Float64()),
        ("revenue_non_numeric", pl.Int64()),
    ]
)


def empty(schema: pl.Schema) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def check_frame(name: str, frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """Return ``frame`` when its columns and types are ``schema``'s, in order; else raise SimulationError."""
    if frame.schema == schema:
        return frame
    got = ", ".join(f"{column} {dtype}" for column, dtype in frame.schema.items())
    want = ", ".join(f"{column} {dtype}" for column, dtype in schema.items())
    raise SimulationError(f"{name} must have the columns {want} (got {got})")
