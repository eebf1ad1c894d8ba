"""SimulationResult on the hand-written outcome of tests/simulated.py: exact frames and the exact summary."""

from __future__ import annotations

import json
import math
from datetime import datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests import simulated
from tests.simulated import at, result
from triggerlab.campaign import Campaign, Goal
from triggerlab.errors import InputError, SimulationError
from triggerlab.frames import GOAL_EVENTS_SCHEMA, UPLIFT_SCHEMA
from triggerlab.statuses import STATUSES

NO_ROWS = dict.fromkeys(STATUSES, 0)

UPLIFT_100 = {
    # test: u1 (converts twice over overlapping windows) and u3 (converts at the window's closed end)
    "users_test": 2,
    "converted_test": 2,
    "rate_test": 1.0,
    # control: u2 converts, u6's event comes after its window
    "users_control": 2,
    "converted_control": 1,
    "rate_control": 0.5,
    "uplift_abs": 0.5,
    "uplift_rel": 1.0,
    # Wald SE = sqrt(1 * 0 / 2 + .5 * .5 / 2) = sqrt(.125)
    "ci95": [0.5 - 1.959964 * math.sqrt(0.125), 0.5 + 1.959964 * math.sqrt(0.125)],
    # pooled 3/4: SE = sqrt(.75 * .25 * (1/2 + 1/2)) = sqrt(.1875)
    "p_value": math.erfc(0.5 / math.sqrt(0.1875) / math.sqrt(2)),
    "mde": (1.959964 + 0.841621) * math.sqrt(0.5 * 0.5 * 1.0),
    # test revenue 10.5 + 20 (once, though in both of u1's windows) + 0 ("abc"); control 5 + 0 (unset)
    "arpu_test": 15.25,
    "arpu_control": 2.5,
    "incremental_revenue": (15.25 - 2.5) * 2,
    "revenue_boost_pct": (15.25 - 2.5) / 2.5 * 100,
    "revenue_non_numeric": 1,
}

REVENUE_WARNING = (
    "campaign 100: 1 converting Purchased event(s) have a non-numeric Amount value (counted as 0)"
)


def test_summary_is_exactly_the_json_summary() -> None:
    assert result().summary() == {
        "requests": 11,
        "recipients": 12,
        "statuses": NO_ROWS
        | {
            "invalid_request": 1,
            "unknown_campaign": 1,
            "control": 2,
            "target_capped": 1,
            "render_error": 1,
            "expired": 1,
            "frequency_capped": 1,
            "sent": 4,
        },
        # (100, u1), (100, u3), (200, u5)
        "users_sent": 3,
        # this run: (100, u1), (100, u3), (200, u4), (200, u5), (200, u8), (200, u9); history adds
        # (200, u10) and (100, u11); (200, u9) is in both
        "users_allotted": 8,
        "uplift": {"100": UPLIFT_100},
        "campaigns": {
            "100": {
                "statuses": NO_ROWS | {"control": 2, "target_capped": 1, "sent": 3},
                "users_sent": 2,
                "users_allotted": 3,
                "allotted_not_delivered": 0,
            },
            "200": {
                "statuses": NO_ROWS | {"render_error": 1, "expired": 1, "frequency_capped": 1, "sent": 1},
                "users_sent": 1,
                "users_allotted": 5,
                # u4 and u8; u9 was allotted by the history, before this run
                "allotted_not_delivered": 2,
            },
        },
        "warnings": [simulated.ENGINE_WARNING, REVENUE_WARNING],
    }


def test_summary_keys_are_in_the_documented_order() -> None:
    summary = result().summary()
    assert list(summary) == [
        "requests",
        "recipients",
        "statuses",
        "users_sent",
        "users_allotted",
        "uplift",
        "campaigns",
        "warnings",
    ]
    assert list(summary["statuses"]) == list(STATUSES)


def test_funnel_lists_every_status_in_rule_order_with_its_share() -> None:
    counts = [1, 1, 0, 0, 0, 0, 2, 1, 1, 0, 0, 1, 0, 1, 4]
    expected = pl.DataFrame(
        {"status": list(STATUSES), "count": counts, "share": [c / 12 for c in counts]},
        schema={"status": pl.String, "count": pl.Int64, "share": pl.Float64},
    )
    assert_frame_equal(result().funnel(), expected)


