"""Edges of the engines' pipeline that the rule-by-rule cases left open (found by mutation testing).

Each case runs both engines through ``decide`` (tests/test_engine_rules.py), which requires identical outcome
frames, and pins the exact rows the spec gives; the docstrings name the wrong reading each one rules out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from tests.test_engine_rules import (
    HISTORY_SCHEMA,
    UTC_TS,
    batch_file,
    campaign,
    capped,
    decide,
    expect,
    request,
    run_both,
    sent,
    stopped,
    t,
)
from triggerlab.engine.common import bucket
from triggerlab.engine.inputs import zone_warnings
from triggerlab.settings import Settings


def history(*entries: tuple[str, str, str, str]) -> pl.DataFrame:
    """History rows (identity, channel, campaign id, sent_at)."""
    return pl.DataFrame(
        [(user, channel, cid, t(at)) for user, channel, cid, at in entries],
        schema=HISTORY_SCHEMA,
        orient="row",
    )


def caps(*given: dict[str, Any]) -> Settings:
    return Settings.model_validate({"timezone": "Asia/Kolkata", "frequency_caps": list(given)})


def line(body: dict[str, Any], when: str = "2026-11-02T06:00:00Z") -> str:
    """An envelope without an id (the request id is the line number)."""
    return json.dumps({"received_at": when, "body": body})


# ---- rows ---------------------------------------------------------------------------------------------


def test_recipients_are_numbered_by_campaign_id_first_then_to_value(tmp_path: Path) -> None:
    """Row order within a request: campaign ids in order, then ``to`` values. Numbering the values first (two
    ids and two values interleaved) passed the rule tests, whose requests had one id or one value."""
    lines = [line({"campaign_id_list": ["500", "501"], "to": {"identity": ["u1", "u2"]}})]
    got = decide(tmp_path, [campaign("500"), campaign("501")], lines)
    assert got.select("recipient", "campaign_id", "identity", "status").rows() == [
        (0, "500", "u1", "sent"),
        (1, "500", "u2", "sent"),
        (2, "501", "u1", "sent"),
        (3, "501", "u2", "sent"),
    ]


def test_request_ids_to_order_and_campaign_lists_read_the_generic_way(tmp_path: Path) -> None:
    """Lines the DuckDB engine reads with its generic reading (``d`` lists, odd ids): an envelope id that is
    a float or a boolean is not readable, so the request id is the line number; within a request the values
    of one ``to`` kind come before the next kind's (u2, u3, then the email of u1); a ``campaign_id_list``
    that is not a list makes the request invalid with its own reason, one row per readable pair."""
    one = {"campaign_id": "500", "to": {"identity": ["u1"]}}
    lines = [
        json.dumps({"id": 1.5, "received_at": "2026-11-02T06:00:00Z", "body": {"d": [one]}}),
        json.dumps({"id": True, "received_at": "2026-11-02T06:00:00Z", "body": {"d": [one]}}),
        line({"d": [{"campaign_id": "500", "to": {"identity": ["u2", "u3"], "email": ["a@x.test"]}}]}),
        line({"d": [{"campaign_id": "500", "campaign_id_list": "501", "to": {"identity": ["u1"]}}]}),
    ]
    got = decide(
        tmp_path,
        [campaign("500"), campaign("501")],
        lines,
        columns=["request_id", "line", "recipient", "campaign_id", "identity", "status", "reason"],
    )
    bad_list = "campaign_id_list must be a list of campaign ids"
    assert got.rows() == [
        ("1", 1, 0, "500", "u1", "sent", None),
        ("2", 2, 0, "500", "u1", "sent", None),
        ("3", 3, 0, "500", "u2", "sent", None),
        ("3", 3, 1, "500", "u3", "sent", None),
        ("3", 3, 2, "500", "u1", "sent", None),
        ("4", 4, 0, "500", "u1", "invalid_request", bad_list),
        ("4", 4, 1, "501", "u1", "invalid_request", bad_list),
    ]


def test_a_table_batch_keeps_its_id_column_on_lines_read_the_generic_way() -> None:
    """A trigger table's ``id`` column is the request id, also for a row whose body the DuckDB engine reads
    the generic way (a ``d`` list); a row without an id gets its row number."""
    body = json.dumps({"d": [{"campaign_id": "500", "to": {"identity": ["u1"]}}]})
    frame = pl.DataFrame(
        {"id": ["q-1", None], "received_at": ["2026-11-02T06:00:00Z"] * 2, "body": [body, body]},
        schema={"id": pl.String, "received_at": pl.String, "body": pl.String},
    )
    reference, duck = run_both(frame, [campaign()])
    assert_frame_equal(duck.outcomes, reference.outcomes)
    assert reference.outcomes.select("request_id", "line", "status").rows() == [
        ("q-1", 1, "sent"),
        ("2", 2, "sent"),
    ]


# ---- rules 3-5 ----------------------------------------------------------------------------------------


def test_rule_5_is_decided_for_a_row_received_exactly_at_schedule_start(tmp_path: Path) -> None:
    """The schedule is ``[start, end)``: a row at ``start`` is active, so its audience filters are read. The
    DuckDB engine picks the rows whose filters it evaluates with the same window; a strict ``>`` there left
    the row out of the candidates, and a row never evaluated counted as in its segment (sent)."""
    free = campaign(
        schedule={"start": "2026-11-02T06:00:00+00:00"},
        audience={"match": "all", "filters": [{"property": "plan", "op": "in", "value": ["free"]}]},
    )
    lines = [request({"identity": ["u1", "u2"]}, when="2026-11-02T06:00:00Z")]
    got = decide(tmp_path, [free], lines)
    assert_frame_equal(
        got,
        expect(
            stopped(1, "u1", "not_in_segment", "audience filters not met"),
            sent(1, "u2", "2026-11-02T06:00:00Z", "2026-11-02T01:00:00-05:00", recipient=1),
        ),
    )


def test_rules_6_and_7_a_bucket_equal_to_the_group_size_is_outside_it(tmp_path: Path) -> None:
    """Control groups hold buckets ``< size``: u2's system bucket is 4 and u1's bucket for campaign 500 is 31,
    so with a system group of 4 and a control group of 31 both are sent (``<=`` put them in the groups)."""
    assert bucket("system", "u2") == 4 and bucket("500", "u1") == 31
    assert bucket("system", "u1") > 4 and bucket("500", "u2") > 31
    settings = Settings(timezone="Asia/Kolkata", system_control_group=4)
    lines = [request({"identity": ["u1", "u2"]})]
    got = decide(tmp_path, [campaign(control_group=31)], lines, settings=settings)
    assert_frame_equal(
        got,
        expect(
            sent(1, "u1", "2026-11-02T06:00:00Z", "2026-11-02T11:30:00+05:30"),
            sent(1, "u2", "2026-11-02T06:00:00Z", "2026-11-02T01:00:00-05:00", recipient=1),
        ),
    )


# ---- rule 8 -------------------------------------------------------------------------------------------


def test_rule_8_allots_users_by_their_earliest_row_and_only_rows_that_pass_rule_7(tmp_path: Path) -> None:
    """Cap of one user. u3 is in the control group: its 04:00 row is stopped at rule 7 and allots nobody. u1's
    earliest row (05:00, line 4) comes before u2's 06:00 row, so u1 is the allotted user even though its first
    line (08:00) comes later; u2 is capped. u2's invalid request keeps its rule-1 status. Broken readings that
    passed the rule tests: a user's first row taken in line order (u2 allotted), the control row allotting u3,
    and every row of a capped user (its invalid one too) made ``target_capped``."""
    assert bucket("500", "u3") < 20 <= min(bucket("500", "u1"), bucket("500", "u2"))
    lines = [
        request({"identity": ["u3"]}, when="2026-11-02T04:00:00Z"),
        request({"identity": ["u1"]}, when="2026-11-02T08:00:00Z"),
        request({"identity": ["u2"]}, when="2026-11-02T06:00:00Z"),
        request({"identity": ["u1"]}, when="2026-11-02T05:00:00Z"),
        request({"identity": ["u2"]}, when="2026-11-02T07:00:00Z", payload={"what": 1}),
    ]
    got = decide(tmp_path, [campaign(targeting_cap=1, control_group=20)], lines)
    assert_frame_equal(
        got,
        expect(
            stopped(1, "u3", "control", "in the campaign's control group"),
            sent(2, "u1", "2026-11-02T08:00:00Z", "2026-11-02T13:30:00+05:30"),
            stopped(3, "u2", "target_capped", "targeting cap of 1 users reached"),
            sent(4, "u1", "2026-11-02T05:00:00Z", "2026-11-02T10:30:00+05:30"),
            stopped(
                5,
                "u2",
                "invalid_request",
                "ExternalTrigger holds a number, boolean or null value (payload_values: strict)",
            ),
        ),
    )


def test_rule_8_ties_in_time_go_by_line_before_recipient(tmp_path: Path) -> None:
    """Three users triggered at the same instant, cap of two: line 1's two recipients are allotted before line
    2's one (order: received_at, line, recipient; ordering by recipient before line allotted u3 first)."""
    lines = [request({"identity": ["u1", "u2"]}), request({"identity": ["u3"]})]
    got = decide(tmp_path, [campaign(targeting_cap=2)], lines)
    assert got.select("line", "identity", "status").rows() == [
        (1, "u1", "sent"),
        (1, "u2", "sent"),
        (2, "u3", "target_capped"),
    ]


