"""The Campaign model: every section of an External Trigger campaign, with its rules.

Sections follow the product (spec/external-trigger.md): start (channel, qualification), goal, audience,
control group, targeting cap, message, schedule, delivery preferences. Defaults and ranges are
spec/semantics.md's. Reading and writing files is :mod:`triggerlab.files`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_serializer, field_validator, model_validator

from triggerlab._model import Model, Whole, broken, show
from triggerlab.audience import Audience
from triggerlab.durations import Duration, format_hhmm, parse_duration, parse_hhmm
from triggerlab.messages import Message, tag_message

__all__ = ["DND", "Campaign", "Delivery", "Goal", "Schedule"]

Channel = Literal["push", "email", "whatsapp", "webhook"]


def _duration_text(value: Any, *, months: bool = True) -> str:
    try:
        duration = parse_duration(value)
    except ValueError as exc:
        broken(str(exc))
    if duration.is_months and not months:
        broken(f"must be a duration in s, m, h, d or w; months are not allowed here (got {show(value)})")
    return str(duration)


class Goal(Model):
    """Conversion goal: a user converts with a goal ``event`` within ``within`` after the trigger."""

    event: str = Field(min_length=1)
    within: str
    revenue_property: str | None = None

    @field_validator("within", mode="before")
    @classmethod
    def _within(cls, value: Any) -> str:
        text = _duration_text(value)
        if parse_duration(text).amount == 0:
            broken(f"must be longer than 0 (got {show(value)})")
        return text

    @property
    def window(self) -> Duration:
        return parse_duration(self.within)


#: the widest offsets any zone has (UTC-12 to UTC+14): how far a naive schedule time can be from UTC
_WEST, _EAST = timedelta(hours=12), timedelta(hours=14)


def _surely_not_after(end: datetime, start: datetime) -> bool:
    """Whether ``end`` is not after ``start`` in every workspace zone. Naive times are in the workspace zone,
    which a campaign does not know: two naive times (or two with offsets) compare as they are; a naive one
    against one with an offset is refused only when no zone's offset could put the end after the start."""
    if (end.tzinfo is None) == (start.tzinfo is None):
        return end <= start
    if end.tzinfo is None:  # the latest instant the naive end can be: in the zone furthest west
        return end.replace(tzinfo=UTC) + _WEST <= start
    return end <= start.replace(tzinfo=UTC) - _EAST  # the earliest the naive start can be: furthest east


class Schedule(Model):
    """``[start, end)``; either side may be open. Naive times are in the workspace time zone."""

    start: datetime | None = None
    end: datetime | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _iso(cls, value: Any) -> Any:
        if isinstance(value, str) and value.endswith("Z"):
            return value[:-1] + "+00:00"
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                broken(f"must be an ISO-8601 date-time like 2026-11-01T00:00:00+05:30 (got {show(value)})")
        return value

    @field_serializer("start", "end")
    def _write(self, value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start")
        if start and end and _surely_not_after(end, start):
            broken(f"must be after schedule.start (got {show(end)}, start {show(start)})")
        return end


class DND(Model):
    """Do Not Disturb hours in the user's local time; may cross midnight (``21:00`` to ``09:00``)."""

    start: str
    end: str
    action: Literal["delay", "discard"] = "delay"

    @field_validator("start", "end", mode="before")
    @classmethod
    def _hhmm(cls, value: Any) -> str:
        try:
            return format_hhmm(parse_hhmm(value))
        except ValueError as exc:
            broken(str(exc))


_MIN_GAP_FLOOR = 5 * 60
_MIN_GAP_CEILING = 30 * 86400


class Delivery(Model):
    """Delivery preferences: global limits, DND, maximum delay, minimum gap between messages."""

    apply_global_limits: bool = True
    dnd: DND | None = None
    max_delay: str | None = None
    min_gap: str = "0m"

    @field_validator("max_delay", mode="before")
    @classmethod
    def _max_delay(cls, value: Any) -> Any:
        return None if value is None else _duration_text(value)

    @field_validator("min_gap", mode="before")
    @classmethod
    def _min_gap(cls, value: Any) -> str:
        text = _duration_text(value, months=False)
        seconds = parse_duration(text).seconds
        if seconds != 0 and not _MIN_GAP_FLOOR <= seconds <= _MIN_GAP_CEILING:
            broken(f"must be 0m (every trigger) or between 5m and 30d (got {show(value)})")
        return text


class Campaign(Model):
    """An External Trigger campaign as a marketer designs it."""

    id: str | None = None
    name: str = Field(min_length=1)
    channel: Channel
    qualification: Literal["external_trigger"] = "external_trigger"
    goal: Goal | None = None
    audience: Audience = Field(default_factory=Audience)
    control_group: Whole = 0
    apply_system_control: bool = True
    targeting_cap: Whole | None = None
    message: Message
    schedule: Schedule = Field(default_factory=Schedule)
    delivery: Delivery = Field(default_factory=Delivery)

    @model_validator(mode="before")
    @classmethod
    def _tag(cls, data: Any) -> Any:
        return tag_message(data)

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if value is not None and (not isinstance(value, str) or not value.isdigit()):
            broken(f"must be a string of digits, as publish assigns (got {show(value)})")
        return value

    @field_validator("control_group")
    @classmethod
    def _control(cls, value: int) -> int:
        if value != 0 and not 2 <= value <= 99:
            broken(f"must be 0 or between 2 and 99 (got {value})")
        return value

    @field_validator("targeting_cap")
    @classmethod
    def _cap(cls, value: int | None) -> int | None:
        if value is not None and value < 100:
            broken(f"must be 100 or more (got {value})")
        return value
