"""Durations (``90s``, ``15m``, ``24h``, ``7d``, ``2w``, ``1mo``) and wall-clock times (``21:00``).

``d`` is exactly 24 hours and ``w`` 168 hours; ``mo`` adds calendar months to a UTC instant, clamping the
day (Jan 31 + 1mo = Feb 28/29), as spec/semantics.md says.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from triggerlab._model import show

__all__ = ["Duration", "add_months", "format_hhmm", "parse_duration", "parse_hhmm"]

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION_RE = re.compile(r"^(\d+)(s|m|h|d|w|mo)$")
_HHMM_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class Duration:
    """A length of time as written: an amount and a unit (``s m h d w mo``)."""

    amount: int
    unit: str

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def is_months(self) -> bool:
        return self.unit == "mo"

    @property
    def seconds(self) -> int:
        """Exact length in seconds; months have none (they depend on the anchor)."""
        if self.unit == "mo":
            raise ValueError("a duration in months has no fixed length; use add_to()")
        return self.amount * _UNIT_SECONDS[self.unit]

    def add_to(self, instant: datetime, sign: int = 1) -> datetime:
        """``instant + sign * self``; months move the calendar of the instant's own zone (UTC inside)."""
        if self.unit == "mo":
            return add_months(instant, sign * self.amount)
        return instant + timedelta(seconds=sign * self.seconds)


def parse_duration(text: object) -> Duration:
    """Read ``<n>s|m|h|d|w|mo``; raise ValueError with the rule and the value otherwise."""
    if isinstance(text, Duration):
        return text
    if not isinstance(text, str) or not (m := _DURATION_RE.match(text.strip())):
        raise ValueError(f"must be a duration like 30m, 24h, 7d, 2w or 1mo (got {show(text)})")
    return Duration(int(m.group(1)), m.group(2))


def add_months(instant: datetime, months: int) -> datetime:
    """Add calendar months, clamping the day to the target month's length."""
    index = instant.year * 12 + (instant.month - 1) + months
    year, month = divmod(index, 12)
    day = min(instant.day, calendar.monthrange(year, month + 1)[1])
    return instant.replace(year=year, month=month + 1, day=day)


def parse_hhmm(value: object) -> time:
    """Read a wall-clock ``HH:MM``; an int is minutes after midnight (YAML 1.1 reads ``21:00`` as 1260)."""
    if isinstance(value, bool):
        raise ValueError(f"must be a time HH:MM between 00:00 and 23:59 (got {show(value)})")
    if isinstance(value, int):
        if 0 <= value < 24 * 60:
            return time(value // 60, value % 60)
        raise ValueError(f"must be a time HH:MM between 00:00 and 23:59 (got {show(value)})")
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, str) and (m := _HHMM_RE.match(value.strip())):
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise ValueError(f"must be a time HH:MM between 00:00 and 23:59 (got {show(value)})")


def format_hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"
