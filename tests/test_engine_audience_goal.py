"""Audience filters, event filters, goals and rule 9 in both engines: the edges the rule tests leave open.

Every case runs the reference and the DuckDB engine on the same inputs; they must agree row for row, and the
decided column must be exactly the one spec/semantics.md gives.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from tests.test_engine_rules import (
    EVENTS_SCHEMA,
    PROFILES,
    UTC_TS,
    batch_file,
    campaign,
    request,
    run_both,
    t,
)
from triggerlab.campaign import Campaign
from triggerlab.engine.inputs import RenderMode
from triggerlab.engine.tables import load_profiles
from triggerlab.settings import Settings

USERS = ["u1", "u2", "u3", "u4"]


def both(
    tmp_path: Path,
    campaigns: list[Campaign],
    lines: list[str],
    *,
    profiles: pl.DataFrame = PROFILES,
    events: pl.DataFrame | None = None,
    settings: Settings | None = None,
    render: RenderMode = "all",
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Run both engines; their outcomes and messages must be equal; return the reference's."""
    reference, duck = run_both(
        batch_file(tmp_path, lines),
        campaigns,
        profiles=profiles,
        events=events,
        settings=settings,
        render=render,
    )
    left, right = duck.outcomes, reference.outcomes
    if render != "all":  # the reference renders every row; DuckDB only those whose status can depend on it
        left, right = left.drop("missing_keys"), right.drop("missing_keys")
    assert_frame_equal(left, right)
    if reference.messages is None or duck.messages is None:
        assert reference.messages is None and duck.messages is None
    else:
        assert_frame_equal(duck.messages, reference.messages)
    return reference.outcomes, reference.messages


def statuses(tmp_path: Path, filters: list[dict[str, Any]], *, match: str = "all", **extra: Any) -> list[str]:
    """The status of u1..u4, triggered together, under one campaign with these audience filters."""
    audience = {"match": match, "filters": filters}
    outcomes, _ = both(tmp_path, [campaign(audience=audience)], [request({"identity": USERS})], **extra)
    return outcomes["status"].to_list()


IN, OUT = "sent", "not_in_segment"


def events_of(*rows: tuple[str, str, str], **columns: list[Any]) -> pl.DataFrame:
    """Events (identity, event, ts as ISO text) with optional property columns."""
    data: dict[str, Any] = {
        "identity": [r[0] for r in rows],
        "event": [r[1] for r in rows],
        "ts": [t(r[2]) for r in rows],
        **columns,
    }
    return pl.DataFrame(data).with_columns(pl.col("ts").cast(UTC_TS))


# ---- real bugs: typed profile values the two engines read differently -------------------------------


def test_time_properties_compare_as_python_iso_text(tmp_path: Path) -> None:
    """Parquet and polars profiles keep their types; a time compares as its ISO text (spec: "dates as ISO
    text"), the text Python's isoformat writes. DuckDB wrote ``2026-01-01 00:00:00+00`` and ``10:00:00.1``,
    so a filter on a timestamp column disagreed with the reference."""
    profiles = PROFILES.with_columns(
        pl.Series(
            "joined", [datetime(2026, 1, 1, tzinfo=UTC), None, datetime(2026, 1, 1, 0, 0, 0, 5, UTC), None]
        ),
        pl.Series(
            "signup", [datetime(2026, 7, 1, 12, 30), None, None, datetime(2026, 7, 1, 12, 30, 0, 100000)]
        ),
        pl.Series("local", [datetime(2026, 1, 1, 2, 0, tzinfo=UTC)] * 4).dt.convert_time_zone(
            "America/St_Johns"
        ),
        pl.Series("opens", [time(9, 0), time(9, 0, 0, 100000), None, time(23, 59, 59)]),
        pl.Series("born", [date(2000, 1, 1), date(1999, 12, 31), None, date(2000, 1, 2)]),
    )
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"property": "joined", "op": "equals", "value": "2026-01-01T00:00:00+00:00"}, [IN, OUT, OUT, OUT]),
        ({"property": "joined", "op": "contains", "value": "00:00:00.000005+00:00"}, [OUT, OUT, IN, OUT]),
        (
            {
                "property": "signup",
                "op": "in",
                "value": ["2026-07-01T12:30:00", "2026-07-01T12:30:00.100000"],
            },
            [IN, OUT, OUT, IN],
        ),
        # the value in the column's zone, with its offset (a negative half-hour one)
        ({"property": "local", "op": "equals", "value": "2025-12-31T22:30:00-03:30"}, [IN, IN, IN, IN]),
        ({"property": "opens", "op": "contains", "value": ".100000"}, [OUT, IN, OUT, OUT]),
        ({"property": "born", "op": "gte", "value": "2000-01-01"}, [IN, OUT, OUT, IN]),
    ]
    got = segments(tmp_path, [rule for rule, _ in cases], profiles=profiles)
    assert got == [expected for _, expected in cases]


