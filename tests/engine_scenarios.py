"""Hypothesis scenarios for the engine differential test: small worlds where every rule can fire.

A scenario is settings, up to three campaigns, a handful of profiles (zones with DST changes, an invalid zone),
events, history and a trigger batch (envelopes, bare lines, ``d`` lists, v2 bodies, invalid lines, blank lines).
Trigger times cluster around DST changes of the zones used and repeat, so equal timestamps and DND windows
that cross midnight across a clock change are common. Targeting caps below 100 cannot be written in a campaign
file; the scenarios set them with ``model_copy`` (which skips validation) so that rule 8 fires with few users.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import polars as pl
from hypothesis import strategies as st

from triggerlab.campaign import Campaign
from triggerlab.settings import Settings

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
                    "limit": st.integers(1, 3),
                    "per": st.sampled_from(["day", "week", "month", "6h"]),
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
        {"event": "App Launched", "did": True, "at_least": 1, "within": "2d"},
        {"event": "App Launched", "did": False, "within": "1d"},
        {"event": "Charged", "within": "1mo", "sum": {"property": "Amount", "gte": 10}},
        {"event": "Charged", "avg": {"property": "Amount", "lt": 20.5}, "at_most": 3},
        {
            "event": "Charged",
            "where": [{"property": "Category", "op": "equals", "value": "Shoes"}],
            "exactly": 1,
        },
    ]
    return draw(st.lists(st.sampled_from(choices), max_size=3))


@st.composite
def campaign_strategy(draw: st.DrawFn, campaign_id: str, anchor: datetime) -> Campaign:
    channel = draw(st.sampled_from(sorted(MESSAGES)))
    base = _instant(draw, anchor)
    start = base - timedelta(hours=draw(st.sampled_from([1, 24]))) if draw(st.integers(0, 3)) == 1 else None
    end = base + timedelta(hours=draw(st.sampled_from([2, 30]))) if draw(st.integers(0, 3)) == 1 else None
    dnd = draw(
        st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {
                    "start": st.sampled_from(TIMES),
                    "end": st.sampled_from(TIMES),
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
            "apply_global_limits": draw(st.booleans()),
            "dnd": dnd,
            "max_delay": draw(st.sampled_from([None, "1h", "12h", "1mo"])),
            "min_gap": draw(st.sampled_from(["0m", "0m", "30m", "1d"])),
        },
    }
    if draw(st.booleans()):
        data["goal"] = {"event": "Charged", "within": draw(st.sampled_from(["6h", "2d", "1mo"]))}
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


def _events(draw: st.DrawFn, count: int, anchor: datetime) -> pl.DataFrame:
    rows = [
        {
            "identity": f"u{draw(st.integers(1, count))}",
            "event": draw(st.sampled_from(["App Launched", "Charged"])),
            "ts": _instant(draw, anchor),
            "Amount": draw(st.sampled_from([None, "5", "12.5", "40", "abc"])),
            "Category": draw(st.sampled_from([None, "Shoes", "Books"])),
        }
        for _ in range(draw(st.integers(0, 12)))
    ]
    schema = {
        "identity": pl.String,
        "event": pl.String,
        "ts": pl.Datetime("us", "UTC"),
        "Amount": pl.String,
        "Category": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _history(draw: st.DrawFn, count: int, anchor: datetime) -> pl.DataFrame:
    rows = [
        {
            "identity": f"u{draw(st.integers(1, count))}",
            "channel": draw(st.sampled_from(["push", "email", "webhook"])),
            "campaign_id": draw(st.sampled_from([*IDS, "999"])),
            "sent_at": _instant(draw, anchor),
        }
        for _ in range(draw(st.integers(0, 5)))
    ]
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


@st.composite
def scenario_strategy(draw: st.DrawFn) -> Scenario:
    settings = draw(settings_strategy())
    anchor = draw(st.sampled_from(ANCHORS))
    campaigns = [draw(campaign_strategy(cid, anchor)) for cid in IDS[: draw(st.integers(1, 3))]]
    users = draw(st.integers(1, 6))
    at = _instant(draw, anchor) if draw(st.booleans()) else None
    lines = []
    for _ in range(draw(st.integers(1, 14))):
        shape = "envelope"
        if draw(st.integers(0, 7)) == 3:
            shape = draw(st.sampled_from(["bare", "blank", "garbage", "no_time"]))
        if shape == "blank":
            lines.append("")
        elif shape == "garbage":
            lines.append(draw(st.sampled_from(["not json", "[1, 2]", '{"body": "{oops"}', '{"a": NaN}'])))
        elif shape == "bare":
            lines.append(json.dumps(_body(draw, users, [c.id or "" for c in campaigns])))
        else:
            envelope: dict[str, Any] = {
                "id": draw(st.sampled_from(["r1", "r2", 17, None])),
                "body": _body(draw, users, [c.id or "" for c in campaigns]),
            }
            if shape == "envelope":
                envelope["received_at"] = _iso(draw, _instant(draw, anchor))
            lines.append(json.dumps(envelope))
    return Scenario(
        settings,
        campaigns,
        _profiles(draw, users),
        _events(draw, users, anchor),
        _history(draw, users, anchor),
        lines,
        at,
    )
