"""Rules 12-13 for the DuckDB engine: a compact pass, user by user, over the rows that reach them.

Whether a row is sent depends on what was sent to the same user before it, so each user's rows are decided in
delivery order (ties: ``received_at``, line, recipient) against that user's history and earlier ``sent`` rows.
Users never interact, so only the rows reaching rule 12 are visited, never the whole batch. Wall-clock times
come in precomputed from SQL (``wall``), so calendar periods use the same offsets as everything else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import polars as pl

from triggerlab.campaign import Campaign
from triggerlab.engine import common
from triggerlab.settings import FrequencyCap, Settings

__all__ = ["deliver"]


#: a calendar period as one integer, from the wall clock (what :func:`triggerlab.engine.clock.period` gives as
#: a tuple: the day, the ISO week, the month), computed for every row at once instead of once per comparison:
#: the period's first day, in days since the epoch (polars' weeks start on Monday, as ISO weeks do). A key
#: built from the date's parts once wrapped in polars' 8-bit month (13 June and 1 January made the same day).
_PERIOD_EVERY = {"day": "1d", "week": "1w", "month": "1mo"}


def _period_key(per: str, wall: pl.Expr) -> pl.Expr:
    return wall.dt.truncate(_PERIOD_EVERY[per]).dt.date().cast(pl.Int64)


_MICROS = 1_000_000


#: one delivery seen by rules 12-13: time (microseconds since the epoch), channel, campaign, period keys
_Entry = tuple[int, str, str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class _Cap:
    """A frequency cap with its width in microseconds (rolling) or the index of its period key (calendar)."""

    channel: str | None
    limit: int
    width: int | None
    key: int | None


@dataclass(frozen=True, slots=True)
class _Rule:
    """What rules 12-13 need to know about one campaign."""

    campaign_id: str
    channel: str
    gap: int
    caps: tuple[tuple[_Cap, str], ...]
    gap_reason: str


def _count(cap: _Cap, at: int, keys: tuple[int, ...], past: list[_Entry]) -> int:
    """Deliveries on the cap's channel(s) that count for a delivery at ``at`` (all of ``past`` is <= at)."""
    if cap.key is not None:
        index = cap.key
        return sum(
            1
            for _, channel, _, other in past
            if cap.channel in (None, channel) and other[index] == keys[index]
        )
    assert cap.width is not None
    return sum(1 for when, channel, _, _ in past if cap.channel in (None, channel) and at - when < cap.width)


def _decide(rule: _Rule, at: int, keys: tuple[int, ...], past: list[_Entry]) -> tuple[str, str | None]:
    if rule.gap and any(cid == rule.campaign_id and at - when < rule.gap for when, _, cid, _ in past):
        return "not_reeligible", rule.gap_reason
    for cap, reason in rule.caps:
        if _count(cap, at, keys, past) >= cap.limit:
            return "frequency_capped", reason
    return "sent", None


def _entries(frame: pl.DataFrame, at: str, pers: list[str], *others: str) -> Iterator[tuple[Any, ...]]:
    """One tuple per row: ``others``, ``at`` in microseconds since the epoch and the tuple of the period keys
    of ``wall``. Each column becomes a Python list at once and the lists are zipped: a quarter of the cost of
    ``iter_rows`` (0.16 s against 0.69 s for the 348k rows of the 10M benchmark), which builds a list per
    row for the keys."""
    keys = [_period_key(per, pl.col("wall")).alias(f"__k{index}") for index, per in enumerate(pers)]
    selected = frame.select(*others, pl.col(at).dt.epoch("us").alias("__at"), *keys)
    columns = [selected.get_column(name).to_list() for name in selected.columns]
    fields = len(others) + 1
    periods: Iterator[tuple[int, ...]] = zip(*columns[fields:], strict=True) if pers else repeat(())
    return zip(*columns[:fields], periods, strict=False)


def deliver(
    rows: pl.DataFrame, history: pl.DataFrame, campaigns: dict[str, Campaign], settings: Settings
) -> pl.DataFrame:
    """Statuses for ``rows(rid, identity, campaign_id, delivery_at, wall, sure)`` sorted in decision order.

    ``sure`` marks rows known to be sent whatever comes before them: they are not checked, only counted as
    deliveries by the rows after them.

    ``history(identity, sent_at, wall, channel, campaign_id)`` holds the users' prior deliveries. Returns
    ``rid, status, reason``. Times are compared as integers and calendar periods as precomputed keys: the
    same comparisons as :mod:`.reference`, at a fraction of the cost per row.
    """
    pers = sorted({cap.per for cap in settings.frequency_caps if cap.is_calendar})

    def compiled(cap: FrequencyCap) -> tuple[_Cap, str]:
        if cap.is_calendar:
            return _Cap(cap.channel, cap.limit, None, pers.index(cap.per)), common.cap_reason(cap)
        return _Cap(cap.channel, cap.limit, cap.rolling.seconds * _MICROS, None), common.cap_reason(cap)

    rules = {
        cid: _Rule(
            cid,
            campaign.channel,
            common.parse_seconds(campaign.delivery.min_gap) * _MICROS,
            tuple(compiled(cap) for cap in common.caps_for(campaign, settings)),
            common.not_reeligible(campaign),
        )
        for cid, campaign in campaigns.items()
    }
    past: dict[str, list[_Entry]] = {}
    for identity, channel, cid, when, keys in _entries(
        history, "sent_at", pers, "identity", "channel", "campaign_id"
    ):
        past.setdefault(identity, []).append((when, channel, cid, keys))
    statuses: list[str] = []
    reasons: list[str | None] = []
    entries = _entries(rows, "delivery_at", pers, "identity", "campaign_id", "sure")
    for identity, cid, known, at, keys in entries:
        rule = rules[cid]
        if known:
            status, reason = "sent", None
        else:
            mine = [entry for entry in past.get(identity, ()) if entry[0] <= at]
            status, reason = _decide(rule, at, keys, mine)
        statuses.append(status)
        reasons.append(reason)
        if status == "sent":
            past.setdefault(identity, []).append((at, rule.channel, cid, keys))
    return pl.DataFrame(
        {"rid": rows["rid"], "status": statuses, "reason": reasons},
        schema={"rid": rows.schema["rid"], "status": pl.String, "reason": pl.String},
    )
