"""The events a run can read: only the event names, users and times the audience filters and goals look at.

The events table is the largest input (tens of millions of rows) and most of it cannot matter: events of
users outside the batch, of names no filter or goal names, or too far from every trigger time. It is cut once,
in polars on the frame it already holds, and DuckDB reads what is left in place (Arrow string views, no copy).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from triggerlab.audience import EventFilter
from triggerlab.campaign import Campaign
from triggerlab.durations import parse_duration

__all__ = ["NEARLY_ALL", "event_spans", "relevant_events"]

#: a batch naming fewer than one user in this many is cut by identity first
_SELECTIVE = 4
#: a batch naming at least this share of the users is not cut by identity at all (at 10M recipients of 1M
#: users, the set lookup cost 1.5 CPU-s to drop no row)
NEARLY_ALL = 0.9

#: (earliest, latest) event time that can matter for a name; None on a side: unbounded
Span = tuple[datetime | None, datetime | None]


def _reach(text: str) -> timedelta:
    """At least as long as the duration from any instant: a month is taken as 31 days (a superset is safe)."""
    duration = parse_duration(text)
    if duration.is_months:
        return timedelta(days=31 * duration.amount + 1)
    return timedelta(seconds=duration.seconds)


def _widen(spans: dict[str, Span], name: str, low: datetime | None, high: datetime | None) -> None:
    if name not in spans:
        spans[name] = (low, high)
        return
    old_low, old_high = spans[name]
    spans[name] = (
        None if old_low is None or low is None else min(old_low, low),
        None if old_high is None or high is None else max(old_high, high),
    )


def event_spans(
    campaigns: dict[str, Campaign], received: dict[str, tuple[datetime, datetime]]
) -> dict[str, Span]:
    """For each event name, the times that can matter, given each campaign's (first, last) trigger time.

    An event filter counts events before the trigger and, with ``within``, not earlier than the window's
    start; a goal looks at events after the trigger up to the end of its window.
    """
    spans: dict[str, Span] = {}
    for cid, campaign in campaigns.items():
        if cid not in received:
            continue
        first, last = received[cid]
        for rule in campaign.audience.filters:
            if isinstance(rule, EventFilter):
                low = None if rule.within is None else first - _reach(rule.within)
                _widen(spans, rule.event, low, last)
        if campaign.goal is not None:
            _widen(spans, campaign.goal.event, first, last + _reach(campaign.goal.within))
    return spans


def _columns(campaigns: dict[str, Campaign], schema: pl.Schema) -> list[str]:
    """The key columns and every property a filter's conditions or aggregates read."""
    wanted = ["identity", "event", "ts"]
    for campaign in campaigns.values():
        for rule in campaign.audience.filters:
            if isinstance(rule, EventFilter):
                wanted += [condition.property for condition in rule.where]
                wanted += [agg.property for agg in (rule.sum, rule.avg) if agg is not None]
    return [name for name in dict.fromkeys(wanted) if name in schema]


def relevant_events(
    events: pl.DataFrame,
    identities: pl.Series | None,
    population: int,
    spans: dict[str, Span],
    campaigns: dict[str, Campaign],
) -> pl.DataFrame:
    """The rows of ``events`` of ``identities`` (out of ``population`` users; None: any user) whose name and
    time fall in ``spans``."""
    columns = _columns(campaigns, events.schema)
    if not spans:
        return events.select(columns).clear()
    keep = pl.lit(False)
    for name, (low, high) in spans.items():
        test = pl.col("event") == name
        if low is not None:
            test &= pl.col("ts") >= low
        if high is not None:
            test &= pl.col("ts") <= high
        keep |= test
    named = events.select(columns)
    if identities is None or identities.len() >= NEARLY_ALL * population:
        # a batch naming (nearly) every user: the set lookup would cost more than the few rows it drops
        return named.filter(keep)
    mine = pl.col("identity").is_in(identities.implode())
    # The more selective test goes first, so the second one reads only what is left: a small batch names a
    # few users (the set lookup drops most rows); a large one names most users, and then names and times drop
    # more.
    first, second = (mine, keep) if identities.len() * _SELECTIVE < population else (keep, mine)
    return named.filter(first).filter(second)