def test_time_event_properties_compare_as_python_iso_text(tmp_path: Path) -> None:
    events = events_of(
        ("u1", "Charged", "2026-11-01T00:00:00Z"),
        ("u2", "Charged", "2026-11-01T00:00:00Z"),
        paid=[datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)],
    )
    where = [{"property": "paid", "op": "equals", "value": "2026-01-01T00:00:00+00:00"}]
    assert statuses(tmp_path, [{"event": "Charged", "where": where}], events=events) == [IN, OUT, OUT, OUT]


def test_categorical_text_compares_numerically_like_plain_text(tmp_path: Path) -> None:
    """A categorical (or enum) column holds text: " 9" and "10" are the numbers 9 and 10 (spec: numeric when
    both parse as decimal numbers). DuckDB compared them as text only, so "10" was not greater than 9."""
    profiles = PROFILES.with_columns(pl.Series("tier", ["10", " 9", None, "abc"], dtype=pl.Categorical))
    assert statuses(tmp_path, [{"property": "tier", "op": "gt", "value": 9}], profiles=profiles) == [
        IN,
        OUT,
        OUT,
        IN,
    ]
    assert statuses(tmp_path, [{"property": "tier", "op": "equals", "value": 9}], profiles=profiles) == [
        OUT,
        IN,
        OUT,
        OUT,
    ]


def test_float32_text_is_the_double_it_holds(tmp_path: Path) -> None:
    """Python reads a float32 0.1 as 0.10000000149011612 and compares that text; DuckDB wrote 0.1."""
    profiles = PROFILES.with_columns(pl.Series("score", [0.1, 1.5, None, 100.0], dtype=pl.Float32))
    found = statuses(
        tmp_path, [{"property": "score", "op": "contains", "value": "0000000149"}], profiles=profiles
    )
    assert found == [IN, OUT, OUT, OUT]


def test_nan_and_infinite_values_compare_as_text(tmp_path: Path) -> None:
    """NaN and the infinities are no decimal number: they compare as their text (``nan``, ``inf``,
    ``-inf``), as in DuckDB, whose DECIMAL cannot hold them. The reference raised InvalidOperation on
    ``nan > 0`` and ordered ``-inf`` as a number, against DuckDB's text."""
    profiles = PROFILES.with_columns(pl.Series("score", [float("nan"), 1.0, float("-inf"), float("inf")]))
    assert statuses(tmp_path, [{"property": "score", "op": "gt", "value": 0}], profiles=profiles) == [
        IN,
        IN,
        OUT,
        IN,
    ]
    # as text, "-inf" > "-10" ("i" after "1")
    assert statuses(tmp_path, [{"property": "score", "op": "gt", "value": -10}], profiles=profiles) == [
        IN,
        IN,
        IN,
        IN,
    ]
    events = events_of(
        ("u1", "Charged", "2026-11-01T00:00:00Z"),
        ("u1", "Charged", "2026-11-01T01:00:00Z"),
        Amount=[float("nan"), 5.0],
    )
    total = {"event": "Charged", "sum": {"property": "Amount", "gte": 5, "lte": 5}}
    assert statuses(tmp_path, [total], events=events) == [IN, OUT, OUT, OUT]


def test_events_without_a_time_are_read_by_no_filter_and_no_goal(tmp_path: Path) -> None:
    """An events CSV with an empty ``ts`` cell loads as a null time; DuckDB skipped such events, the reference
    raised TypeError comparing None with the trigger time."""
    events = pl.DataFrame(
        {
            "identity": ["u1", "u2", "u2"],
            "event": ["Charged"] * 3,
            "ts": [None, t("2026-11-01T00:00:00Z"), t("2026-11-02T07:00:00Z")],
        },
        schema=EVENTS_SCHEMA,
    )
    goal = {"event": "Charged", "within": "1d"}
    audience = {"filters": [{"event": "Charged", "did": False}]}
    outcomes, _ = both(
        tmp_path,
        [campaign(goal=goal, audience=audience)],
        [request({"identity": ["u1", "u2"]})],
        events=events,
    )
    assert outcomes.select("identity", "status", "converted").rows() == [
        ("u1", "sent", False),
        ("u2", "not_in_segment", None),
    ]


