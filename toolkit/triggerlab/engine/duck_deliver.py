"""Rules 12-13 for the DuckDB engine: a compact pass, user by user, over the rows that reach them.

Whether a row is sent depends on what was sent to the same user before it, so each user's rows are decided in
delivery order (ties: ``received_at``, line, recipient) against that user's history and earlier ``sent`` rows.
Users never interact, so only the rows reaching rule 12 are visited, never the whole batch. Wall-clock times
come in precomputed from SQL (``wall``), so calendar periods use the same offsets as everything else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from triggerlab.campaign import Campaign
from triggerlab.engine import common
from triggerlab.engine.clock import period
from triggerlab.settings import FrequencyCap, Settings

__all__ = ["deliver"]


@dataclass(frozen=True, slots=True)
class _Rule:
    """What rules 12-13 need to know about one campaign."""

    campaign_id: str
    channel: str
    gap: int
    caps: tuple[FrequencyCap, ...]
    gap_reason: str


def _count(
    cap: FrequencyCap, at: datetime, wall: datetime, past: list[tuple[datetime, datetime, str, str]]
) -> int:
    """Deliveries on the cap's channel(s) that count for a delivery at ``at`` (all of ``past`` is <= at)."""
    if cap.is_calendar:
        current = period(cap.per, wall)
        return sum(
            1
            for when, local, channel, _ in past
            if cap.channel in (None, channel) and period(cap.per, local) == current
        )
    width = cap.rolling.seconds
    return sum(
        1
        for when, _, channel, _ in past
        if cap.channel in (None, channel) and (at - when).total_seconds() < width
    )


def _decide(
    rule: _Rule, at: datetime, wall: datetime, past: list[tuple[datetime, datetime, str, str]]
) -> tuple[str, str | None]:
    if rule.gap and any(
        cid == rule.campaign_id and (at - when).total_seconds() < rule.gap for when, _, _, cid in past
    ):
        return "not_reeligible", rule.gap_reason
    for cap in rule.caps:
        if _count(cap, at, wall, past) >= cap.limit:
            return "frequency_capped", common.cap_reason(cap)
    return "sent", None


def deliver(
    rows: pl.DataFrame, history: pl.DataFrame, campaigns: dict[str, Campaign], settings: Settings
) -> pl.DataFrame:
    """Statuses for ``rows(rid, identity, campaign_id, delivery_at, wall)`` sorted in decision order.

    ``history(identity, sent_at, wall, channel, campaign_id)`` holds the users' prior deliveries. Returns
    ``rid, status, reason``.
    """
    rules = {
        cid: _Rule(
            cid,
            campaign.channel,
            common.parse_seconds(campaign.delivery.min_gap),
            tuple(common.caps_for(campaign, settings)),
            common.not_reeligible(campaign),
        )
        for cid, campaign in campaigns.items()
    }
    past: dict[str, list[tuple[datetime, datetime, str, str]]] = {}
    for identity, sent_at, wall, channel, cid in history.iter_rows():
        past.setdefault(identity, []).append((sent_at, wall, channel, cid))
    statuses: list[str] = []
    reasons: list[str | None] = []
    for identity, cid, at, wall in _rows(rows):
        rule = rules[cid]
        mine = [entry for entry in past.get(identity, ()) if entry[0] <= at]
        status, reason = _decide(rule, at, wall, mine)
        statuses.append(status)
        reasons.append(reason)
        if status == "sent":
            past.setdefault(identity, []).append((at, wall, rule.channel, cid))
    return pl.DataFrame(
        {"rid": rows["rid"], "status": statuses, "reason": reasons},
        schema={"rid": rows.schema["rid"], "status": pl.String, "reason": pl.String},
    )


def _rows(rows: pl.DataFrame) -> Iterable[tuple[str, str, datetime, datetime]]:
    return rows.select("identity", "campaign_id", "delivery_at", "wall").iter_rows()