def test_rule_8_history_of_another_campaign_allots_nobody(tmp_path: Path) -> None:
    """A user is already allotted only by history *for this campaign*. u1 was sent campaign 501 (also capped):
    that neither fills 500's cap of one nor exempts u1 from it, so u2 (first) is allotted and u1 capped."""
    past = history(("u1", "push", "501", "2026-01-01T00:00:00Z"))
    lines = [
        request({"identity": ["u2"]}, when="2026-11-02T06:00:00Z"),
        request({"identity": ["u1"]}, when="2026-11-02T07:00:00Z"),
    ]
    got = decide(tmp_path, [campaign(targeting_cap=1), campaign("501", targeting_cap=5)], lines, history=past)
    assert_frame_equal(
        got,
        expect(
            sent(1, "u2", "2026-11-02T06:00:00Z", "2026-11-02T01:00:00-05:00"),
            stopped(2, "u1", "target_capped", "targeting cap of 1 users reached"),
        ),
    )


# ---- rules 10-11 --------------------------------------------------------------------------------------


def test_rule_10_dnd_across_a_clock_change_the_day_after_the_last_trigger(tmp_path: Path) -> None:
    """New York, 19:00 EDT on 31 October 2026, DND 18:00-08:00: the clocks fall back at 06:00Z on 1 November,
    so the window ends at 08:00 EST (13:00Z), not 08:00 EDT. The change is the day after the batch's last
    trigger: offsets read only up to a day past it missed the change and delivered an hour early."""
    night = {"dnd": {"start": "18:00", "end": "08:00"}}
    lines = [request({"identity": ["u2"]}, when="2026-10-31T23:00:00Z")]
    got = decide(tmp_path, [campaign(delivery=night)], lines)
    assert_frame_equal(
        got, expect(sent(1, "u2", "2026-11-01T13:00:00Z", "2026-11-01T08:00:00-05:00", delayed=True))
    )


