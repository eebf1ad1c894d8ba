"""The reference engine: DESIGN.md's 14 rules, one row at a time, in plain Python.

This is the spec in code and the oracle of the differential test; it favours being obviously right over being
fast. Each ``_rule_*`` function mirrors one row of the rule table; spec/semantics.md settles the details.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import polars as pl

from triggerlab.audience import EventFilter, PropertyFilter
from triggerlab.campaign import Campaign
from triggerlab.durations import parse_duration
from triggerlab.engine import common
from triggerlab.engine.clock import dnd_delivery, local_iso, local_wall, period, user_zone
from triggerlab.engine.inputs import SAMPLE_SIZE, EngineInputs, EngineOutput, zone_warnings
from triggerlab.engine.rendering import fields_json, render_row
from triggerlab.engine.values import as_number, matches
from triggerlab.frames import MESSAGES_SCHEMA, OUTCOMES_SCHEMA
from triggerlab.settings import FrequencyCap
from triggerlab.triggers import TO_KINDS, BatchLine, Target, expand

__all__ = ["run_reference"]


@dataclass(slots=True)
class Row:
    """One recipient row as the rules fill it in."""

    target: Target
    recipient: int
    profile: dict[str, Any] | None
    identity: str | None
    status: str | None = None
    reason: str | None = None
    bucket: int | None = None
    zone: str = "UTC"
    delivery_at: datetime | None = None
    missing_keys: list[str] | None = None
    converted: bool | None = None
    fields: dict[str, Any] | None = field(default=None)

    @property
    def campaign_id(self) -> str | None:
        return self.target.campaign_id

    def stop(self, status: str, reason: str | None) -> None:
        self.status, self.reason = status, reason


class Reference:
    def __init__(self, inputs: EngineInputs) -> None:
        self.inputs = inputs
        self.settings = inputs.settings
        self.profiles = inputs.profiles.to_dicts()
        self.by_kind: dict[str, dict[str, list[int]]] = {kind: {} for kind in TO_KINDS}
        for index, profile in enumerate(self.profiles):
            for kind in TO_KINDS:
                value = profile.get(kind)
                if value is not None:
                    self.by_kind[kind].setdefault(str(value), []).append(index)
        self.events: dict[str, list[dict[str, Any]]] = {}
        for event in inputs.events.to_dicts():
            if event["ts"] is not None:  # an event without a time is at no time: no filter or goal reads it
                self.events.setdefault(event["identity"], []).append(event)
        self.history = inputs.history.to_dicts()

    # ---- rows ---------------------------------------------------------------------------------------

    def rows(self, lines: list[BatchLine]) -> list[Row]:
        rows: list[Row] = []
        for batch_line in lines:
            recipient = 0
            for target in expand(batch_line, self.settings):
                matched: list[int | None] = list(self._matches(target)) or [None]
                for index in matched:
                    profile = None if index is None else self.profiles[index]
                    identity = target.value if profile is None else str(profile["identity"])
                    rows.append(Row(target, recipient, profile, identity))
                    recipient += 1
        return rows

    def _matches(self, target: Target) -> list[int]:
        if target.invalid is not None or target.kind is None or target.value is None:
            return []
        return self.by_kind[target.kind].get(target.value, [])

    # ---- rules 1-7: one row at a time ----------------------------------------------------------------

    def stateless(self, row: Row) -> None:
        target = row.target
        if target.invalid is not None:
            return row.stop("invalid_request", target.invalid)
        campaign = self.inputs.campaigns.get(target.campaign_id or "")
        if campaign is None:
            return row.stop("unknown_campaign", common.unknown_campaign(target.campaign_id or ""))
        if row.profile is not None:
            row.bucket = common.bucket(campaign.id or "", row.identity or "")
            row.zone = user_zone(row.profile.get("timezone"), self.settings.timezone)
        start, end = common.schedule_bounds(campaign, self.settings)
        received_at = target.received_at
        assert received_at is not None  # valid requests always have a time
        if start is not None and received_at < start:
            return row.stop("campaign_inactive", common.INACTIVE_EARLY)
        if end is not None and received_at >= end:
            return row.stop("campaign_inactive", common.INACTIVE_LATE)
        if row.profile is None:
            return row.stop(
                "unknown_user", common.unknown_user_prefix(target.kind or "") + (target.value or "")
            )
        if not self.in_segment(campaign, row.profile, received_at):
            return row.stop("not_in_segment", common.NOT_IN_SEGMENT)
        system = self.settings.system_control_group
        if campaign.apply_system_control and common.bucket(common.SYSTEM_SALT, row.identity or "") < system:
            return row.stop("system_control", common.SYSTEM_CONTROL)
        if row.bucket is not None and row.bucket < campaign.control_group:
            return row.stop("control", common.CONTROL)
        return None

    def in_segment(self, campaign: Campaign, profile: dict[str, Any], received_at: datetime) -> bool:
        filters = campaign.audience.filters
        if not filters:
            return True
        results = (self._passes(rule, profile, received_at) for rule in filters)
        return all(results) if campaign.audience.match == "all" else any(results)

    def _passes(
        self, rule: PropertyFilter | EventFilter, profile: dict[str, Any], received_at: datetime
    ) -> bool:
        if isinstance(rule, PropertyFilter):
            return matches(rule, profile.get(rule.property))
        earliest = None if rule.within is None else parse_duration(rule.within).add_to(received_at, -1)
        chosen = [
            event
            for event in self.events.get(str(profile["identity"]), [])
            if event["event"] == rule.event
            and event["ts"] < received_at
            and (earliest is None or event["ts"] >= earliest)
            and all(matches(where, event.get(where.property)) for where in rule.where)
        ]
        held = _count_holds(rule, len(chosen)) and all(
            _bound_holds(aggregate, value)
            for aggregate, value in (
                (rule.sum, _total(chosen, rule.sum.property if rule.sum else "")),
                (rule.avg, _average(chosen, rule.avg.property if rule.avg else "")),
            )
            if aggregate is not None
        )
        return held if rule.did else not held

    # ---- rule 8: allotment in arrival order ----------------------------------------------------------

    def allot(self, rows: list[Row]) -> None:
        allotted: dict[str, set[str]] = {cid: set() for cid in self.inputs.campaigns}
        for entry in self.history:
            if entry["campaign_id"] in allotted:
                allotted[entry["campaign_id"]].add(entry["identity"])
        waiting = [row for row in rows if row.status is None]
        waiting.sort(key=lambda row: (row.target.received_at, row.target.line, row.recipient))
        for row in waiting:
            campaign = self.inputs.campaigns[row.campaign_id or ""]
            users = allotted[campaign.id or ""]
            if row.identity in users:
                continue
            if campaign.targeting_cap is not None and len(users) >= campaign.targeting_cap:
                row.stop("target_capped", common.target_capped(campaign))
                continue
            users.add(row.identity or "")

    # ---- rules 9-11 ----------------------------------------------------------------------------------

    def render(self, row: Row, campaign: Campaign) -> None:
        profile = {key: value for key, value in (row.profile or {}).items() if value is not None}
        rendered = render_row(campaign, profile, row.target.payload or {}, self.settings)
        row.missing_keys, row.fields = rendered.missing_keys, rendered.fields
        if rendered.status is not None:
            row.stop(rendered.status, rendered.reason)

    def schedule(self, row: Row, campaign: Campaign) -> None:
        received_at = row.target.received_at
        assert received_at is not None
        when = received_at
        dnd = campaign.delivery.dnd
        if dnd is not None:
            start, end = (datetime.strptime(text, "%H:%M").time() for text in (dnd.start, dnd.end))
            when = dnd_delivery(received_at, row.zone, start, end)
            if when != received_at and dnd.action == "discard":
                return row.stop("dnd_discarded", common.dnd_discarded(campaign))
        row.delivery_at = when
        _, schedule_end = common.schedule_bounds(campaign, self.settings)
        if schedule_end is not None and when >= schedule_end:
            return row.stop("expired", common.EXPIRED_END)
        max_delay = campaign.delivery.max_delay
        if max_delay is not None and when > parse_duration(max_delay).add_to(received_at):
            return row.stop("expired", common.expired_delay(campaign))
        return None

    # ---- rules 12-13: in delivery order, against what was delivered before ---------------------------

    def deliver(self, rows: list[Row]) -> None:
        delivered: list[tuple[str, str, str, datetime]] = [
            (entry["identity"], entry["channel"], entry["campaign_id"], entry["sent_at"])
            for entry in self.history
            # a delivery with no time is at or before no delivery_at (it still allots, rule 8)
            if entry["sent_at"] is not None
        ]
        waiting = [row for row in rows if row.status is None]
        waiting.sort(
            key=lambda row: (row.delivery_at, row.target.received_at, row.target.line, row.recipient)
        )
        for row in waiting:
            campaign = self.inputs.campaigns[row.campaign_id or ""]
            when = row.delivery_at
            assert when is not None
            mine = [
                (channel, cid, at)
                for user, channel, cid, at in delivered
                if user == row.identity and at <= when
            ]
            gap = parse_duration(campaign.delivery.min_gap).seconds
            if gap and any(cid == campaign.id and (when - at).total_seconds() < gap for _, cid, at in mine):
                row.stop("not_reeligible", common.not_reeligible(campaign))
                continue
            full = next(
                (cap for cap in common.caps_for(campaign, self.settings) if self._full(cap, row, mine)), None
            )
            if full is not None:
                row.stop("frequency_capped", common.cap_reason(full))
                continue
            row.stop("sent", None)
            delivered.append((row.identity or "", campaign.channel, campaign.id or "", when))

    def _full(self, cap: FrequencyCap, row: Row, mine: list[tuple[str, str, datetime]]) -> bool:
        when = row.delivery_at
        assert when is not None
        on_channel = [at for channel, _, at in mine if cap.channel in (None, channel)]
        if cap.is_calendar:
            current = period(cap.per, local_wall(when, row.zone))
            count = sum(1 for at in on_channel if period(cap.per, local_wall(at, row.zone)) == current)
        else:
            width = cap.rolling.seconds
            count = sum(1 for at in on_channel if (when - at).total_seconds() < width)
        return count >= cap.limit

    # ---- goal ----------------------------------------------------------------------------------------

    def convert(self, row: Row) -> None:
        campaign = self.inputs.campaigns.get(row.campaign_id or "")
        if campaign is None or campaign.goal is None or row.status not in ("sent", "control"):
            return
        opens = row.target.received_at
        assert opens is not None
        closes = campaign.goal.window.add_to(opens)
        row.converted = any(
            event["event"] == campaign.goal.event and opens < event["ts"] <= closes
            for event in self.events.get(row.identity or "", [])
        )


def _count_holds(rule: EventFilter, count: int) -> bool:
    bounds = (rule.at_least, rule.at_most, rule.exactly)
    if all(bound is None for bound in bounds):
        return count >= 1
    return (
        (rule.at_least is None or count >= rule.at_least)
        and (rule.at_most is None or count <= rule.at_most)
        and (rule.exactly is None or count == rule.exactly)
    )


def _total(events: list[dict[str, Any]], prop: str) -> Decimal:
    return sum((as_number(event.get(prop)) or Decimal(0) for event in events), Decimal(0))


def _average(events: list[dict[str, Any]], prop: str) -> Decimal:
    return _total(events, prop) / len(events) if events else Decimal(0)


_COMPARE: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "equals": operator.eq,
}


def _bound_holds(aggregate: Any, value: Decimal) -> bool:
    """Every bound of a sum or average holds (bounds compare as the decimals they are written as)."""
    return all(
        compare(value, Decimal(repr(getattr(aggregate, key))))
        for key, compare in _COMPARE.items()
        if getattr(aggregate, key) is not None
    )


def run_reference(lines: list[BatchLine], inputs: EngineInputs) -> EngineOutput:
    """Decide every row of a batch; the outcome frame is sorted by line, then recipient."""
    engine = Reference(inputs)
    rows = engine.rows(lines)
    for row in rows:
        engine.stateless(row)
    engine.allot(rows)
    for row in rows:
        if row.status is None:
            campaign = inputs.campaigns[row.campaign_id or ""]
            engine.render(row, campaign)
            if row.status is None:
                engine.schedule(row, campaign)
    engine.deliver(rows)
    for row in rows:
        engine.convert(row)
    return EngineOutput(
        _outcomes(rows), _messages(rows, inputs), zone_warnings(inputs.profiles, inputs.settings)
    )


def _outcomes(rows: list[Row]) -> pl.DataFrame:
    records = [
        {
            "request_id": row.target.request_id,
            "line": row.target.line,
            "recipient": row.recipient,
            "campaign_id": row.campaign_id,
            "identity": row.identity,
            "received_at": row.target.received_at,
            "status": row.status,
            "reason": row.reason,
            "bucket": row.bucket,
            "delivery_at": row.delivery_at,
            "delivery_local": None if row.delivery_at is None else local_iso(row.delivery_at, row.zone),
            "delayed": None
            if row.delivery_at is None
            else row.delivery_at > (row.target.received_at or row.delivery_at),
            "missing_keys": row.missing_keys,
            "converted": row.converted,
        }
        for row in rows
    ]
    return pl.DataFrame(records, schema=OUTCOMES_SCHEMA, orient="row")


def _messages(rows: list[Row], inputs: EngineInputs) -> pl.DataFrame | None:
    if inputs.render == "static":
        return None
    kept: dict[str, int] = {}
    records = []
    for row in rows:
        if row.fields is None:
            continue
        seen = kept.get(row.campaign_id or "", 0)
        if inputs.render == "sample" and seen >= SAMPLE_SIZE:
            continue
        kept[row.campaign_id or ""] = seen + 1
        records.append(
            {
                "request_id": row.target.request_id,
                "recipient": row.recipient,
                "campaign_id": row.campaign_id,
                "identity": row.identity,
                "status": row.status,
                "delivery_at": row.delivery_at,
                "fields": fields_json(row.fields),
            }
        )
    return pl.DataFrame(records, schema=MESSAGES_SCHEMA, orient="row")
