"""What both engines share that is configuration, not rows: schedule bounds, buckets, reason texts.

Reasons are words a user reads in the outcome table; both engines take them from here, so a differential
test compares statuses and reasons together.
"""

from __future__ import annotations

from datetime import UTC, datetime
from hashlib import md5

from triggerlab.campaign import Campaign
from triggerlab.engine.clock import zone
from triggerlab.settings import FrequencyCap, Settings

__all__ = [
    "INACTIVE_EARLY",
    "INACTIVE_LATE",
    "SYSTEM_SALT",
    "bucket",
    "cap_reason",
    "schedule_bounds",
]

INACTIVE_EARLY = "received before schedule.start"
INACTIVE_LATE = "received at or after schedule.end"
NOT_IN_SEGMENT = "audience filters not met"
SYSTEM_CONTROL = "in the workspace's system control group"
CONTROL = "in the campaign's control group"
#: the salt of the system control group's bucket (a campaign's bucket is salted with its id)
SYSTEM_SALT = "system"
EXPIRED_END = "delivery time is at or after schedule.end"


def bucket(salt: str, user: str) -> int:
    """DESIGN.md's bucket: the last 8 bytes of md5("salt|user"), little-endian, modulo 100."""
    return int.from_bytes(md5(f"{salt}|{user}".encode()).digest()[8:], "little") % 100


def _aware(value: datetime | None, workspace: str) -> datetime | None:
    """A schedule time as a UTC instant: naive times are on the workspace clock (fold 0: first occurrence;
    a time in a spring-forward gap reads with the earlier offset, so it moves forward by the gap)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(workspace))
    return value.astimezone(UTC)


def schedule_bounds(campaign: Campaign, settings: Settings) -> tuple[datetime | None, datetime | None]:
    return (
        _aware(campaign.schedule.start, settings.timezone),
        _aware(campaign.schedule.end, settings.timezone),
    )


def unknown_campaign(campaign_id: str) -> str:
    return f"campaign {campaign_id} is not among the simulated campaigns"


def unknown_user_prefix(kind: str) -> str:
    return f"no profile has {kind} "


def target_capped(campaign: Campaign) -> str:
    return f"targeting cap of {campaign.targeting_cap} users reached"


def dnd_discarded(campaign: Campaign) -> str:
    dnd = campaign.delivery.dnd
    assert dnd is not None
    return f"inside DND hours {dnd.start}-{dnd.end} (action: discard)"


def expired_delay(campaign: Campaign) -> str:
    return f"delayed by more than max_delay {campaign.delivery.max_delay}"


def not_reeligible(campaign: Campaign) -> str:
    return f"this campaign was delivered to the user within min_gap {campaign.delivery.min_gap}"


def cap_reason(cap: FrequencyCap) -> str:
    where = f"{cap.channel} messages" if cap.channel else "messages on all channels"
    window = "calendar" if cap.is_calendar else "rolling"
    return f"frequency cap reached: {cap.limit} {where} per {cap.per} ({window})"


def caps_for(campaign: Campaign, settings: Settings) -> list[FrequencyCap]:
    """The workspace caps that can stop this campaign (none when it opts out of global limits)."""
    if not campaign.delivery.apply_global_limits:
        return []
    return [cap for cap in settings.frequency_caps if cap.channel in (None, campaign.channel)]


def parse_seconds(text: str) -> int:
    """Seconds of a duration without months (``min_gap``)."""
    from triggerlab.durations import parse_duration

    return parse_duration(text).seconds