def test_rule_10_a_trigger_at_the_instant_of_a_clock_change_reads_the_new_offset(tmp_path: Path) -> None:
    """At 06:00Z on 1 November 2026 New York's clock reads 01:00 EST (the change's own instant has the new
    offset): inside DND 00:30-01:30, so held to 01:30 EST. Read with the old offset (02:00 EDT) it is outside
    and goes at once."""
    dnd = {"dnd": {"start": "00:30", "end": "01:30"}}
    lines = [request({"identity": ["u2"]}, when="2026-11-01T06:00:00Z")]
    got = decide(tmp_path, [campaign(delivery=dnd)], lines)
    assert_frame_equal(
        got, expect(sent(1, "u2", "2026-11-01T06:30:00Z", "2026-11-01T01:30:00-05:00", delayed=True))
    )


def test_rule_10_discard_sends_rows_outside_the_window_at_once(tmp_path: Path) -> None:
    """``action: discard`` drops only the rows inside DND; one outside keeps its delivery time and is sent."""
    discard = {"dnd": {"start": "21:00", "end": "09:00", "action": "discard"}}
    lines = [
        request({"identity": ["u1"]}, when="2026-11-02T06:00:00Z"),  # 11:30 IST: outside
        request({"identity": ["u1"]}, when="2026-11-02T16:00:00Z"),  # 21:30 IST: inside
    ]
    got = decide(tmp_path, [campaign(delivery=discard)], lines)
    assert_frame_equal(
        got,
        expect(
            sent(1, "u1", "2026-11-02T06:00:00Z", "2026-11-02T11:30:00+05:30"),
            stopped(2, "u1", "dnd_discarded", "inside DND hours 21:00-09:00 (action: discard)"),
        ),
    )