def test_funnel_by_campaign_has_a_column_per_campaign_then_other_and_total() -> None:
    def column(**counts: int) -> list[int]:
        return [counts.get(status, 0) for status in STATUSES]

    expected = pl.DataFrame(
        {
            "status": list(STATUSES),
            "100": column(control=2, target_capped=1, sent=3),
            "200": column(render_error=1, expired=1, frequency_capped=1, sent=1),
            "other": column(invalid_request=1, unknown_campaign=1),
            "total": column(
                invalid_request=1,
                unknown_campaign=1,
                control=2,
                target_capped=1,
                render_error=1,
                expired=1,
                frequency_capped=1,
                sent=4,
            ),
        },
        schema={"status": pl.String, "100": pl.Int64, "200": pl.Int64, "other": pl.Int64, "total": pl.Int64},
    )
    assert_frame_equal(result().funnel(by_campaign=True), expected)


def test_funnel_of_an_empty_run_has_zero_counts_and_null_shares() -> None:
    empty = result(outcomes=simulated.outcomes().clear(), goal_events=pl.DataFrame(schema=GOAL_EVENTS_SCHEMA))
    funnel = empty.funnel()
    assert funnel["count"].to_list() == [0] * 15
    assert funnel["share"].to_list() == [None] * 15


TIMELINE_SCHEMA = {
    "period": pl.Datetime("us", "UTC"),
    "campaign_id": pl.String,
    "sent": pl.Int64,
    "delayed": pl.Int64,
}


def test_timeline_per_hour_in_utc() -> None:
    expected = pl.DataFrame(
        [
            (at(1, 10), "100", 1, 0),
            (at(1, 10), "200", 1, 0),
            (at(1, 20), "100", 1, 0),
            (at(2, 9), "100", 1, 1),
        ],
        schema=TIMELINE_SCHEMA,
        orient="row",
    )
    assert_frame_equal(result().timeline("1h"), expected)


def test_timeline_per_day_in_utc() -> None:
    expected = pl.DataFrame(
        [(at(1, 0), "100", 2, 0), (at(1, 0), "200", 1, 0), (at(2, 0), "100", 1, 1)],
        schema=TIMELINE_SCHEMA,
        orient="row",
    )
    assert_frame_equal(result().timeline("1d"), expected)


def test_timeline_in_local_wall_clock_time() -> None:
    # u5 (New York) got hers at 05:30 local; u1 (Kolkata) at 15:30 and 01:30 the next day; u3 (UTC) at 09:00
    expected = pl.DataFrame(
        [
            (datetime(2026, 11, 1, 5), "200", 1, 0),
            (datetime(2026, 11, 1, 15), "100", 1, 0),
            (datetime(2026, 11, 2, 1), "100", 1, 0),
            (datetime(2026, 11, 2, 9), "100", 1, 1),
        ],
        schema=TIMELINE_SCHEMA | {"period": pl.Datetime("us")},
        orient="row",
    )
    assert_frame_equal(result().timeline("1h", local=True), expected)


@pytest.mark.parametrize("every", ["1mo", "30s", "0h", "hourly"])
def test_timeline_refuses_other_periods(every: str) -> None:
    with pytest.raises(InputError, match="every"):
        result().timeline(every)


def test_allotted_not_delivered_leaves_out_history_users() -> None:
    expected = pl.DataFrame({"campaign_id": ["200", "200"], "identity": ["u4", "u8"]})
    assert_frame_equal(result().allotted_not_delivered(), expected)


def test_uplift_frame_has_a_row_per_campaign_with_a_goal() -> None:
    expected = pl.DataFrame([{"campaign_id": "100", **UPLIFT_100}], schema=UPLIFT_SCHEMA, orient="row")
    assert_frame_equal(result().uplift(), expected)


def _with_goal(**changes: object) -> list[Campaign]:
    """The scenario's campaigns, campaign 100's goal changed."""
    nudge, receipt = simulated.CAMPAIGNS
    goal = Goal.model_validate(nudge.goal.model_dump() | changes) if nudge.goal else None
    return [nudge.model_copy(update={"goal": goal}), receipt]