# ---- rule 5: property operators ------------------------------------------------------------------------


def segments(
    tmp_path: Path,
    filters: list[dict[str, Any]],
    *,
    match: str = "all",
    profiles: pl.DataFrame = PROFILES,
    events: pl.DataFrame | None = None,
) -> list[list[str]]:
    """For each filter alone (one campaign each, in one run), the status of u1..u4 triggered together."""
    campaigns = [
        campaign(str(600 + n), audience={"match": match, "filters": [rule]}) for n, rule in enumerate(filters)
    ]
    lines = [request({"identity": USERS}, cid=str(600 + n)) for n in range(len(filters))]
    outcomes, _ = both(tmp_path, campaigns, lines, profiles=profiles, events=events)
    return [outcomes.filter(pl.col("line") == n + 1)["status"].to_list() for n in range(len(filters))]


def test_property_operators_on_text_numbers_booleans_and_unset_values(tmp_path: Path) -> None:
    """name is unset for u2; plan is pro/free/pro/team; code is text: "5", a 9 wrapped in Unicode white
    space, "5." (not a number: text) and "abc"; flag is a boolean (text true/false, never a number)."""
    profiles = PROFILES.with_columns(
        pl.Series("code", ["5", "\u00a09\u2003", "5.", "abc"]),
        pl.Series("flag", [True, False, None, True]),
    )
    cases: list[tuple[dict[str, Any], list[str]]] = [
        # unset: not_equals, not_in and not_exists hold, every other operator fails
        ({"property": "name", "op": "not_in", "value": ["Asha"]}, [OUT, IN, IN, IN]),
        ({"property": "name", "op": "not_equals", "value": "Asha"}, [OUT, IN, IN, IN]),
        ({"property": "name", "op": "not_exists"}, [OUT, IN, OUT, OUT]),
        ({"property": "name", "op": "lt", "value": "Z"}, [IN, OUT, IN, IN]),
        # a column the table does not have is never set
        ({"property": "nowhere", "op": "not_in", "value": ["x"]}, [IN, IN, IN, IN]),
        ({"property": "nowhere", "op": "exists"}, [OUT, OUT, OUT, OUT]),
        # not_in is none of the values
        ({"property": "plan", "op": "not_in", "value": ["pro", "team"]}, [OUT, IN, OUT, OUT]),
        # contains is case-sensitive
        ({"property": "plan", "op": "contains", "value": "Pro"}, [OUT, OUT, OUT, OUT]),
        ({"property": "plan", "op": "contains", "value": "ea"}, [OUT, OUT, OUT, IN]),
        # numbers once trimmed of Unicode white space; "5." is text, "5." = 5 is false
        ({"property": "code", "op": "equals", "value": 9}, [OUT, IN, OUT, OUT]),
        ({"property": "code", "op": "in", "value": [5]}, [IN, OUT, OUT, OUT]),
        # gte holds at equality; text against a number compares as text ("abc" > "5")
        ({"property": "code", "op": "gte", "value": 5}, [IN, IN, IN, IN]),
        ({"property": "code", "op": "gt", "value": 5}, [OUT, IN, IN, IN]),
        ({"property": "code", "op": "lte", "value": "5"}, [IN, OUT, OUT, OUT]),
        # booleans are the text true/false, not 1/0
        ({"property": "flag", "op": "equals", "value": 1}, [OUT, OUT, OUT, OUT]),
        ({"property": "flag", "op": "equals", "value": "true"}, [IN, OUT, OUT, IN]),
    ]
    got = segments(tmp_path, [rule for rule, _ in cases], profiles=profiles)
    assert got == [expected for _, expected in cases]


def test_no_filters_let_everyone_in_under_any_too(tmp_path: Path) -> None:
    assert statuses(tmp_path, [], match="any") == [IN, IN, IN, IN]


# ---- rule 5: event filters -----------------------------------------------------------------------------