def test_rule_11_max_delay_in_months_is_a_calendar_month(tmp_path: Path) -> None:
    """A ``max_delay`` of ``1mo`` is a month of elapsed time: an 11 h 30 min DND wait is well within it (a
    month count read as seconds expired every delayed row)."""
    held = campaign(delivery={"dnd": {"start": "21:00", "end": "09:00"}, "max_delay": "1mo"})
    lines = [request({"identity": ["u1"]}, when="2026-11-02T16:00:00Z")]
    got = decide(tmp_path, [held], lines)
    assert_frame_equal(
        got, expect(sent(1, "u1", "2026-11-03T03:30:00Z", "2026-11-03T09:00:00+05:30", delayed=True))
    )


def test_rule_11_a_row_past_schedule_end_and_max_delay_gives_the_schedule_reason(tmp_path: Path) -> None:
    """Rule 11 checks ``schedule.end`` before ``max_delay``: a row held past both expires with the schedule's
    reason. Checking the delay first passed the tests, which broke one bound at a time."""
    both = campaign(
        delivery={"dnd": {"start": "21:00", "end": "09:00"}, "max_delay": "6h"},
        schedule={"end": "2026-11-03T00:00:00+00:00"},
    )
    lines = [request({"identity": ["u1"]}, when="2026-11-02T16:00:00Z")]
    got = decide(tmp_path, [both], lines)
    assert got.select("status", "reason", "delivery_at").rows() == [
        ("expired", "delivery time is at or after schedule.end", t("2026-11-03T03:30:00Z"))
    ]


def test_delivery_local_keeps_every_microsecond_digit(tmp_path: Path) -> None:
    """``delivery_local`` is Python's isoformat: six fraction digits, leading zeros kept (``.050000``)."""
    lines = [request({"identity": ["u1"]}, when="2026-11-02T06:00:00.05Z")]
    got = decide(tmp_path, [campaign()], lines)
    assert_frame_equal(
        got, expect(sent(1, "u1", "2026-11-02T06:00:00.050000Z", "2026-11-02T11:30:00.050000+05:30"))
    )


# ---- rules 12-13 --------------------------------------------------------------------------------------


def test_rule_13_deliveries_at_the_same_instant_count(tmp_path: Path) -> None:
    """ "Only deliveries at or before delivery_at count": a history row at the row's own instant fills a
    rolling cap of one (u1), and of two rows of u3 at the same instant the first (line order) is sent and
    fills the cap for the second."""
    settings = caps({"limit": 1, "per": "6h"})
    past = history(("u1", "email", "42", "2026-11-02T06:00:00Z"))
    lines = [
        request({"identity": ["u1"]}, when="2026-11-02T06:00:00Z"),
        request({"identity": ["u3"]}, when="2026-11-02T06:00:00Z"),
        request({"identity": ["u3"]}, when="2026-11-02T06:00:00Z"),
    ]
    got = decide(tmp_path, [campaign()], lines, settings=settings, history=past)
    reason = "frequency cap reached: 1 messages on all channels per 6h (rolling)"
    assert_frame_equal(
        got,
        expect(
            capped(1, "u1", reason, "2026-11-02T06:00:00Z", "2026-11-02T11:30:00+05:30"),
            sent(2, "u3", "2026-11-02T06:00:00Z", "2026-11-02T11:30:00+05:30"),
            capped(3, "u3", reason, "2026-11-02T06:00:00Z", "2026-11-02T11:30:00+05:30"),
        ),
    )


