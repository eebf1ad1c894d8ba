"""The DuckDB event filters' two ways of counting (a join, or one sorted pass per user) decide like the reference.

Small scenarios always take the join, so the differential test covers it; here the join is ruled out
(``PAIRS_PER_ROW`` below zero) and the sorted pass must still agree with the reference row for row.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import recorded
from tests.engine_scenarios import assert_engines_agree_on_scenarios
from triggerlab.audience import EventFilter
from triggerlab.duck import connect
from triggerlab.engine import duck_filters
from triggerlab.engine.duck_filters import event_filter_table


def test_sorted_pass_agrees_with_the_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duck_filters, "PAIRS_PER_ROW", -1)

    assert_engines_agree_on_scenarios(tmp_path, 60)


T = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
EVENTS = pl.DataFrame(
    {
        "identity": ["u1"] * 6 + ["u3"],
        "event": ["Charged"] * 5 + ["Viewed", "Charged"],
        "ts": [
            T - timedelta(days=3),
            T - timedelta(days=1, seconds=1),  # just before the window
            T - timedelta(days=1),  # the window's first instant
            T - timedelta(seconds=1),
            T,  # at the trigger: not before it
            T - timedelta(hours=1),  # another event
            T - timedelta(hours=1),  # another user
        ],
        "Amount": [100.0, 100.0, 4.0, 6.5, 100.0, 100.0, 100.0],
    },
    schema_overrides={"ts": pl.Datetime("us", "UTC")},
)
ROWS = pl.DataFrame(
    {"rid": [1, 2, 3], "identity": ["u1", "u2", "u1"], "received_at": [T, T, T - timedelta(days=1)]},
    schema_overrides={"received_at": pl.Datetime("us", "UTC")},
)


@pytest.mark.parametrize("pairs_per_row", [-1, 1_000_000], ids=["sorted", "joined"])
def test_window_counts_from_its_first_instant_to_just_before_the_trigger(
    monkeypatch: pytest.MonkeyPatch, pairs_per_row: int
) -> None:
    monkeypatch.setattr(duck_filters, "PAIRS_PER_ROW", pairs_per_row)
    rule = EventFilter.model_validate(
        {
            "event": "Charged",
            "within": "1d",
            "at_least": 2,
            "sum": {"property": "Amount", "gte": 10.5, "lte": 10.5},
        }
    )
    con = connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("events", EVENTS.to_arrow())
    con.register("batch", ROWS.to_arrow())
    event_filter_table(con, "ef", rule, "batch", EVENTS.schema)
    # rid 1: exactly the events at T-1d and T-1s (2 events, 10.5 in all); rid 2: no event; rid 3 (window
    # [T-2d, T-1d)): only the one at T-1d-1s
    assert con.sql("SELECT rid, ok FROM ef ORDER BY rid").fetchall() == [(1, True), (2, False), (3, False)]
    con.close()


def test_the_pairs_counted_are_those_a_join_makes(monkeypatch: pytest.MonkeyPatch) -> None:
    """u1 has 2 rows and 5 Charged events (10 pairs), u2 no event, u3 no row: 10 pairs in all."""
    counted = recorded(monkeypatch, duck_filters, "pair_count")
    con = connect()
    con.register("events", EVENTS.to_arrow())
    con.register("batch", ROWS.to_arrow())
    event_filter_table(con, "ef", EventFilter.model_validate({"event": "Charged"}), "batch", EVENTS.schema)
    assert counted == [10]
    con.close()
