"""Who converted, and for how much: goal events matched to a campaign's test and control rows.

Test users are users with a ``sent`` row, control users users with a ``control`` row. A user converts when
a goal event falls in ``(received_at, received_at + within]`` of any of their rows in that group
(spec/semantics.md, "Goal and uplift").

Revenue counts each converting goal event once per user, even when the windows of several rows of that user
overlap and hold the same event: the event is one purchase, so it is one amount of revenue. Values that are
not numbers (``-?\\d+(\\.\\d+)?`` once trimmed of Unicode white space) count 0 and are counted in
``revenue_non_numeric``; unset values count 0 silently.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from triggerlab.campaign import Campaign, Goal
from triggerlab.stats import NUMBER_PATTERN, Group, Uplift, compare

__all__ = ["campaign_uplift", "goal_offset", "non_numeric_warnings"]

_GROUP_OF_STATUS = {"sent": "test", "control": "control"}


def _goals(campaigns: Sequence[Campaign]) -> dict[str, Goal]:
    return {c.id: c.goal for c in campaigns if c.id is not None and c.goal is not None}


def goal_offset(goal: Goal) -> str:
    """The goal window as a polars offset; ``mo`` is calendar months on the UTC instant, as ours."""
    window = goal.window
    return f"{window.amount}mo" if window.is_months else f"{window.seconds}s"


def _group_rows(outcomes: pl.DataFrame, goals: dict[str, Goal]) -> pl.DataFrame:
    """``sent`` and ``control`` rows of campaigns with a goal, with their group and window end."""
    windows = pl.DataFrame(
        {"campaign_id": list(goals), "within": [goal_offset(goal) for goal in goals.values()]},
        schema={"campaign_id": pl.Utf8, "within": pl.Utf8},
    )
    return (
        outcomes.lazy()
        .filter(pl.col("status").is_in(list(_GROUP_OF_STATUS)))
        .join(windows.lazy(), on="campaign_id", how="inner")
        .select(
            "campaign_id",
            "identity",
            pl.col("status").replace_strict(_GROUP_OF_STATUS, return_dtype=pl.Utf8).alias("group"),
            pl.col("received_at").alias("opens"),
            pl.col("received_at").dt.offset_by(pl.col("within")).alias("closes"),
        )
        .collect()
    )


def _converting_events(
    rows: pl.DataFrame, goal_events: pl.DataFrame, campaign_ids: list[str]
) -> pl.DataFrame:
    """Each goal event once per group (test, control) in which it converts its user, with its revenue.

    Every window of a campaign has the same length and offsetting is monotonic, so the user's row opened
    last before an event also closes last: the event converts when that one row still covers it. An as-of
    join finds it without pairing every row of a user with every event (and counts each event once).
    """
    trimmed = pl.col("revenue").str.strip_chars()
    numeric = trimmed.str.contains(NUMBER_PATTERN.pattern)
    events = (
        goal_events.lazy()
        .with_columns(
            pl.when(numeric).then(trimmed.cast(pl.Float64)).otherwise(0.0).alias("amount"),
            (pl.col("revenue").is_not_null() & ~numeric).alias("non_numeric"),
        )
        .sort("ts")
    )
    # One as-of join per campaign and group, by identity alone: polars joins a single string key about
    # twice as fast as the (campaign_id, identity) pair.
    found = [
        events.filter(pl.col("campaign_id") == campaign_id)
        .join_asof(
            rows.lazy()
            .filter((pl.col("campaign_id") == campaign_id) & (pl.col("group") == group))
            .drop("campaign_id")
            .sort("opens"),
            left_on="ts",
            right_on="opens",
            by="identity",
            strategy="backward",
            allow_exact_matches=False,  # the window is (received_at, received_at + within]
            check_sortedness=False,  # both sides are sorted by time just above; polars cannot check per user
        )
        .filter(pl.col("closes") >= pl.col("ts"))
        for campaign_id in campaign_ids
        for group in _GROUP_OF_STATUS.values()
    ]
    return pl.concat(found).collect()


def campaign_uplift(
    outcomes: pl.DataFrame, goal_events: pl.DataFrame, campaigns: Sequence[Campaign]
) -> dict[str, Uplift]:
    """The uplift of every campaign with a goal, keyed by campaign id, in the order of ``campaigns``."""
    goals = _goals(campaigns)
    if not goals:
        return {}
    rows = _group_rows(outcomes, goals)
    users = rows.group_by("campaign_id", "group").agg(pl.col("identity").n_unique().alias("users"))
    converted = (
        _converting_events(rows, goal_events, list(goals))
        .group_by("campaign_id", "group")
        .agg(
            pl.col("identity").n_unique().alias("converted"),
            pl.col("amount").sum().alias("revenue"),
            pl.col("non_numeric").sum().alias("non_numeric"),
        )
    )
    figures = {
        (r["campaign_id"], r["group"]): r
        for r in users.join(converted, on=["campaign_id", "group"], how="left").iter_rows(named=True)
    }
    result: dict[str, Uplift] = {}
    for campaign_id, goal in goals.items():
        counts = {name: figures.get((campaign_id, name), {}) for name in ("test", "control")}
        priced = goal.revenue_property is not None
        sides = {
            name: Group(
                users=row.get("users") or 0,
                converted=row.get("converted") or 0,
                revenue=(row.get("revenue") or 0.0) if priced else None,
            )
            for name, row in counts.items()
        }
        odd = sum(row.get("non_numeric") or 0 for row in counts.values())
        result[campaign_id] = compare(
            sides["test"], sides["control"], revenue_non_numeric=odd if priced else None
        )
    return result


def non_numeric_warnings(uplift: dict[str, Uplift], campaigns: Sequence[Campaign]) -> list[str]:
    """One warning per campaign whose converting goal events had revenue values that are not numbers."""
    return [
        f"campaign {campaign_id}: {found.revenue_non_numeric} converting {goal.event} event(s) have a"
        f" non-numeric {goal.revenue_property} value (counted as 0)"
        for campaign_id, goal in _goals(campaigns).items()
        if (found := uplift.get(campaign_id)) is not None and found.revenue_non_numeric
    ]
