"""Wall clocks: user zones, DND delivery times, local ISO text and the zone transitions DuckDB reads.

DND (spec/semantics.md "Time"): a local time ``t`` is inside when ``start <= t < end`` (crossing midnight
when ``start > end``; ``start == end`` is no window); the delivery time is the first instant at or after the
trigger whose local time is outside. Local time is linear between offset changes, so the first such instant is
either where the wall clock reaches ``end`` or an offset change that lands outside; a spring-forward gap and a
fall-back fold need no special case.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from triggerlab.settings import is_zone

__all__ = ["dnd_delivery", "inside", "local_iso", "period", "transitions", "user_zone", "zone"]


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@cache
def valid_zone(name: str) -> bool:
    return is_zone(name)


def user_zone(name: object, workspace: str) -> str:
    """The profile's zone when it is a valid IANA name, else the workspace zone."""
    return name if isinstance(name, str) and valid_zone(name) else workspace


def inside(clock: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def _offset(instant: datetime, tz: ZoneInfo) -> timedelta:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return offset


def _next_change(tz: ZoneInfo, after: datetime, until: datetime) -> datetime | None:
    """The first whole second in ``(after, until]`` whose offset differs from ``after``'s, or None.

    Offsets change at whole seconds and at most once within two days, so comparing the ends and bisecting
    finds the change exactly.
    """
    before = _offset(after, tz)
    if _offset(until, tz) == before:
        return None
    low = int(after.timestamp())
    high = int(until.timestamp()) + 1
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(datetime.fromtimestamp(middle, UTC), tz) == before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def dnd_delivery(received_at: datetime, zone_name: str, start: time, end: time) -> datetime:
    """The first instant at or after ``received_at`` whose local time is outside ``[start, end)``."""
    tz = zone(zone_name)
    now = received_at
    while True:
        local = now.astimezone(tz)
        if not inside(local.time(), start, end):
            return now
        wall = local.replace(tzinfo=None)
        reach = datetime.combine(wall.date(), end)
        if reach <= wall:
            reach += timedelta(days=1)
        offset = local.utcoffset()
        assert offset is not None
        candidate = (reach - offset).replace(tzinfo=UTC)
        change = _next_change(tz, now, candidate)
        if change is None:
            return candidate
        now = change


def local_iso(instant: datetime, zone_name: str) -> str:
    """ISO text of an instant on the user's wall clock, with its offset (``2026-11-03T09:00:00+05:30``)."""
    return instant.astimezone(zone(zone_name)).isoformat()


def local_wall(instant: datetime, zone_name: str) -> datetime:
    return instant.astimezone(zone(zone_name)).replace(tzinfo=None)


def period(per: str, wall: datetime) -> tuple[int, ...]:
    """The calendar period (``day``, ``week``: ISO week, ``month``) a wall-clock time falls in."""
    if per == "day":
        return (wall.year, wall.month, wall.day)
    if per == "week":
        iso = wall.isocalendar()
        return (iso.year, iso.week)
    return (wall.year, wall.month)


def transitions(names: Iterable[str], first: date, last: date) -> list[tuple[str, datetime, int]]:
    """For each zone: its offset (seconds) from a far past instant, then at every change in the range.

    DuckDB looks offsets up here (an as-of join), so both engines read Python's zone data.
    """
    rows: list[tuple[str, datetime, int]] = []
    origin = datetime(1900, 1, 1, tzinfo=UTC)
    start = datetime.combine(first, time(), UTC)
    stop = datetime.combine(last, time(), UTC)
    for name in sorted(set(names)):
        tz = zone(name)
        rows.append((name, origin, int(_offset(start, tz).total_seconds())))
        day = start
        while day < stop:
            following = day + timedelta(days=1)
            change = _next_change(tz, day, following)
            if change is not None:
                rows.append((name, change, int(_offset(change, tz).total_seconds())))
            day = following
    return rows
