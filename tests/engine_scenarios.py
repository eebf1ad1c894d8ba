"""Hypothesis scenarios for the engine differential test: small worlds where every rule can fire.

A scenario is settings, up to three campaigns, a handful of profiles (zones with DST changes, an invalid zone),
events, history and a trigger batch (envelopes, bare lines, ``d`` lists, v2 bodies, invalid lines, blank lines).
Trigger times cluster around DST changes of the zones used and repeat, so equal timestamps and DND windows
that cross midnight across a clock change are common. Most events and history rows sit exactly at, one second
before or one second after an edge of a window seen from a trigger time (event filter look-backs, goal windows
in minutes to months, rolling and calendar frequency-cap periods in the users' zones, min_gap), so an
off-by-one or a month taken as 30 days changes some outcome. Targeting caps below 100 cannot be written in a campaign
file; the scenarios set them with ``model_copy`` (which skips validation) so that rule 8 fires with few users.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from triggerlab.audience import EventFilter
from triggerlab.campaign import Campaign
from triggerlab.durations import Duration, parse_duration
from triggerlab.engine.inputs import EngineInputs
from triggerlab.settings import Settings
from triggerlab.simulation import run_engine

ZONES = ["UTC", "Asia/Kolkata", "America/New_York", "Europe/London", "Australia/Sydney", "America/Sao_Paulo"]
#: instants near DST changes (New York spring/fall, London fall, Sydney spring) and ordinary days
ANCHORS = [
    datetime(2026, 3, 8, 6, 30, tzinfo=UTC),
    datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    datetime(2026, 10, 3, 15, 30, tzinfo=UTC),
    datetime(2026, 6, 15, 12, 0, tzinfo=UTC),
]
IDS = ["101", "102", "103"]
#: event filter look-backs, goal windows, min_gaps and rolling cap periods: minutes to months
WITHIN = ["45m", "6h", "1d", "2d", "1w", "1mo"]
GOALS = ["45m", "6h", "2d", "1w", "1mo", "2mo"]
GAPS = ["30m", "90m", "1d", "1w"]
PERIODS = ["day", "week", "month", "6h", "90m"]
#: how far back a delivery still counts: min_gaps and rolling caps (day, week and month are 24 h, 7 d, 30 d)
BACK = [*GAPS, "6h", "7d", "30d"]
#: exactly on an edge, one second either side, or a fraction of a second off it (a window a second short of
#: its width agrees with the exact one on whole seconds only); hypothesis favours the first choices and low
#: integers, so the aimed cases come first below
NUDGES = [
    timedelta(0),
    timedelta(seconds=-1),
    timedelta(seconds=1),
    timedelta(0),
    timedelta(microseconds=-1),
    timedelta(microseconds=1),
    timedelta(milliseconds=500),
]
TIMES = ["00:00", "01:30", "02:30", "06:00", "09:00", "21:00", "22:45"]

MESSAGES: dict[str, list[dict[str, Any]]] = {
    "push": [
        {"title": "Hi {{ Profile.name }}", "body": "{{ ExternalTrigger.msg | default: 'hello' }}"},
        {
            "title": "{% if ExternalTrigger.skip == 'yes' %}{% abort 'skipped' %}{% endif %}Steps",
            "body": "{{ ExternalTrigger.msg }}",
        },
    ],
    "email": [
        {
            "from_email": "a@example.test",
            "subject": "Order {{ ExternalTrigger.order }} for {{ Profile.plan }}",
        },
    ],
    "webhook": [
        {"url": "https://hooks.example/x", "body": '{"plan": {{ ExternalTrigger.plan | json }}}'},
        {"url": "https://hooks.example/{{ ExternalTrigger.path }}", "body": '{"n": {{ ExternalTrigger.n }}}'},
    ],
}


@dataclass
class Scenario:
    settings: Settings
    campaigns: list[Campaign]
    profiles: pl.DataFrame
    events: pl.DataFrame
    history: pl.DataFrame
    lines: list[str]
    at: datetime | None


def _instant(draw: st.DrawFn, anchor: datetime) -> datetime:
    return anchor + timedelta(minutes=30 * draw(st.integers(-48, 48)))


def _nudged(draw: st.DrawFn, edge: datetime) -> datetime:
    return edge + draw(st.sampled_from(NUDGES))


def _calendar_start(moment: datetime, zone: str, per: str) -> datetime:
    """The first instant of the local day, ISO week or month (in ``zone``) holding ``moment``."""
    wall = moment.astimezone(ZoneInfo(zone)).replace(hour=0, minute=0, second=0, microsecond=0)
    if per == "week":
        wall -= timedelta(days=wall.weekday())
    elif per == "month":
        wall = wall.replace(day=1)
    return wall.replace(tzinfo=None).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _event_marks(campaigns: list[Campaign]) -> list[tuple[str, Duration, int]]:
    """``(event, window, sign)`` for every event filter look-back (-1) and goal window (+1) of the campaigns."""
    marks = []
    for campaign in campaigns:
        for rule in campaign.audience.filters:
            if isinstance(rule, EventFilter) and rule.within is not None:
                marks.append((rule.event, parse_duration(rule.within), -1))
        if campaign.goal is not None:
            marks.append((campaign.goal.event, campaign.goal.window, 1))
    return marks


def _sent_marks(campaigns: list[Campaign], settings: Settings) -> list[tuple[str | None, str | None, Any]]:
    """``(channel, campaign_id, how far back or calendar period)`` for every min_gap and frequency cap."""
    marks: list[tuple[str | None, str | None, Any]] = []
    for campaign in campaigns:
        if campaign.delivery.min_gap != "0m":
            marks.append((campaign.channel, campaign.id, parse_duration(campaign.delivery.min_gap)))
    for cap in settings.frequency_caps:
        marks.append((cap.channel, None, cap.per if cap.is_calendar else cap.rolling))
    return marks


def _iso(draw: st.DrawFn, when: datetime) -> str:
    form = draw(st.sampled_from(["z", "offset", "naive"]))
    if form == "z":
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    if form == "offset":
        return when.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    return when.replace(tzinfo=None).isoformat()


@st.composite
def settings_strategy(draw: st.DrawFn) -> Settings:
    caps = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "channel": st.sampled_from([None, "push", "email", "webhook"]),
                    "limit": st.sampled_from([1, 1, 2, 3]),
                    "per": st.sampled_from(PERIODS),
                    "window": st.sampled_from(["calendar", "rolling"]),
                }
            ),
            max_size=2,
        )
    )
    return Settings.model_validate(
        {
            "timezone": draw(st.sampled_from(ZONES)),
            "system_control_group": draw(st.sampled_from([0, 0, 3, 5])),
            "frequency_caps": caps,
            "payload_values": draw(st.sampled_from(["strict", "coerce"])),
            "max_payload_bytes": 30 if draw(st.integers(0, 7)) == 3 else 65536,
        }
    )


def _filters(draw: st.DrawFn) -> list[dict[str, Any]]:
    choices = [
        {"property": "plan", "op": "equals", "value": "pro"},
        {"property": "plan", "op": "not_equals", "value": "free"},
        {"property": "score", "op": "gte", "value": 5},
        {"property": "score", "op": "lt", "value": "7.5"},
        {"property": "plan", "op": "in", "value": ["pro", "team"]},
        {"property": "name", "op": "contains", "value": "a"},
        {"property": "nickname", "op": "not_exists"},
        {"event": "App Launched", "did": True, "at_least": 1, "within": draw(st.sampled_from(WITHIN))},
        {"event": "App Launched", "did": False, "within": draw(st.sampled_from(WITHIN))},
        {"event": "Charged", "exactly": 1, "within": draw(st.sampled_from(WITHIN))},
        {
            "event": "Charged",
            "within": draw(st.sampled_from(WITHIN)),
            "sum": {"property": "Amount", "gte": 10},
        },
        {"event": "Charged", "avg": {"property": "Amount", "lt": 20.5}, "at_most": 3},
        {
            "event": "Charged",
            "where": [{"property": "Category", "op": "equals", "value": "Shoes"}],
            "exactly": 1,
        },
    ]
    return draw(st.lists(st.sampled_from(choices), max_size=3))


@st.composite
def campaign_strategy(
    draw: st.DrawFn, campaign_id: str, anchor: datetime, walls: tuple[str, ...] = ()
) -> Campaign:
    """``walls``: wall-clock times (HH:MM) the quiet hours may also start or end at: the trigger times' in the
    workspace zone, so that rows land exactly on a window's edge."""
    channel = draw(st.sampled_from(sorted(MESSAGES)))
    times = [*TIMES, *walls]
    base = _instant(draw, anchor)
    start = base - timedelta(hours=draw(st.sampled_from([1, 24]))) if draw(st.integers(0, 3)) == 1 else None
    end = base + timedelta(hours=draw(st.sampled_from([2, 30]))) if draw(st.integers(0, 3)) == 1 else None
    dnd = draw(
        st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {
                    "start": st.sampled_from(times),
                    "end": st.sampled_from(times),
                    "action": st.sampled_from(["delay", "delay", "discard"]),
                }
            ),
        )
    )
    data: dict[str, Any] = {
        "id": campaign_id,
        "name": f"Campaign {campaign_id}",
        "channel": channel,
        "message": draw(st.sampled_from(MESSAGES[channel])),
        "audience": {"match": draw(st.sampled_from(["all", "any"])), "filters": _filters(draw)},
        "control_group": draw(st.sampled_from([0, 0, 10, 50])),
        "apply_system_control": draw(st.booleans()),
        "schedule": {
            "start": None if start is None else start.replace(tzinfo=None).isoformat(),
            "end": None if end is None else end.isoformat(),
        },
        "delivery": {
            "apply_global_limits": draw(st.sampled_from([True, False, True])),
            "dnd": dnd,
            "max_delay": draw(st.sampled_from([None, "1h", "12h", "1mo"])),
            "min_gap": draw(st.sampled_from(["0m", "0m", *GAPS])),
        },
    }
    if draw(st.booleans()):
        data["goal"] = {"event": "Charged", "within": draw(st.sampled_from(GOALS))}
    campaign = Campaign.model_validate(data)
    cap = draw(st.sampled_from([None, None, 1, 2]))
    return campaign.model_copy(update={"targeting_cap": cap}) if cap is not None else campaign


