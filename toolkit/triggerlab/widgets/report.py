"""SimulationReport: a simulation's funnel, deliveries over time, uplift, outcomes and sample messages.

A view over :class:`~triggerlab.results.SimulationResult`: every figure comes from the result's own
methods (``summary``, ``funnel``, ``uplift``, ``charts``); this module only lays them out and filters the
outcomes table. :func:`triggerlab.widgets.install_display_hook` makes a result display as this widget.
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import polars as pl

from triggerlab.charts import to_svg
from triggerlab.report import fmt
from triggerlab.statuses import STATUSES
from triggerlab.widgets._style import stylesheet
from triggerlab.widgets.preview import message_preview

if TYPE_CHECKING:
    from triggerlab.results import SimulationResult

__all__ = ["SimulationReport", "funnel_html", "outcomes_html"]

ALL = "__all__"
_TABLE_ROWS = 50
_MESSAGES_SHOWN = 3
_OUTCOME_COLUMNS = ("line", "request_id", "campaign_id", "identity", "status", "reason", "delivery_local")


def _cards(result: SimulationResult) -> str:
    summary = result.summary()
    figures = [
        ("requests", summary["requests"]),
        ("recipient rows", summary["recipients"]),
        ("sent", summary["statuses"]["sent"]),
        ("users reached", summary["users_sent"]),
        ("users allotted", summary["users_allotted"]),
    ]
    cards = "".join(
        f"<div class='tl-card'><div class='tl-num'>{fmt(value)}</div><div class='tl-cap'>{label}</div></div>"
        for label, value in figures
    )
    return f"<div class='tl-cards'>{cards}</div>"


def funnel_html(result: SimulationResult, *, campaign_id: str | None = None, chart: bool = True) -> str:
    """The statuses that occurred, with counts, shares and bars; above them the funnel chart (SVG).

    With ``campaign_id``, only that campaign's rows count (a forecast of one campaign against a batch that
    also triggers others) and the chart, which shows every row, is left out.
    """
    if campaign_id is None:
        counts = dict(result.funnel().select("status", "count").iter_rows())
    else:
        counts = dict(result.funnel(by_campaign=True).select("status", campaign_id).iter_rows())
        chart = False
    total = sum(counts.values())
    top = max(counts.values(), default=0)
    rows = "".join(
        f"<tr><td>{escape(status)}</td><td class='tl-numcell'>{fmt(count)}</td>"
        f"<td class='tl-numcell'>{fmt(count / total, 'pct')}</td>"
        f"<td><div class='{'tl-bar tl-bar-sent' if status == 'sent' else 'tl-bar'}'"
        f" style='width:{240 * count // top}px'></div></td></tr>"
        for status, count in counts.items()
        if count
    )
    table = (
        "<table class='tl-table tl-funnel'><tr><th>status</th><th>rows</th><th>share</th><th></th></tr>"
        f"{rows}</table>"
    )
    svg = f"<div class='tl-chart tl-funnel-chart'>{to_svg(result.charts.funnel)}</div>" if chart else ""
    return svg + table


def outcomes_html(frame: pl.DataFrame, total: int) -> str:
    """The first rows of a (filtered) outcomes frame as a table, with how many there are."""
    shown = frame.head(_TABLE_ROWS).select(_OUTCOME_COLUMNS)
    head = "".join(f"<th>{escape(c)}</th>" for c in _OUTCOME_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in shown.iter_rows()
    )
    note = f"{fmt(frame.height)} of {fmt(total)} rows" + (
        f", first {_TABLE_ROWS} shown" if frame.height > _TABLE_ROWS else ""
    )
    return (
        f"<div class='tl-note'>{note}</div><table class='tl-table tl-outcomes'><tr>{head}</tr>{body}</table>"
    )


def _uplift_html(result: SimulationResult) -> str:
    uplift = result.uplift()
    if uplift.is_empty():
        return (
            "<div class='tl-note'>No simulated campaign has a goal, so there is no uplift to measure.</div>"
        )
    figures = (
        ("users_test", "int"),
        ("rate_test", "pct"),
        ("users_control", "int"),
        ("rate_control", "pct"),
        ("uplift_abs", "pp"),
        ("uplift_rel", "signed_pct"),
        ("p_value", "p"),
        ("incremental_revenue", "money"),
    )
    rows = "".join(
        f"<tr><td>{escape(r['campaign_id'])}</td>"
        + "".join(f"<td class='tl-numcell'>{fmt(r[key], kind)}</td>" for key, kind in figures)
        + "</tr>"
        for r in uplift.iter_rows(named=True)
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "campaign",
            "users sent",
            "conv. sent",
            "users control",
            "conv. control",
            "uplift",
            "relative",
            "p-value",
            "incr. revenue",
        )
    )
    table = f"<table class='tl-table tl-uplift'><tr>{head}</tr>{rows}</table>"
    chart = result.charts.uplift
    return table + (f"<div class='tl-chart'>{to_svg(chart)}</div>" if chart is not None else "")


class SimulationReport(w.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """The forecast of a simulation: KPIs, funnel, timeline, uplift, outcomes and rendered messages."""

    def __init__(self, result: SimulationResult) -> None:
        super().__init__()
        self.add_class("tl-app")
        self.add_class("tl-report")
        self.result = result
        self._channels = {c.id: c.channel for c in result.campaigns}
        counts = result.summary()["statuses"]
        self.status_filter = w.Dropdown(
            options=[("All statuses", ALL)] + [(f"{s} ({counts[s]:,})", s) for s in STATUSES if counts[s]],
            value=ALL,
            description="Status",
        )
        self.campaign_filter = w.Dropdown(
            options=[("All campaigns", ALL)] + [(f"{c.name} ({c.id})", c.id) for c in result.campaigns],
            value=ALL,
            description="Campaign",
        )
        self.table = w.HTML()
        self.messages = w.HTML()
        for dropdown in (self.status_filter, self.campaign_filter):
            dropdown.observe(lambda _change: self._filter(), names="value")
        timeline = w.HTML(f"<div class='tl-chart tl-timeline-chart'>{to_svg(result.charts.timeline)}</div>")
        warnings = "".join(f"<div class='tl-status warn'>{escape(text)}</div>" for text in result.warnings)
        self.tabs = w.Tab(
            children=[
                w.HTML(funnel_html(result)),
                timeline,
                w.HTML(_uplift_html(result)),
                w.VBox([w.HBox([self.status_filter, self.campaign_filter]), self.table]),
                w.VBox(
                    [
                        w.HTML("<div class='tl-note'>Rendered messages for the status chosen above.</div>"),
                        self.messages,
                    ]
                ),
            ],
            titles=("Funnel", "Deliveries over time", "Uplift", "Outcomes", "Messages"),
        )
        self.children = [
            stylesheet(),
            w.HTML(f"<div class='tl-title'>Simulation forecast</div>{_cards(result)}{warnings}"),
            self.tabs,
        ]
        self._filter()

    def __repr__(self) -> str:
        return f"SimulationReport({self.result!r})"

    def filtered(self) -> pl.DataFrame:
        """The outcomes rows the status and campaign filters select."""
        frame = self.result.outcomes
        if self.status_filter.value != ALL:
            frame = frame.filter(pl.col("status") == self.status_filter.value)
        if self.campaign_filter.value != ALL:
            frame = frame.filter(pl.col("campaign_id") == self.campaign_filter.value)
        return frame

    def _filter(self) -> None:
        self.table.value = outcomes_html(self.filtered(), self.result.outcomes.height)
        self.messages.value = self._messages_html()

    def _messages_html(self) -> str:
        messages = self.result.messages
        if messages is None:
            return (
                "<div class='tl-note'>No rendered messages: simulate with"
                ' render="sample" or "all" to see them.</div>'
            )
        if self.status_filter.value != ALL:
            messages = messages.filter(pl.col("status") == self.status_filter.value)
        if self.campaign_filter.value != ALL:
            messages = messages.filter(pl.col("campaign_id") == self.campaign_filter.value)
        if messages.is_empty():
            return "<div class='tl-note'>No rendered message for this selection.</div>"
        parts = []
        for row in messages.head(_MESSAGES_SHOWN).iter_rows(named=True):
            fields: dict[str, Any] = json.loads(row["fields"])
            head = (
                f"<div class='tl-label'><span class='tl-pill'>{escape(row['status'])}</span>"
                f"request {escape(row['request_id'])} · {escape(row['identity'] or '')}</div>"
            )
            parts.append(head + message_preview(self._channels.get(row["campaign_id"], "webhook"), fields))
        return "".join(parts)
