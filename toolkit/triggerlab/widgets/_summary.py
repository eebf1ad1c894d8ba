"""The campaign overview shown before publishing: each section in one line of plain words."""

from __future__ import annotations

from datetime import datetime

from triggerlab.audience import Aggregate, EventFilter, PropertyFilter
from triggerlab.campaign import Campaign

__all__ = ["OP_LABELS", "campaign_summary"]

#: operators as the form and the overview say them
OP_LABELS = {
    "equals": "equals",
    "not_equals": "does not equal",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "exists": "is set",
    "not_exists": "is not set",
}
_CHANNELS = {"push": "Push notification", "email": "Email", "whatsapp": "WhatsApp", "webhook": "Webhook"}


def _when(value: datetime | None, open_side: str) -> str:
    if value is None:
        return open_side
    text = value.strftime("%Y-%m-%d %H:%M")
    return (
        f"{text} (workspace time zone)"
        if value.tzinfo is None
        else f"{text} {value.strftime('%z')[:3]}:{value.strftime('%z')[3:]}"
    )


def _value(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _property(item: PropertyFilter) -> str:
    value = "" if item.value is None else f" {_value(item.value)}"
    return f"{item.property} {OP_LABELS[item.op]}{value}"


def _aggregate(kind: str, aggregate: Aggregate) -> str:
    bounds = [
        f"{OP_LABELS.get(key, key)} {getattr(aggregate, key):g}"
        for key in ("gt", "gte", "lt", "lte", "equals")
        if getattr(aggregate, key) is not None
    ]
    return f"{kind} of {aggregate.property} {' and '.join(bounds)}"


def _filter(item: PropertyFilter | EventFilter) -> str:
    if isinstance(item, PropertyFilter):
        return _property(item)
    counts = [
        f"{key.replace('_', ' ')} {getattr(item, key)}"
        for key in ("at_least", "at_most", "exactly")
        if getattr(item, key) is not None
    ]
    words = f"{'did' if item.did else 'did not do'} {item.event}"
    if item.where:
        words += f" where {' and '.join(_property(w) for w in item.where)}"
    if counts:
        words += f" ({', '.join(counts)} times)"
    for kind, aggregate in (("sum", item.sum), ("average", item.avg)):
        if aggregate is not None:
            words += f" with {_aggregate(kind, aggregate)}"
    return words + (f" in the last {item.within}" if item.within else "")


def campaign_summary(campaign: Campaign) -> list[tuple[str, str]]:
    """``(section, what it says)`` for every section of the campaign."""
    goal = "none"
    if campaign.goal is not None:
        goal = f"{campaign.goal.event} within {campaign.goal.within}"
        if campaign.goal.revenue_property:
            goal += f", revenue from {campaign.goal.revenue_property}"
    filters = campaign.audience.filters
    audience = "everyone the trigger names"
    if filters:
        joiner = " and " if campaign.audience.match == "all" else " or "
        audience = joiner.join(_filter(item) for item in filters)
    control = f"{campaign.control_group}% held out" if campaign.control_group else "none"
    control += (
        "; system control group applies" if campaign.apply_system_control else "; no system control group"
    )
    cap = "no limit" if campaign.targeting_cap is None else f"at most {campaign.targeting_cap:,} users"
    schedule = f"{_when(campaign.schedule.start, 'now')} until {_when(campaign.schedule.end, 'stopped')}"
    delivery = campaign.delivery
    parts = ["global limits apply" if delivery.apply_global_limits else "global limits do not apply"]
    if delivery.dnd is not None:
        parts.append(f"DND {delivery.dnd.start}-{delivery.dnd.end} ({delivery.dnd.action})")
    if delivery.max_delay:
        parts.append(f"expires after {delivery.max_delay} delay")
    parts.append(
        "every trigger delivers" if delivery.min_gap == "0m" else f"at most one per {delivery.min_gap}"
    )
    return [
        ("Channel", f"{_CHANNELS[campaign.channel]}, triggered by API (External Trigger)"),
        ("Goal", goal),
        ("Audience", audience),
        ("Control group", control),
        ("Targeting cap", cap),
        ("Schedule", schedule),
        ("Delivery", "; ".join(parts)),
    ]
