"""Which rows reaching rules 12-13 are certainly sent, decided in SQL before any sequential pass.

Counting every earlier row of the user as sent (and all of its history up to the delivery time) over-counts
what rules 12-13 will see, so a row under every limit by that count is sent whatever happens before it. Only
users with at least one row over such a bound go through :func:`triggerlab.engine.duck_deliver.deliver`;
their rows are decided there in order, so the result is exact. Window frames here include ties and the row
itself (subtracted), which can only raise the bound.
"""

from __future__ import annotations

import duckdb

from triggerlab.campaign import Campaign
from triggerlab.engine import common
from triggerlab.engine.duck_filters import quote
from triggerlab.settings import Settings

__all__ = ["certainty_table"]

_PERIOD = {"day": "wall::DATE", "week": "date_trunc('week', wall)", "month": "date_trunc('month', wall)"}


def _cap_terms(campaigns: dict[str, Campaign], settings: Settings) -> list[str]:
    """One boolean per workspace cap: the row is under it by the over-count (or the cap does not apply)."""
    terms = []
    for cap in settings.frequency_caps:
        applies = [cid for cid, campaign in campaigns.items() if cap in common.caps_for(campaign, settings)]
        if not applies:
            continue
        on = "true" if cap.channel is None else f"channel = {quote(cap.channel)}"
        if cap.is_calendar:
            frame = (
                f"PARTITION BY identity, {_PERIOD[cap.per]}"
                " ORDER BY moment RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
            )
        else:
            frame = (
                f"PARTITION BY identity ORDER BY moment"
                f" RANGE BETWEEN INTERVAL {cap.rolling.seconds} SECOND PRECEDING AND CURRENT ROW"
            )
        count = f"(count(*) FILTER (WHERE {on}) OVER ({frame}) - CASE WHEN {on} THEN 1 ELSE 0 END)"
        listed = "[" + ", ".join(quote(cid) for cid in applies) + "]"
        terms.append(f"(NOT list_contains({listed}, campaign_id) OR {count} < {cap.limit})")
    return terms


def _gap_terms(campaigns: dict[str, Campaign]) -> list[str]:
    terms = []
    for cid, campaign in campaigns.items():
        gap = common.parse_seconds(campaign.delivery.min_gap)
        if gap:
            frame = (
                f"PARTITION BY identity, campaign_id ORDER BY moment"
                f" RANGE BETWEEN INTERVAL {gap} SECOND PRECEDING AND CURRENT ROW"
            )
            terms.append(f"(campaign_id <> {quote(cid)} OR count(*) OVER ({frame}) = 1)")
    return terms


def certainty_table(
    con: duckdb.DuckDBPyConnection,
    rows: str,
    history: str,
    campaigns: dict[str, Campaign],
    settings: Settings,
) -> None:
    """``certain(rid, ok)`` for ``rows(rid, identity, campaign_id, channel, moment, wall)``, with the users'
    prior deliveries in ``history(identity, campaign_id, channel, moment, wall)``."""
    terms = _cap_terms(campaigns, settings) + _gap_terms(campaigns)
    test = " AND ".join(terms) if terms else "true"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE certain AS
        WITH stream AS (
            SELECT rid, identity, campaign_id, channel, moment, wall FROM {rows}
            UNION ALL
            SELECT NULL, identity, campaign_id, channel, moment, wall FROM {history})
        SELECT rid, ok FROM (SELECT rid, {test} AS ok FROM stream) WHERE rid IS NOT NULL"""
    )