def _profiles(draw: st.DrawFn, count: int) -> pl.DataFrame:
    rows = []
    for n in range(1, count + 1):
        rows.append(
            {
                "identity": f"u{n}",
                "email": draw(st.sampled_from([None, f"u{n}@mail.test", "shared@mail.test"])),
                "name": draw(st.sampled_from([None, "Asha", "Bo", ""])),
                "timezone": draw(st.sampled_from([None, "Mars/Olympus", *ZONES])),
                "plan": draw(st.sampled_from([None, "pro", "free", "team"])),
                "score": draw(st.sampled_from([None, "3", "5", "7.50", " 9 ", "high"])),
            }
        )
    return pl.DataFrame(rows, schema={k: pl.String for k in rows[0]})


def _events(
    draw: st.DrawFn, anchor: datetime, aims: list[tuple[int, datetime]], campaigns: list[Campaign]
) -> pl.DataFrame:
    """Events where a look-back starts or a goal window ends for a user triggered then, at a trigger, or
    anywhere nearby."""
    marks = _event_marks(campaigns)
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        event = draw(st.sampled_from(["App Launched", "Charged"]))
        user, moment = draw(st.sampled_from(aims))
        aim = draw(st.integers(0, 3))
        if aim == 3:
            ts = _instant(draw, anchor)
        elif aim == 2 or not marks:  # at a trigger: neither before it (filters) nor after it (goals)
            ts = _nudged(draw, moment)
        else:
            event, window, sign = draw(st.sampled_from(marks))
            ts = _nudged(draw, window.add_to(moment, sign))
        rows.append(
            {
                "identity": f"u{user}",
                "event": event,
                "ts": ts,
                "Amount": draw(st.sampled_from([None, "5", "12.5", "40", "abc"])),
                "Category": draw(st.sampled_from([None, "Shoes", "Books"])),
            }
        )
    schema = {
        "identity": pl.String,
        "event": pl.String,
        "ts": pl.Datetime("us", "UTC"),
        "Amount": pl.String,
        "Category": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _history(
    draw: st.DrawFn,
    anchor: datetime,
    aims: list[tuple[int, datetime]],
    *,
    campaigns: list[Campaign],
    settings: Settings,
    zones: list[str],
    far: bool = False,
) -> pl.DataFrame:
    """Deliveries where a min_gap or cap starts counting for a user triggered then (a rolling window's start,
    the start of the local calendar period in the user's zone), at a trigger, or anywhere nearby; with ``far``,
    "anywhere" is sometimes weeks to a year before (a calendar period must be told apart from the same day,
    week or month of another month or year)."""
    marks = _sent_marks(campaigns, settings)
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        user, moment = draw(st.sampled_from(aims))
        channel = draw(st.sampled_from(["push", "email", "webhook"]))
        campaign_id = draw(st.sampled_from([*IDS, "999"]))
        aim = draw(st.integers(0, 5))
        if aim == 5:
            sent_at = _instant(draw, anchor)
            if far and draw(st.booleans()):
                sent_at -= timedelta(days=draw(st.integers(20, 400)))
        elif aim == 4 or not marks:
            sent_at = _nudged(draw, moment)
        else:
            on, cid, back = draw(st.sampled_from(marks))
            channel, campaign_id = on or channel, cid or campaign_id
            edge = (
                back.add_to(moment, -1)
                if isinstance(back, Duration)
                else _calendar_start(moment, zones[user - 1], back)
            )
            sent_at = _nudged(draw, edge)
        rows.append(
            {"identity": f"u{user}", "channel": channel, "campaign_id": campaign_id, "sent_at": sent_at}
        )
    schema = {
        "identity": pl.String,
        "channel": pl.String,
        "campaign_id": pl.String,
        "sent_at": pl.Datetime("us", "UTC"),
    }
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _body(draw: st.DrawFn, users: int, simulated: list[str]) -> Any:
    """A request body: mostly valid and aimed at known users and campaigns, sometimes broken on purpose."""
    known = [f"u{n}" for n in range(1, users + 1)]

    def to() -> Any:
        if draw(st.integers(0, 11)) == 5:
            return draw(
                st.sampled_from([{"phone": ["1"]}, {"identity": "u1"}, "u1", {"identity": [None]}, {}])
            )
        kind = draw(st.sampled_from(["identity"] * 4 + ["email"]))
        pool = known if kind == "identity" else ["shared@mail.test", "u1@mail.test", "u2@mail.test"]
        values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2))
        if draw(st.integers(0, 7)) == 3:
            values.append(draw(st.sampled_from(["u99", "", 7])))
        result: dict[str, Any] = {kind: values}
        if draw(st.integers(0, 5)) == 2:
            result["objectId"] = []
        return result

    def one() -> dict[str, Any]:
        body: dict[str, Any] = {"to": to()}
        ids = draw(st.lists(st.sampled_from(simulated), min_size=1, max_size=2))
        if draw(st.integers(0, 7)) == 3:
            ids[0] = draw(st.sampled_from(["555", 101, "", None, *IDS]))
        if draw(st.booleans()):
            body["campaign_id"] = ids[0]
        else:
            body["campaign_id_list"] = ids
        good = {"msg": "well done", "order": "A1", "plan": "pro", "path": "p", "n": "3"}
        payload: Any = draw(
            st.sampled_from([good, {}, {"skip": "yes", "msg": ""}, {"msg": "ok", "skip": "no"}])
        )
        if draw(st.integers(0, 7)) == 3:
            payload = draw(
                st.sampled_from([None, {"n": 3, "plan": True}, {"n": "x", "path": "", "msg": "é" * 20}, []])
            )
        if payload is not None:
            body["ExternalTrigger"] = payload
        return body

    if draw(st.integers(0, 5)) == 2:
        return {"d": [one() for _ in range(draw(st.sampled_from([1, 2, 0])))]}
    return one()


