"""HTML views of a simulation: the self-contained ``report.html`` and the notebook's compact ``_repr_html_``.

The report has no script, stylesheet or font reference: styles are inline and charts are SVG rendered by
vl-convert, so it opens offline, from an e-mail attachment or a CI artifact, exactly as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from triggerlab.charts import to_svg
from triggerlab.statuses import RULES

if TYPE_CHECKING:
    from triggerlab.results import SimulationResult

__all__ = ["compact_html", "fmt", "report_html"]

#: reasons often name the value at fault (``no profile has email x``): the report shows the most frequent
#: few per status and sums the rest; every one is in ``SimulationResult.reasons()``
REASONS_PER_STATUS = 5
_NONE = "&#8212;"  # an em dash for a value that does not exist (empty group, no revenue property)

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;margin:2rem auto;
max-width:1100px;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:2rem 0 .6rem;border-bottom:1px solid #e5e7eb}
table.tl{border-collapse:collapse;margin:.4rem 0 1rem}
table.tl th,table.tl td{padding:.25rem .6rem;border-bottom:1px solid #e5e7eb;text-align:right}
table.tl td{white-space:nowrap}table.tl .text{text-align:left}
table.tl th{background:#f9fafb;font-weight:600}
.cards{display:flex;gap:.8rem;flex-wrap:wrap}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:.6rem 1rem}.card b{display:block;font-size:1.3rem}
.muted{color:#6b7280}.warn{color:#b45309}
"""


