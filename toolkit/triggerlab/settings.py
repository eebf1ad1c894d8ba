"""Workspace settings: time zone, system control group, frequency caps, payload and missing-key modes."""

from __future__ import annotations

import json
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import Field, field_validator

from triggerlab._model import Model, Whole, broken, show
from triggerlab.durations import Duration, parse_duration

__all__ = ["FrequencyCap", "Settings", "is_zone", "payload_size"]

_CALENDAR_PERIODS = ("day", "week", "month")


def is_zone(name: object) -> bool:
    """True for an IANA zone name Python's zoneinfo knows (case-sensitive)."""
    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return name in available_timezones() or name == "UTC"


class FrequencyCap(Model):
    """At most ``limit`` messages per user ``per`` period, on one channel or (no channel) on all of them."""

    channel: Literal["push", "email", "whatsapp", "webhook"] | None = None
    limit: Whole = Field(ge=1)
    per: str
    window: Literal["calendar", "rolling"] = "calendar"

    @field_validator("per", mode="before")
    @classmethod
    def _per(cls, value: Any) -> str:
        if value in _CALENDAR_PERIODS:
            return str(value)
        try:
            duration = parse_duration(value)
        except ValueError:
            broken(f"must be day, week, month or a duration like 6h or 7d (got {show(value)})")
        if duration.is_months or duration.amount == 0:
            broken(f"a duration must be positive and in s, m, h, d or w (got {show(value)})")
        return str(duration)

    @property
    def is_calendar(self) -> bool:
        return self.per in _CALENDAR_PERIODS and self.window == "calendar"

    @property
    def rolling(self) -> Duration:
        """The rolling window: day/week/month are 24 h / 7 d / 30 d; a duration is itself."""
        return {"day": Duration(1, "d"), "week": Duration(7, "d"), "month": Duration(30, "d")}.get(
            self.per
        ) or parse_duration(self.per)


class Settings(Model):
    """Workspace settings (``triggerlab.yaml``)."""

    timezone: str = "UTC"
    system_control_group: Whole = 0
    frequency_caps: list[FrequencyCap] = Field(default_factory=list)
    payload_values: Literal["strict", "coerce"] = "strict"
    missing_keys: Literal["blank", "error"] = "blank"
    max_payload_bytes: Whole = Field(default=65536, ge=1)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if not is_zone(value):
            broken(f"must be an IANA time zone name like Asia/Kolkata (got {show(value)})")
        return value

    @field_validator("system_control_group")
    @classmethod
    def _system_control(cls, value: int) -> int:
        if value != 0 and not 2 <= value <= 5:
            broken(f"must be 0 or between 2 and 5 (got {value})")
        return value


def payload_size(payload: Any) -> int:
    """What ``max_payload_bytes`` limits: the UTF-8 length of the payload's compact JSON text (a lone
    surrogate escape, which Python's JSON reader accepts, counts as its 3 bytes; a Python value JSON has no
    form for, as its text)."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)
    return len(text.encode("utf-8", "surrogatepass"))