def test_uplift_of_a_goal_without_revenue_property_has_null_revenue() -> None:
    figures = result(campaigns=_with_goal(revenue_property=None)).summary()["uplift"]["100"]
    assert {k: figures[k] for k in ("arpu_test", "arpu_control", "incremental_revenue")} == dict.fromkeys(
        ("arpu_test", "arpu_control", "incremental_revenue")
    )
    assert (figures["revenue_boost_pct"], figures["revenue_non_numeric"]) == (None, None)
    assert (figures["converted_test"], figures["converted_control"]) == (2, 1)


def test_goal_window_in_months_is_calendar_months() -> None:
    # u6's event on Nov 3 is outside a 1d window but inside 1mo (Nov 1 10:00 .. Dec 1 10:00].
    figures = result(campaigns=_with_goal(within="1mo")).summary()["uplift"]["100"]
    assert (figures["converted_test"], figures["converted_control"]) == (2, 2)
    # every u1 event after 10:00 now counts (1000 is at received_at: still out), u6 adds 7
    assert (figures["arpu_test"], figures["arpu_control"]) == ((10.5 + 20) / 2, (5 + 7) / 2)


def test_warnings_are_the_engine_ones_then_non_numeric_revenue() -> None:
    assert result().warnings == [simulated.ENGINE_WARNING, REVENUE_WARNING]
    assert result(warnings=[]).warnings == [REVENUE_WARNING]


def test_repr_names_the_headline_figures() -> None:
    assert repr(result()) == "<SimulationResult requests=11 recipients=12 sent=4 campaigns=2>"


def test_reasons_count_rows_per_status_and_reason_in_rule_order() -> None:
    expected = pl.DataFrame(
        [
            ("invalid_request", "the line is not a JSON object", 1),
            ("unknown_campaign", "campaign 999 is not among the campaigns simulated", 1),
            ("control", "in the campaign control group", 2),
            ("target_capped", "targeting cap of 100 users reached", 1),
            ("render_error", "subject: Liquid error", 1),
            ("expired", "delivery after schedule.end", 1),
            ("frequency_capped", "email cap 1 per day is full", 1),
            ("sent", None, 4),
        ],
        schema={"status": pl.String, "reason": pl.String, "count": pl.Int64},
        orient="row",
    )
    assert_frame_equal(result().reasons(), expected)


def test_outcomes_with_other_columns_are_refused_with_what_differs() -> None:
    wrong = simulated.outcomes().with_columns(pl.col("line").cast(pl.Int32))
    with pytest.raises(SimulationError) as caught:
        result(outcomes=wrong)
    assert "outcomes must have the columns request_id String, line Int64," in str(caught.value)
    assert "(got request_id String, line Int32," in str(caught.value)


def test_a_campaign_without_id_is_refused() -> None:
    draft = simulated.CAMPAIGNS[1].model_copy(update={"id": None})
    with pytest.raises(SimulationError, match=r"every simulated campaign needs an id \(no id: Receipt\)"):
        result(campaigns=[draft])


def test_defaults_give_empty_goal_events_and_history() -> None:
    bare = result(goal_events=None, history_allotted=None, warnings=())
    summary = bare.summary()
    assert summary["users_allotted"] == 6
    assert summary["uplift"]["100"]["converted_test"] == 0
    assert summary["warnings"] == []
    assert bare.messages is None


def test_outcomes_with_a_status_outside_the_rules_are_refused() -> None:
    odd = simulated.outcomes().with_columns(
        pl.when(pl.col("line") == 3).then(pl.lit("bounced")).otherwise(pl.col("status")).alias("status")
    )
    with pytest.raises(SimulationError, match=r"^outcomes hold statuses that are not in STATUSES: bounced$"):
        result(outcomes=odd)


def test_summary_is_plain_json() -> None:
    summary = result().summary()
    assert json.loads(json.dumps(summary, allow_nan=False)) == summary


def test_summary_is_a_copy_the_caller_may_change() -> None:
    first = result()
    first.summary()["statuses"]["sent"] = 0
    assert first.summary()["statuses"]["sent"] == 4