def _targeted(body: Any, when: datetime | None, users: int) -> list[tuple[int, datetime]]:
    """``(user, trigger time)`` for every known identity a body sends to at a known time."""
    if when is None or not isinstance(body, dict):
        return []
    found = []
    for one in body.get("d", [body]):
        to = one.get("to") if isinstance(one, dict) else None
        values = to.get("identity") if isinstance(to, dict) else None
        for value in values if isinstance(values, list) else []:
            if isinstance(value, str) and value[1:].isdigit() and 1 <= int(value[1:]) <= users:
                found.append((int(value[1:]), when))
    return found


@st.composite
def scenario_strategy(draw: st.DrawFn, far_history: bool = False) -> Scenario:
    settings = draw(settings_strategy())
    anchor = draw(st.sampled_from(ANCHORS))
    # the trigger times events, history and quiet hours are aimed at; most lines arrive at one of them
    moments = draw(
        st.lists(
            st.builds(lambda k: anchor + timedelta(minutes=30 * k), st.integers(-48, 48)),
            min_size=1,
            max_size=3,
        )
    )
    walls = tuple(m.astimezone(ZoneInfo(settings.timezone)).strftime("%H:%M") for m in moments)
    campaigns = [draw(campaign_strategy(cid, anchor, walls)) for cid in IDS[: draw(st.integers(1, 3))]]
    users = draw(st.integers(1, 6))
    if far_history and draw(st.booleans()):
        # a batch spanning a year: the same date, weekday or ISO week number, a year earlier
        back = timedelta(days=draw(st.sampled_from([364, 365, 366, 371, 392])))
        moments += [moment - back for moment in moments[: draw(st.integers(1, len(moments)))]]
    at = draw(st.sampled_from(moments)) if draw(st.booleans()) else None
    lines = []
    aims: list[tuple[int, datetime]] = []  # (user, trigger time) of the well-formed recipients
    for _ in range(draw(st.integers(1, 14))):
        shape = "envelope"
        if draw(st.integers(0, 7)) == 3:
            shape = draw(st.sampled_from(["bare", "blank", "garbage", "no_time"]))
        if shape == "blank":
            lines.append("")
        elif shape == "garbage":
            lines.append(draw(st.sampled_from(["not json", "[1, 2]", '{"body": "{oops"}', '{"a": NaN}'])))
        elif shape == "bare":
            body = _body(draw, users, [c.id or "" for c in campaigns])
            aims += _targeted(body, at, users)
            lines.append(json.dumps(body))
        else:
            envelope: dict[str, Any] = {
                "id": draw(st.sampled_from(["r1", "r2", 17, None])),
                "body": _body(draw, users, [c.id or "" for c in campaigns]),
            }
            if shape == "envelope":
                when = draw(st.sampled_from(moments)) if draw(st.integers(0, 3)) else _instant(draw, anchor)
                envelope["received_at"] = _iso(draw, when)
            aims += _targeted(envelope["body"], when if shape == "envelope" else at, users)
            lines.append(json.dumps(envelope))
    profiles = _profiles(draw, users)
    zones = [zone if zone in ZONES else settings.timezone for zone in profiles["timezone"]]
    fallback = [(user, moment) for user in range(1, users + 1) for moment in moments]
    return Scenario(
        settings,
        campaigns,
        profiles,
        _events(draw, anchor, aims or fallback, campaigns),
        _history(
            draw,
            anchor,
            aims or fallback,
            campaigns=campaigns,
            settings=settings,
            zones=zones,
            far=far_history,
        ),
        lines,
        at,
    )


def assert_engines_agree(scenario: Scenario, folder: Path) -> None:
    """Both engines on the scenario's batch (default render mode) give the same outcomes, row for row."""
    batch = folder / "batch.jsonl"
    batch.write_text("\n".join(scenario.lines) + "\n", encoding="utf-8")
    inputs = EngineInputs(
        campaigns={c.id or "": c for c in scenario.campaigns},
        settings=scenario.settings,
        profiles=scenario.profiles,
        events=scenario.events,
        history=scenario.history,
    )
    _, ref = run_engine(batch, inputs, at=scenario.at, engine="reference")
    _, duck = run_engine(batch, inputs, at=scenario.at, engine="duck")
    assert_frame_equal(duck.outcomes.drop("missing_keys"), ref.outcomes.drop("missing_keys"))


def assert_engines_agree_on_scenarios(folder: Path, examples: int) -> None:
    """:func:`assert_engines_agree` on ``examples`` drawn scenarios (the same ones on every run)."""

    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(scenario=scenario_strategy())
    def agree(scenario: Scenario) -> None:
        assert_engines_agree(scenario, folder)

    agree()