def fmt(value: Any, kind: str = "int") -> str:
    """A figure as the report shows it: ``int`` 1,234; ``pct`` 12.34%; ``pp`` +2.00 pp; ``p`` 0.1529;
    ``money`` 1,234.50; ``signed_pct`` +12.34%. None is an em dash."""
    if value is None:
        return _NONE
    if kind == "int":
        return f"{value:,}"
    if kind == "pct":
        return f"{value:.2%}"
    if kind == "signed_pct":
        return f"{value:+.2%}"
    if kind == "pp":
        return f"{value * 100:+.2f} pp"
    if kind == "p":
        return "< 0.0001" if value < 0.0001 else f"{value:.4f}"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "boost":
        return f"{value:+.2f}%"
    raise ValueError(f"unknown figure kind {kind!r}")


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, text_columns: int = 1) -> str:
    """Cells are HTML already (callers escape text); the first ``text_columns`` columns align left."""
    head = "".join(
        f'<th class="text">{escape(h)}</th>' if i < text_columns else f"<th>{escape(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="text">{c}</td>' if i < text_columns else f"<td>{c}</td>" for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table class="tl"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _funnel_table(result: SimulationResult) -> str:
    rows = [
        [escape(r["status"]), str(RULES[r["status"]]), fmt(r["count"]), fmt(r["share"], "pct")]
        for r in result.funnel().iter_rows(named=True)
    ]
    return _table(["status", "rule", "rows", "share"], rows)


_UPLIFT_COLUMNS = [
    ("users test", "users_test", "int"),
    ("converted", "converted_test", "int"),
    ("rate test", "rate_test", "pct"),
    ("users control", "users_control", "int"),
    ("converted", "converted_control", "int"),
    ("rate control", "rate_control", "pct"),
    ("uplift", "uplift_abs", "pp"),
    ("relative", "uplift_rel", "signed_pct"),
    ("p-value", "p_value", "p"),
    ("MDE", "mde", "pp"),
]
_REVENUE_COLUMNS = [
    ("ARPU test", "arpu_test", "money"),
    ("ARPU control", "arpu_control", "money"),
    ("incremental revenue", "incremental_revenue", "money"),
    ("revenue boost", "revenue_boost_pct", "boost"),
    ("non-numeric values", "revenue_non_numeric", "int"),
]


def _ci(ci95: Sequence[float] | None) -> str:
    return _NONE if ci95 is None else f"[{fmt(ci95[0], 'pp')}, {fmt(ci95[1], 'pp')}]"


def _uplift_tables(result: SimulationResult) -> str:
    uplift = result.summary()["uplift"]
    if not uplift:
        return '<p class="muted">No simulated campaign has a goal.</p>'
    rate_rows = [
        [escape(cid)] + [fmt(u[key], kind) for _, key, kind in _UPLIFT_COLUMNS] + [_ci(u["ci95"])]
        for cid, u in uplift.items()
    ]
    tables = _table(["campaign"] + [h for h, _, _ in _UPLIFT_COLUMNS] + ["95% interval"], rate_rows)
    money_rows = [
        [escape(cid)] + [fmt(u[key], kind) for _, key, kind in _REVENUE_COLUMNS]
        for cid, u in uplift.items()
        if u["revenue_non_numeric"] is not None
    ]
    if money_rows:
        tables += _table(["campaign"] + [h for h, _, _ in _REVENUE_COLUMNS], money_rows)
    return tables


def _campaign_table(result: SimulationResult, summary: dict[str, Any]) -> str:
    rows = []
    for campaign in result.campaigns:
        figures = summary["campaigns"][campaign.id]
        rows.append(
            [
                escape(str(campaign.id)),
                escape(campaign.name),
                escape(campaign.channel),
                fmt(sum(figures["statuses"].values())),
                fmt(figures["statuses"]["sent"]),
                fmt(figures["users_sent"]),
                fmt(figures["users_allotted"]),
                fmt(figures["allotted_not_delivered"]),
            ]
        )
    headers = [
        "campaign",
        "name",
        "channel",
        "rows",
        "sent",
        "users sent",
        "users allotted",
        "allotted, not sent",
    ]
    by_status = result.funnel(by_campaign=True)
    status_rows = [[escape(str(row[0]))] + [fmt(v) for v in row[1:]] for row in by_status.iter_rows()]
    return _table(headers, rows, text_columns=3) + _table(by_status.columns, status_rows)


def _reason_table(result: SimulationResult) -> str:
    rows = []
    for (status,), group in result.reasons().group_by("status", maintain_order=True):
        for r in group.head(REASONS_PER_STATUS).iter_rows(named=True):
            reason = _NONE if r["reason"] is None else escape(r["reason"])
            rows.append([escape(status), reason, fmt(r["count"])])
        if group.height > REASONS_PER_STATUS:
            rest = group.slice(REASONS_PER_STATUS)
            label = f'<span class="muted">{fmt(rest.height)} other reasons</span>'
            rows.append([escape(status), label, fmt(int(rest["count"].sum()))])
    return _table(["status", "reason", "rows"], rows, text_columns=2)


def _warnings(warnings: Sequence[str]) -> str:
    if not warnings:
        return '<p class="muted">None.</p>'
    return '<ul class="warn">' + "".join(f"<li>{escape(w)}</li>" for w in warnings) + "</ul>"


def _cards(summary: dict[str, Any]) -> str:
    refused = sum(c["allotted_not_delivered"] for c in summary["campaigns"].values())
    cards = [
        ("requests", summary["requests"]),
        ("recipient rows", summary["recipients"]),
        ("sent", summary["statuses"]["sent"]),
        ("users sent", summary["users_sent"]),
        ("users allotted", summary["users_allotted"]),
        ("allotted, not sent", refused),
    ]
    return (
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{fmt(v)}</b>{k}</div>' for k, v in cards)
        + "</div>"
    )


def report_html(result: SimulationResult) -> str:
    """The full report: figures, funnel, deliveries over time, uplift, per campaign, reasons, warnings."""
    summary = result.summary()
    charts = result.charts
    names = ", ".join(f"{escape(c.name)} ({escape(str(c.id))})" for c in result.campaigns)
    uplift_svg = "" if charts.uplift is None else to_svg(charts.uplift)
    sections = [
        "<h1>triggerlab forecast</h1>",
        f'<p class="muted">Campaigns: {names or _NONE}.'
        f" Workspace time zone: {escape(result.settings.timezone)}.</p>",
        _cards(summary),
        "<h2>Funnel</h2>",
        to_svg(charts.funnel),
        _funnel_table(result),
        "<h2>Deliveries over time</h2>",
        to_svg(charts.timeline)
        if summary["statuses"]["sent"]
        else '<p class="muted">No message was sent.</p>',
        "<h2>Goal uplift</h2>",
        _uplift_tables(result),
        uplift_svg,
        "<h2>Per campaign</h2>",
        _campaign_table(result, summary),
        "<h2>Statuses and reasons</h2>",
        _reason_table(result),
        "<h2>Warnings</h2>",
        _warnings(summary["warnings"]),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>triggerlab forecast</title>'
        f"<style>{_STYLE}</style></head><body>\n" + "\n".join(sections) + "\n</body></html>\n"
    )


def compact_html(result: SimulationResult) -> str:
    """The notebook view: headline figures, the funnel table and, with a goal, the uplift table."""
    summary = result.summary()
    head = (
        f"<b>SimulationResult</b>: {fmt(summary['requests'])} requests,"
        f" {fmt(summary['recipients'])} recipient rows, {fmt(summary['statuses']['sent'])} sent"
        f" to {fmt(summary['users_sent'])} users"
        f" ({fmt(summary['users_allotted'])} allotted)"
    )
    parts = [f"<div><p>{head}</p>", _funnel_table(result)]
    if summary["uplift"]:
        parts.append(_uplift_tables(result))
    if summary["warnings"]:
        parts.append(f'<p class="warn">{len(summary["warnings"])} warning(s); see .warnings</p>')
    return "".join(parts) + "</div>"