def test_rule_13_rows_delivered_at_the_same_instant_go_in_trigger_order(tmp_path: Path) -> None:
    """Both rows are held by DND to 09:00 IST; ties in delivery time go by ``received_at`` first: line 2
    (21:30 IST) is sent and fills the day cap, line 1 (22:00 IST) is capped. Breaking the tie by line order
    alone passed the other tests."""
    night = {"dnd": {"start": "21:00", "end": "09:00"}}
    settings = caps({"channel": "push", "limit": 1, "per": "day"})
    lines = [
        request({"identity": ["u1"]}, when="2026-11-02T16:30:00Z"),
        request({"identity": ["u1"]}, when="2026-11-02T16:00:00Z"),
    ]
    got = decide(tmp_path, [campaign(delivery=night)], lines, settings=settings)
    held = ("2026-11-03T03:30:00Z", "2026-11-03T09:00:00+05:30")
    row = capped(1, "u1", "frequency cap reached: 1 push messages per day (calendar)", *held)
    assert_frame_equal(got, expect((*row[:-1], True), sent(2, "u1", *held, delayed=True)))


def test_rule_13_history_at_the_instant_of_a_clock_change_counts_in_its_day(tmp_path: Path) -> None:
    """u2's history push at 06:00Z on 1 November 2026 (01:00 EST, the fall-back instant itself) is in u2's
    local day of 1 November, so the day cap of one stops the push at 07:00 EST. The DuckDB engine reads
    history walls with the same offset spans as rows; an instant at a span's start must find that span."""
    settings = caps({"channel": "push", "limit": 1, "per": "day"})
    past = history(("u2", "push", "42", "2026-11-01T06:00:00Z"))
    lines = [request({"identity": ["u2"]}, when="2026-11-01T12:00:00Z")]
    got = decide(tmp_path, [campaign()], lines, settings=settings, history=past)
    reason = "frequency cap reached: 1 push messages per day (calendar)"
    assert_frame_equal(
        got, expect(capped(1, "u2", reason, "2026-11-01T12:00:00Z", "2026-11-01T07:00:00-05:00"))
    )


def test_rule_13_calendar_periods_are_the_users_zone_not_the_workspaces(tmp_path: Path) -> None:
    """u2 lives in New York (workspace: Kolkata). A history push at 02:00Z on 2 November is 21:00 on 1
    November for u2, so a day cap of one does not stop the push at 06:00Z (01:00 on 2 November in New York);
    in Kolkata both would be 2 November."""
    settings = caps({"channel": "push", "limit": 1, "per": "day"})
    past = history(("u2", "push", "42", "2026-11-02T02:00:00Z"))
    lines = [request({"identity": ["u2"]}, when="2026-11-02T06:00:00Z")]
    got = decide(tmp_path, [campaign()], lines, settings=settings, history=past)
    assert_frame_equal(got, expect(sent(1, "u2", "2026-11-02T06:00:00Z", "2026-11-02T01:00:00-05:00")))


def test_rule_13_calendar_month_counts_from_the_first_of_the_month(tmp_path: Path) -> None:
    """An email on 2 June fills a cap of one email per calendar month for 25 June (weeks apart)."""
    settings = caps({"channel": "email", "limit": 1, "per": "month"})
    lines = [
        request({"identity": ["u1"]}, when="2026-06-02T04:30:00Z"),
        request({"identity": ["u1"]}, when="2026-06-25T04:30:00Z"),
        request({"identity": ["u1"]}, when="2026-07-01T04:30:00Z"),
    ]
    got = decide(tmp_path, [campaign(channel="email")], lines, settings=settings)
    assert got.select("line", "status", "reason").rows() == [
        (1, "sent", None),
        (2, "frequency_capped", "frequency cap reached: 1 email messages per month (calendar)"),
        (3, "sent", None),
    ]


def test_rule_13_calendar_week_starts_on_monday_in_the_per_user_pass(tmp_path: Path) -> None:
    """Thursday 31 December 2026 and Monday 4 January 2027 are in different ISO weeks. The rolling cap (two
    per 7 days) makes the DuckDB engine decide the Monday row user by user (its over-count takes the capped
    Friday row as sent), where a week keyed as seven days from the epoch (a Thursday) put both in one week."""
    settings = caps({"channel": "push", "limit": 1, "per": "week"}, {"limit": 2, "per": "7d"})
    lines = [
        request({"identity": ["u1"]}, when="2026-12-31T04:30:00Z"),
        request({"identity": ["u1"]}, when="2027-01-01T04:30:00Z"),
        request({"identity": ["u1"]}, when="2027-01-04T04:30:00Z"),
    ]
    got = decide(tmp_path, [campaign()], lines, settings=settings)
    assert got.select("line", "status", "reason").rows() == [
        (1, "sent", None),
        (2, "frequency_capped", "frequency cap reached: 1 push messages per week (calendar)"),
        (3, "sent", None),
    ]


