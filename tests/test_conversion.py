"""Goal conversion and revenue against a brute-force reading of spec/semantics.md, on random scenarios.

The product matches events to windows with an as-of join; the oracle here pairs every row with every event,
exactly as the spec words it, and the two must agree on users, conversions, revenue and non-numeric counts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from triggerlab.campaign import Campaign
from triggerlab.conversion import campaign_uplift
from triggerlab.durations import parse_duration
from triggerlab.frames import GOAL_EVENTS_SCHEMA, OUTCOMES_SCHEMA
from triggerlab.simulation import _goal_events

# Jan 29: a one-month window from Jan 29-31 ends on Feb 28 (clamped), the edge the months rule is about.
BASE = datetime(2026, 1, 29, tzinfo=UTC)
USERS = ["u0", "u1", "u2", "u3"]
REVENUES = ["5", "2.5", " 7 ", "x", "1e3", None]

rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(["1", "2"]),
        st.sampled_from(USERS),
        st.sampled_from(["sent", "control", "expired"]),
        st.integers(0, 24 * 4),
    ),
    max_size=14,
)
events_strategy = st.lists(
    st.tuples(
        st.sampled_from(["1", "2"]),
        st.sampled_from(USERS),
        st.integers(0, 24 * 40),
        st.sampled_from(REVENUES),
    ),
    max_size=14,
)


def campaign(campaign_id: str, within: str) -> Campaign:
    return Campaign.model_validate(
        {
            "id": campaign_id,
            "name": f"c{campaign_id}",
            "channel": "push",
            "goal": {"event": "Charged", "within": within, "revenue_property": "Amount"},
            "message": {"title": "t", "body": "b"},
        }
    )


def outcomes(rows: list[tuple[str, str, str, int]]) -> pl.DataFrame:
    records = [
        {
            "request_id": str(line),
            "line": line,
            "recipient": 0,
            "campaign_id": campaign_id,
            "identity": user,
            "received_at": BASE + timedelta(hours=hours),
            "status": status,
        }
        for line, (campaign_id, user, status, hours) in enumerate(rows, start=1)
    ]
    frame = pl.DataFrame(records, schema={k: OUTCOMES_SCHEMA[k] for k in list(OUTCOMES_SCHEMA)[:7]})
    return frame.with_columns(
        pl.lit(None, dtype=OUTCOMES_SCHEMA[name]).alias(name) for name in list(OUTCOMES_SCHEMA)[7:]
    ).select(list(OUTCOMES_SCHEMA))


def oracle(
    rows: list[tuple[str, str, str, int]],
    events: list[tuple[str, str, int, str | None]],
    campaign_id: str,
    within: str,
) -> dict[str, tuple[int, int, float, int]]:
    """Per group: (users, converted users, revenue, non-numeric values), pairing every row with every event."""
    window = parse_duration(within)
    figures = {}
    for group, status in (("test", "sent"), ("control", "control")):
        mine = [(u, BASE + timedelta(hours=h)) for c, u, s, h in rows if c == campaign_id and s == status]
        converting = {
            index
            for index, (c, user, hours, _) in enumerate(events)
            if c == campaign_id
            and any(
                u == user and opens < BASE + timedelta(hours=hours) <= window.add_to(opens)
                for u, opens in mine
            )
        }
        values = [events[i][3] for i in converting]
        numbers = [v.strip() for v in values if v is not None and v.strip().replace(".", "", 1).isdigit()]
        figures[group] = (
            len({u for u, _ in mine}),
            len({events[i][1] for i in converting}),
            sum(float(n) for n in numbers),
            sum(1 for v in values if v is not None) - len(numbers),
        )
    return figures


@settings(max_examples=300, deadline=None)
@given(rows=rows_strategy, events=events_strategy, within=st.sampled_from(["1h", "1d", "2d", "1mo"]))
def test_as_of_matching_equals_every_row_against_every_event(
    rows: list[tuple[str, str, str, int]], events: list[tuple[str, str, int, str | None]], within: str
) -> None:
    goal_events = pl.DataFrame(
        [(c, u, BASE + timedelta(hours=h), r) for c, u, h, r in events],
        schema=GOAL_EVENTS_SCHEMA,
        orient="row",
    )
    found = campaign_uplift(outcomes(rows), goal_events, [campaign("1", within), campaign("2", "1d")])
    for campaign_id, campaign_within in (("1", within), ("2", "1d")):
        expected = oracle(rows, events, campaign_id, campaign_within)
        uplift = found[campaign_id]
        revenue_test = (uplift.arpu_test or 0.0) * uplift.users_test
        revenue_control = (uplift.arpu_control or 0.0) * uplift.users_control
        assert (uplift.users_test, uplift.converted_test) == expected["test"][:2]
        assert (uplift.users_control, uplift.converted_control) == expected["control"][:2]
        assert abs(revenue_test - expected["test"][2]) < 1e-9
        assert abs(revenue_control - expected["control"][2]) < 1e-9
        assert uplift.revenue_non_numeric == expected["test"][3] + expected["control"][3]


def test_revenue_numbers_are_ascii_decimals_after_trimming_unicode_white_space() -> None:
    values = ["\u200312\u2003", "-4.50", "\t7\n", "12.", ".5", "+3", "1e3", "١٢", "1,000", "", None]
    goal_events = pl.DataFrame(
        [("1", "u0", BASE + timedelta(minutes=m + 1), v) for m, v in enumerate(values)],
        schema=GOAL_EVENTS_SCHEMA,
        orient="row",
    )
    found = campaign_uplift(outcomes([("1", "u0", "sent", 0)]), goal_events, [campaign("1", "1d")])["1"]
    assert (found.users_test, found.converted_test) == (1, 1)
    assert found.arpu_test == 12 - 4.5 + 7
    # "12." ".5" "+3" "1e3" Arabic-Indic digits, "1,000" and "" are not numbers; None is unset (not counted)
    assert found.revenue_non_numeric == 7


def _events_frame(events: list[tuple[str, str, int, str | None]]) -> pl.DataFrame:
    """An events table of ``(event, identity, hours after BASE, Amount)``."""
    return pl.DataFrame(
        [(u, e, BASE + timedelta(hours=h), a) for e, u, h, a in events],
        schema={
            "identity": pl.String,
            "event": pl.String,
            "ts": pl.Datetime("us", "UTC"),
            "Amount": pl.String,
        },
        orient="row",
    )


def test_goal_events_are_those_of_reached_users_within_the_span_of_their_windows() -> None:
    rows = [
        ("1", "u0", "sent", 0),
        ("1", "u0", "sent", 48),
        ("1", "u1", "control", 10),
        ("1", "u2", "expired", 5),
    ]
    events = _events_frame(
        [
            ("Charged", "u0", 0, "1"),  # at the first trigger: no window holds it
            ("Charged", "u0", 1, "2"),
            ("Charged", "u0", 73, "3"),  # past the last window's end (48 h + 1 d)
            ("Charged", "u0", 72, "4"),  # at that end: in
            ("Charged", "u1", 11, "5"),
            ("Charged", "u2", 6, "6"),  # u2 was neither sent to nor held back
            ("Other", "u0", 2, "7"),
        ]
    )
    found = _goal_events(outcomes(rows), events, {"1": campaign("1", "1d")})
    assert found.rows() == [
        ("1", "u0", BASE + timedelta(hours=1), "2"),
        ("1", "u0", BASE + timedelta(hours=72), "4"),
        ("1", "u1", BASE + timedelta(hours=11), "5"),
    ]


@settings(max_examples=200, deadline=None)
@given(rows=rows_strategy, events=events_strategy, within=st.sampled_from(["1h", "1d", "2d", "1mo"]))
def test_the_span_cut_of_goal_events_changes_no_uplift(
    rows: list[tuple[str, str, str, int]], events: list[tuple[str, str, int, str | None]], within: str
) -> None:
    frame = outcomes(rows)
    campaigns = {"1": campaign("1", within), "2": campaign("2", "1d")}
    table = _events_frame([("Charged", u, h, r) for _, u, h, r in events])
    # every goal event of every reached user, for each campaign: what the cut leaves out cannot convert
    reached = frame.filter(pl.col("status").is_in(["sent", "control"]))
    every = pl.concat(
        [
            table.filter(
                pl.col("identity").is_in(reached.filter(pl.col("campaign_id") == cid)["identity"].implode())
            ).select(pl.lit(cid).alias("campaign_id"), "identity", "ts", pl.col("Amount").alias("revenue"))
            for cid in campaigns
        ]
    )
    listed = list(campaigns.values())
    assert campaign_uplift(frame, _goal_events(frame, table, campaigns), listed) == campaign_uplift(
        frame, every, listed
    )