def test_event_filter_counts_where_sums_and_averages(tmp_path: Path) -> None:
    """u1 bought once (0.1, Shoes), u2 twice (4 and 6, Hats), u3 and u4 never; the trigger is after all."""
    events = events_of(
        ("u1", "Charged", "2026-11-01T00:00:00Z"),
        ("u2", "Charged", "2026-11-01T00:00:00Z"),
        ("u2", "Charged", "2026-11-01T01:00:00Z"),
        ("u4", "Viewed", "2026-11-01T01:00:00Z"),
        Amount=["0.1", "4", "6", None],
        Score=[1.0, 4.0, 6.0, 100.0],
        Category=["Shoes", "Hats", "Hats", "Shoes"],
    )
    cases: list[tuple[dict[str, Any], list[str]]] = [
        # the average of no events is 0, which passes lte 5
        ({"event": "Charged", "at_most": 0, "avg": {"property": "Amount", "lte": 5}}, [OUT, OUT, IN, IN]),
        ({"event": "Charged", "at_most": 1}, [IN, OUT, IN, IN]),
        ({"event": "Charged", "exactly": 2, "at_least": 1}, [OUT, IN, OUT, OUT]),
        ({"event": "Charged", "did": False, "at_least": 2}, [IN, OUT, IN, IN]),
        (
            {"event": "Charged", "where": [{"property": "Category", "op": "equals", "value": "Shoes"}]},
            [IN, OUT, OUT, OUT],
        ),
        # bounds compare as the decimals they are written as: 0.1 >= 0.1
        ({"event": "Charged", "sum": {"property": "Amount", "gte": 0.1}}, [IN, IN, OUT, OUT]),
        # Score is read by this average only (the events cut must keep the column)
        ({"event": "Charged", "avg": {"property": "Score", "gte": 5, "lt": 5.5}}, [OUT, IN, OUT, OUT]),
    ]
    got = segments(tmp_path, [rule for rule, _ in cases], events=events)
    assert got == [expected for _, expected in cases]


def test_event_filter_month_look_back_is_a_calendar_month_from_its_first_instant(tmp_path: Path) -> None:
    """31 March minus one month is 28 February (clamped): events from 28 February 06:00 on count, up to just
    before the trigger; a month taken as 30 days would start on 1 March."""
    events = events_of(
        ("u1", "Opened", "2026-02-28T06:00:00Z"),  # the window's first instant
        ("u2", "Opened", "2026-02-28T05:59:59Z"),  # a second before it
        ("u3", "Opened", "2026-02-28T12:00:00Z"),  # inside the calendar month, 30 days and 18 h back
        ("u4", "Opened", "2026-03-31T06:00:00Z"),  # at the trigger: not before it
    )
    audience = {"filters": [{"event": "Opened", "within": "1mo"}]}
    outcomes, _ = both(
        tmp_path,
        [campaign(audience=audience)],
        [request({"identity": USERS}, when="2026-03-31T06:00:00Z")],
        events=events,
    )
    assert outcomes["status"].to_list() == [IN, OUT, IN, OUT]


# ---- goals ---------------------------------------------------------------------------------------------


def test_goal_converts_control_rows_and_reads_events_up_to_the_last_window_s_end(tmp_path: Path) -> None:
    """Campaign 500 (goal Charged within 1d, control group 20: u3 is in it) is triggered for u1 and u3 on
    2 November and for u2 on 4 November; campaign 501's goal is two calendar months. u1 buys the day of its
    trigger (before the last trigger of 500), u2 at its window's very end, u3 (control) an hour after its
    trigger, and u1 signs up 48 days after 501's trigger."""
    events = events_of(
        ("u1", "Charged", "2026-11-02T07:00:00Z"),
        ("u2", "Charged", "2026-11-05T06:00:00Z"),
        ("u3", "Charged", "2026-11-02T08:00:00Z"),
        ("u1", "Signup", "2026-12-20T06:00:00Z"),
    )
    campaigns = [
        campaign("500", goal={"event": "Charged", "within": "1d"}, control_group=20),
        campaign("501", goal={"event": "Signup", "within": "2mo"}),
    ]
    lines = [
        request({"identity": ["u1"]}, when="2026-11-02T06:00:00Z"),
        request({"identity": ["u2"]}, when="2026-11-04T06:00:00Z"),
        request({"identity": ["u3"]}, when="2026-11-02T06:00:00Z"),
        request({"identity": ["u1"]}, cid="501", when="2026-11-02T06:00:00Z"),
    ]
    outcomes, _ = both(tmp_path, campaigns, lines, events=events)
    assert outcomes.select("campaign_id", "identity", "status", "converted").rows() == [
        ("500", "u1", "sent", True),
        ("500", "u2", "sent", True),
        ("500", "u3", "control", True),
        ("501", "u1", "sent", True),
    ]