def test_rules_12_and_13_min_gap_is_checked_before_caps_and_caps_in_settings_order(tmp_path: Path) -> None:
    """A row both within ``min_gap`` and over a cap is ``not_reeligible`` (rule 12 comes first); a row over two
    caps gives the reason of the first cap listed in the settings."""
    settings = caps({"channel": "push", "limit": 1, "per": "day"}, {"limit": 1, "per": "6h"})
    gapped = campaign("501", delivery={"min_gap": "1d"})
    lines = [
        request({"identity": ["u1"]}, when="2026-11-02T04:00:00Z"),
        request({"identity": ["u1"]}, when="2026-11-02T05:00:00Z"),
        request({"identity": ["u3"]}, cid="501", when="2026-11-02T04:00:00Z"),
        request({"identity": ["u3"]}, cid="501", when="2026-11-02T05:00:00Z"),
    ]
    got = decide(tmp_path, [campaign(), gapped], lines, settings=settings)
    assert got.select("line", "status", "reason").rows() == [
        (1, "sent", None),
        (2, "frequency_capped", "frequency cap reached: 1 push messages per day (calendar)"),
        (3, "sent", None),
        (4, "not_reeligible", "this campaign was delivered to the user within min_gap 1d"),
    ]


def test_rules_12_and_13_in_the_per_user_pass_count_only_the_right_channel_and_campaign(
    tmp_path: Path,
) -> None:
    """Rows the DuckDB engine decides user by user (its over-count takes every earlier row as sent, so a row
    not sent puts the later ones over the rolling cap of two): a push day cap counts push deliveries only, and
    ``min_gap`` counts deliveries of the row's own campaign only. u1: email, capped email, then a push, which
    is sent (one email delivered, no push). u3: an email of campaign 502, a 502 row stopped by its min_gap,
    then a push of campaign 503 (also with a min_gap of 1d), sent: 503 was never delivered."""
    settings = caps(
        {"channel": "push", "limit": 1, "per": "day"},
        {"channel": "email", "limit": 1, "per": "day"},
        {"limit": 2, "per": "1d"},
    )
    mail = campaign("501", channel="email")
    gapped = campaign("502", channel="email", delivery={"min_gap": "1d"})
    pushed = campaign("503", delivery={"min_gap": "1d"})
    lines = [
        request({"identity": ["u1"]}, cid="501", when="2026-11-02T04:00:00Z"),
        request({"identity": ["u1"]}, cid="501", when="2026-11-02T04:30:00Z"),
        request({"identity": ["u1"]}, cid="500", when="2026-11-02T05:00:00Z"),
        request({"identity": ["u3"]}, cid="502", when="2026-11-02T04:00:00Z"),
        request({"identity": ["u3"]}, cid="502", when="2026-11-02T04:30:00Z"),
        request({"identity": ["u3"]}, cid="503", when="2026-11-02T05:00:00Z"),
    ]
    got = decide(tmp_path, [campaign(), mail, gapped, pushed], lines, settings=settings)
    assert got.select("line", "status", "reason").rows() == [
        (1, "sent", None),
        (2, "frequency_capped", "frequency cap reached: 1 email messages per day (calendar)"),
        (3, "sent", None),
        (4, "sent", None),
        (5, "not_reeligible", "this campaign was delivered to the user within min_gap 1d"),
        (6, "sent", None),
    ]


def test_a_history_row_without_a_time_allots_its_user_but_fills_no_cap(tmp_path: Path) -> None:
    """A history table may leave ``sent_at`` empty (an empty CSV cell loads as null). Such a row still makes
    its user allotted (rule 8: "whatever the history date"), but it is at or before no ``delivery_at``, so it
    counts for no frequency cap or min_gap (rules 12-13). The DuckDB engine did this; the reference engine
    raised TypeError comparing None with the delivery time."""
    past = pl.DataFrame(
        {"identity": ["u1"], "channel": ["push"], "campaign_id": ["500"], "sent_at": [None]},
        schema=HISTORY_SCHEMA,
    )
    settings = caps({"channel": "push", "limit": 1, "per": "day"})
    gapped = campaign(targeting_cap=1, delivery={"min_gap": "1d"})
    lines = [
        request({"identity": ["u2"]}, when="2026-11-02T06:00:00Z"),
        request({"identity": ["u1"]}, when="2026-11-02T07:00:00Z"),
    ]
    got = decide(tmp_path, [gapped], lines, settings=settings, history=past)
    assert_frame_equal(
        got,
        expect(
            stopped(1, "u2", "target_capped", "targeting cap of 1 users reached"),
            sent(2, "u1", "2026-11-02T07:00:00Z", "2026-11-02T12:30:00+05:30"),
        ),
    )


