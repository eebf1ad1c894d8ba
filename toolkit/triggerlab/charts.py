"""Altair charts of a simulation: the funnel, deliveries over time, and uplift with its 95% interval.

Data goes in as inline Vega-Lite values with ISO time text, so a chart carries everything
it shows and :func:`to_svg` renders it offline through vl-convert (no CDN, no browser).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import altair as alt
import vl_convert

from triggerlab.statuses import RULES, STATUSES

if TYPE_CHECKING:
    from triggerlab.results import SimulationResult

__all__ = ["Charts", "build_charts", "timeline_step", "to_svg"]

_WIDTH = 560
_HOURLY_SPAN_LIMIT_S = 3 * 86400


def _count_axis(top: int) -> alt.Axis:
    """Counts are whole rows: ask for at most ``top`` ticks so a small run gets no 0.5 steps."""
    return alt.Axis(format=",d", tickCount=max(1, min(top, 8)))


@dataclass(frozen=True)
class Charts:
    """The charts of one result; ``uplift`` is None when no simulated campaign has a goal."""

    funnel: alt.Chart
    timeline: alt.Chart
    uplift: alt.LayerChart | None


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as standalone SVG text (vl-convert's bundled Vega, no network)."""
    return str(vl_convert.vegalite_to_svg(chart.to_dict()))


def _inline(values: list[dict[str, Any]]) -> dict[str, Any]:
    """Inline Vega-Lite data: the chart carries its rows, nothing is fetched or written aside."""
    return {"values": values}


def _stage(status: str) -> str:
    rule = RULES[status]
    if status == "sent":
        return "sent"
    if rule <= 5:
        return "not eligible"
    if rule <= 8:
        return "held back"
    return "dropped at delivery"


def funnel_chart(result: SimulationResult) -> alt.Chart:
    values = [
        {
            "status": row["status"],
            "count": row["count"],
            "share": row["share"],
            "stage": _stage(row["status"]),
        }
        for row in result.funnel().iter_rows(named=True)
    ]
    chart: alt.Chart = (
        alt.Chart(_inline(values), title="Recipients by status (rule order)", width=_WIDTH)
        .mark_bar()
        .encode(
            y=alt.Y("status:N", sort=list(STATUSES), title=None),
            x=alt.X("count:Q", title="recipient rows", axis=_count_axis(max(v["count"] for v in values))),
            color=alt.Color(
                "stage:N",
                scale=alt.Scale(
                    domain=["not eligible", "held back", "dropped at delivery", "sent"],
                    range=["#9ca3af", "#f59e0b", "#ef4444", "#10b981"],
                ),
                title=None,
            ),
            tooltip=["status:N", "count:Q", alt.Tooltip("share:Q", format=".2%")],
        )
    )
    return chart


def timeline_step(result: SimulationResult) -> str:
    """Hourly periods for deliveries spanning at most three days, daily ones beyond."""
    span = result.outcomes.filter(result.outcomes["status"] == "sent")["delivery_at"]
    first, last = span.min(), span.max()
    if isinstance(first, datetime) and isinstance(last, datetime):
        return "1h" if (last - first).total_seconds() <= _HOURLY_SPAN_LIMIT_S else "1d"
    return "1h"


def timeline_chart(result: SimulationResult, *, local: bool = False) -> alt.Chart:
    every = timeline_step(result)
    frame = result.timeline(every, local=local)
    # Periods are written as UTC text and shown on a UTC scale, so local wall-clock periods (naive) keep
    # their wall-clock face whatever time zone the renderer runs in.
    values: list[dict[str, Any]] = [
        {
            "period": row["period"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "campaign_id": row["campaign_id"],
            "sent": row["sent"],
            "delayed": row["delayed"],
        }
        for row in frame.iter_rows(named=True)
    ]
    per_period: Counter[str] = Counter()
    for value in values:
        per_period[value["period"]] += value["sent"]
    top = max(per_period.values(), default=0)
    unit: Literal["utcyearmonthdatehours", "utcyearmonthdate"] = (
        "utcyearmonthdatehours" if every == "1h" else "utcyearmonthdate"
    )
    where = "local time" if local else "UTC"
    chart: alt.Chart = (
        alt.Chart(_inline(values), title=f"Deliveries per {every} ({where})", width=_WIDTH)
        .mark_bar()
        .encode(
            x=alt.X("period:T", timeUnit=unit, title=None),
            y=alt.Y("sum(sent):Q", title="messages sent", axis=_count_axis(top)),
            color=alt.Color("campaign_id:N", title="campaign"),
            tooltip=[
                alt.Tooltip("period:T", timeUnit=unit),
                "campaign_id:N",
                "sent:Q",
                alt.Tooltip("delayed:Q", title="delayed by DND"),
            ],
        )
    )
    return chart


def uplift_chart(result: SimulationResult) -> alt.LayerChart | None:
    frame = result.uplift()
    if frame.is_empty():
        return None
    values = [
        {
            "campaign_id": row["campaign_id"],
            "uplift": row["uplift_abs"],
            "low": row["ci95"][0],
            "high": row["ci95"][1],
        }
        for row in frame.iter_rows(named=True)
        if row["uplift_abs"] is not None and row["ci95"] is not None
    ]
    base = alt.Chart(_inline(values), title="Conversion uplift (test - control), 95% interval")
    y = alt.Y("campaign_id:N", title="campaign")
    interval = base.mark_rule(strokeWidth=2).encode(
        y=y, x=alt.X("low:Q", title="uplift in conversion rate", axis=alt.Axis(format="+.1%")), x2="high:Q"
    )
    point = base.mark_point(filled=True, size=80).encode(
        y=y,
        x="uplift:Q",
        tooltip=[
            "campaign_id:N",
            alt.Tooltip("uplift:Q", format="+.2%"),
            alt.Tooltip("low:Q", format="+.2%"),
            alt.Tooltip("high:Q", format="+.2%"),
        ],
    )
    zero = alt.Chart(_inline([{"x": 0}])).mark_rule(strokeDash=[4, 4], color="#6b7280").encode(x="x:Q")
    return alt.LayerChart(layer=[interval, point, zero], width=_WIDTH, height=max(60, 30 * len(values)))


def build_charts(result: SimulationResult) -> Charts:
    return Charts(funnel=funnel_chart(result), timeline=timeline_chart(result), uplift=uplift_chart(result))