# ---- rule 9 --------------------------------------------------------------------------------------------


def test_rendering_lists_missing_keys_in_render_order_and_reads_unset_profile_values_as_missing(
    tmp_path: Path,
) -> None:
    """missing_keys are paths in render order (zeta before alpha), each once; u2's name is unset (null), so
    Profile.name is missing for u2 only. Under payload_values: coerce the number 3 is the text "3"."""
    message = {
        "title": "{{ ExternalTrigger.zeta }}{{ ExternalTrigger.alpha }}Hi {{ Profile.name }}",
        "body": "{{ ExternalTrigger.n | json }}{{ ExternalTrigger.zeta }}",
    }
    settings = Settings(timezone="Asia/Kolkata", payload_values="coerce")
    lines = [request({"identity": ["u1", "u2"]}, payload={"n": 3})]
    outcomes, messages = both(tmp_path, [campaign(message=message)], lines, settings=settings)
    assert outcomes.select("identity", "status", "missing_keys").rows() == [
        ("u1", "sent", ["ExternalTrigger.zeta", "ExternalTrigger.alpha"]),
        ("u2", "sent", ["ExternalTrigger.zeta", "ExternalTrigger.alpha", "Profile.name"]),
    ]
    assert messages is not None
    assert messages["fields"].to_list() == [
        '{"title": "Hi Asha", "body": "\\"3\\""}',
        '{"title": "Hi ", "body": "\\"3\\""}',
    ]


def test_sample_rendering_keeps_exactly_the_first_hundred_messages_of_each_campaign(tmp_path: Path) -> None:
    """500 cannot fail rule 9 (rendered for the sample only), 501 can abort (every row rendered): each keeps
    its first 100 rendered rows in row order, aborted ones included."""
    static = campaign(message={"title": "Hello", "body": "There"})
    aborting = campaign(
        "501",
        message={
            "title": "{% if ExternalTrigger.what == 'stop' %}{% abort 'no' %}{% endif %}Hi",
            "body": "b",
        },
    )
    lines = [
        request({"identity": ["u1"] * 60}),
        request({"identity": ["u2"] * 60}),
        request({"identity": ["u1"] * 60}, cid="501"),
        request({"identity": ["u2"] * 60}, cid="501", payload={"what": "stop"}),
    ]
    outcomes, messages = both(tmp_path, [static, aborting], lines, render="sample")
    assert outcomes.height == 240
    assert messages is not None
    # the first 60 rows of the first line, then the first 40 of the second, for each campaign
    for cid in ("500", "501"):
        mine = messages.filter(pl.col("campaign_id") == cid)
        assert mine["recipient"].to_list() == list(range(60)) + list(range(40))
    assert messages.filter(pl.col("campaign_id") == "501")["status"].value_counts(sort=True).rows() == [
        ("sent", 60),
        ("aborted", 40),
    ]


# ---- tables --------------------------------------------------------------------------------------------


def test_csv_cells_stay_text_and_typed_key_columns_become_text(tmp_path: Path) -> None:
    """A CSV is read without type inference ("007" stays "007", and contains "00"); a typed objectId is
    matched as decimal text."""
    csv = tmp_path / "profiles.csv"
    csv.write_text("identity,code\nu1,007\nu2,7\nu3,\nu4,0.70\n", encoding="utf-8")
    from_csv = load_profiles(csv)
    assert from_csv.schema == pl.Schema({"identity": pl.String(), "code": pl.String()})
    rule = {"property": "code", "op": "contains", "value": "0"}
    assert statuses(tmp_path, [rule], profiles=from_csv) == [IN, OUT, OUT, IN]

    typed = load_profiles(pl.DataFrame({"identity": USERS, "objectId": [123, 7, None, 9]}))
    assert typed["objectId"].to_list() == ["123", "7", None, "9"]
    outcomes, _ = both(tmp_path, [campaign()], [request({"objectId": ["123", "9"]})], profiles=typed)
    assert outcomes.select("identity", "status").rows() == [("u1", "sent"), ("u4", "sent")]