def test_an_event_without_a_time_is_in_no_filter_or_goal_window(tmp_path: Path) -> None:
    """An events table may leave ``ts`` empty (an empty CSV cell loads as null). Such an event is before no
    trigger and inside no goal window: u1's only ``Charged`` event has no time, so an event filter asking for
    one leaves u1 out of campaign 500's segment, one asking for none keeps u1 in 502's, and u1 does not
    convert for campaign 501's goal. The DuckDB engine did this; the reference engine raised TypeError
    comparing None with the trigger time."""
    events = pl.DataFrame(
        {"identity": ["u1"], "event": ["Charged"], "ts": [None]},
        schema={"identity": pl.String, "event": pl.String, "ts": UTC_TS},
    )
    filtered = campaign(audience={"filters": [{"event": "Charged"}]})
    goal = campaign("501", goal={"event": "Charged", "within": "1d"})
    never = campaign("502", audience={"filters": [{"event": "Charged", "did": False}]})
    lines = [
        request({"identity": ["u1"]}),
        request({"identity": ["u1"]}, cid="501"),
        request({"identity": ["u1"]}, cid="502"),
    ]
    got = decide(
        tmp_path,
        [filtered, goal, never],
        lines,
        events=events,
        columns=["line", "status", "reason", "converted"],
    )
    assert got.rows() == [
        (1, "not_in_segment", "audience filters not met", None),
        (2, "sent", None, False),
        (3, "sent", None, None),
    ]


# ---- messages -----------------------------------------------------------------------------------------


def test_sampled_messages_are_the_first_hundred_rows_of_each_campaign(tmp_path: Path) -> None:
    """``render="sample"`` keeps the first 100 rendered rows of each campaign, in row order: of campaign 500's
    101 rows (lines 1-50 and 52-102; no id, so the request id is the line number) the last is left out;
    campaign 501's one row (line 51) is kept."""
    payload = {"ExternalTrigger": {"what": "x"}}
    lines = [line({"campaign_id": "500", "to": {"identity": ["u1"]}, **payload}) for _ in range(101)]
    lines.insert(50, line({"campaign_id": "501", "to": {"identity": ["u2"]}, **payload}))
    batch = batch_file(tmp_path, lines)
    reference, duck = run_both(batch, [campaign(), campaign("501")], render="sample")
    assert reference.messages is not None and duck.messages is not None
    assert_frame_equal(duck.messages, reference.messages)
    assert duck.outcomes.height == 102
    kept = reference.messages
    assert kept.filter(pl.col("campaign_id") == "501")["request_id"].to_list() == ["51"]
    assert kept.filter(pl.col("campaign_id") == "500")["request_id"].to_list() == [
        str(n) for n in [*range(1, 51), *range(52, 102)]
    ]


# ---- inputs -------------------------------------------------------------------------------------------


def test_zone_warnings_name_each_invalid_zone_once_in_name_order() -> None:
    """One warning per invalid zone name, sorted by name (30 names given in reverse, each twice, and a valid
    zone and a null that warn nothing): an unsorted set of names came back in hash order."""
    bad = [f"Bad/Zone{n:02d}" for n in range(30, 0, -1)]
    zones = [*bad, None, "Asia/Kolkata", *bad]
    profiles = pl.DataFrame({"identity": [str(n) for n in range(len(zones))], "timezone": zones})
    settings = Settings(timezone="Asia/Kolkata")
    assert zone_warnings(profiles, settings) == [
        f"profile time zone {name!r} is not an IANA zone name; those users use the workspace zone Asia/Kolkata"
        for name in sorted(bad)
    ]
    assert zone_warnings(profiles.drop("timezone"), settings) == []
