"""The DuckDB engine's cut of the events table: the times each event name can matter, and the rows kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from polars.testing import assert_frame_equal

from triggerlab.campaign import Campaign
from triggerlab.engine.duck_events import event_spans, relevant_events

FIRST = datetime(2026, 11, 1, tzinfo=UTC)
LAST = datetime(2026, 11, 20, tzinfo=UTC)


def _campaign(cid: str, filters: list[dict[str, object]], goal: dict[str, str] | None) -> Campaign:
    data: dict[str, object] = {
        "id": cid,
        "name": f"c{cid}",
        "channel": "push",
        "message": {"title": "t", "body": "b"},
        "audience": {"filters": filters},
    }
    if goal is not None:
        data["goal"] = goal
    return Campaign.model_validate(data)


CAMPAIGNS = {
    "1": _campaign(
        "1",
        [{"event": "App Launched", "at_least": 2, "within": "7d"}],
        {"event": "Charged", "within": "2d"},
    ),
    "2": _campaign(
        "2",
        [
            {"event": "Charged", "within": "1mo", "sum": {"property": "Amount", "gte": 10}},
            {"event": "Viewed", "where": [{"property": "page", "op": "equals", "value": "home"}]},
        ],
        None,
    ),
    "3": _campaign("3", [{"event": "Never", "within": "1d"}], None),
}


def test_spans_per_name_widen_over_campaigns_and_months_take_31_days_and_one() -> None:
    received = {"1": (FIRST, LAST), "2": (FIRST + timedelta(days=5), LAST - timedelta(days=5))}
    assert event_spans(CAMPAIGNS, received) == {
        "App Launched": (FIRST - timedelta(days=7), LAST),
        # the goal of 1 (after its triggers, up to 2 days) and the 1mo filter of 2 (before its triggers)
        "Charged": (FIRST + timedelta(days=5) - timedelta(days=32), LAST + timedelta(days=2)),
        # no window: every earlier event counts
        "Viewed": (None, LAST - timedelta(days=5)),
    }


EVENTS = pl.DataFrame(
    {
        "identity": ["u1", "u1", "u2", "u3", "u1", "u2", "u1"],
        "event": ["App Launched", "App Launched", "Charged", "App Launched", "Viewed", "Other", "Charged"],
        "ts": [
            FIRST - timedelta(days=8),  # before the App Launched window
            FIRST - timedelta(days=7),  # its first instant
            FIRST,
            FIRST,  # u3 is not in the batch
            FIRST - timedelta(days=400),  # Viewed has no window
            FIRST,  # no filter or goal names Other
            LAST + timedelta(days=3),  # past the goal window
        ],
        "Amount": [None, None, 12.5, None, None, 1.0, 3.0],
        "page": ["a", "b", None, None, "home", None, None],
        "unused": [1, 2, 3, 4, 5, 6, 7],
    },
    schema_overrides={"ts": pl.Datetime("us", "UTC")},
)


def test_kept_rows_are_the_batch_users_events_in_their_name_s_span_with_the_columns_filters_read() -> None:
    spans = event_spans(CAMPAIGNS, {"1": (FIRST, LAST), "2": (FIRST, LAST)})
    users = pl.Series("identity", ["u1", "u2"])
    expected = EVENTS.select("identity", "event", "ts", "Amount", "page")[[1, 2, 4]]
    # both orders of the two tests (identity first for a small batch, names and times first for a large one)
    for population in (100, 3):
        kept = relevant_events(EVENTS, users, population, spans, CAMPAIGNS)
        assert_frame_equal(kept, expected)


def test_a_batch_naming_nearly_every_user_is_not_cut_by_identity() -> None:
    spans = event_spans(CAMPAIGNS, {"1": (FIRST, LAST), "2": (FIRST, LAST)})
    # two users of two: u3's event in its name's span stays (joins drop it later; a set lookup would cost more)
    kept = relevant_events(EVENTS, pl.Series("identity", ["u1", "u2"]), 2, spans, CAMPAIGNS)
    assert_frame_equal(kept, EVENTS.select("identity", "event", "ts", "Amount", "page")[[1, 2, 3, 4]])


def test_no_named_event_keeps_no_row() -> None:
    kept = relevant_events(EVENTS, pl.Series("identity", ["u1"]), 10, {}, CAMPAIGNS)
    assert kept.columns == ["identity", "event", "ts", "Amount", "page"]
    assert kept.is_empty()
