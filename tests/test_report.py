"""report.html, outcomes.parquet, the notebook view and the charts, on the scenario of tests/simulated.py."""

from __future__ import annotations

import re
from pathlib import Path

import altair as alt
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests import simulated
from tests.simulated import result
from triggerlab.errors import InputError
from triggerlab.report import fmt

SVG_NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return result().write(tmp_path_factory.mktemp("out") / "nested" / "run")


@pytest.fixture(scope="module")
def report(written: Path) -> str:
    return (written / "report.html").read_text(encoding="utf-8")


def test_write_creates_the_folder_with_both_files(written: Path) -> None:
    assert sorted(p.name for p in written.iterdir()) == ["outcomes.parquet", "report.html"]


def test_outcomes_parquet_reads_back_equal(written: Path) -> None:
    assert_frame_equal(pl.read_parquet(written / "outcomes.parquet"), result().outcomes)


def test_report_inlines_three_svg_charts(report: str) -> None:
    assert report.count("<svg") == 3
    for title in ("Recipients by status (rule order)", "Deliveries per 1h (UTC)", "Conversion uplift"):
        assert title in report


def test_report_references_nothing_outside_itself(report: str) -> None:
    lowered = report.lower()
    for reference in ("<script", "<link", "@import", "url(", "<iframe", "<img", "src="):
        assert reference not in lowered
    # The only URLs are the SVG namespace names, which are identifiers and never fetched.
    assert set(re.findall(r"https?://[^\"'\s<>)]+", report)) == SVG_NAMESPACES


def test_report_shows_the_summary_figures(report: str) -> None:
    for card in (
        "<b>11</b>requests",
        "<b>12</b>recipient rows",
        "<b>4</b>sent",
        "<b>3</b>users sent",
        "<b>8</b>users allotted",
        "<b>2</b>allotted, not sent",
    ):
        assert f'<div class="card">{card}</div>' in report


def test_report_shows_the_uplift_figures(report: str) -> None:
    row = (
        '<td class="text">100</td><td>2</td><td>2</td><td>100.00%</td><td>2</td><td>1</td><td>50.00%</td>'
        "<td>+50.00 pp</td><td>+100.00%</td><td>0.2482</td><td>+140.08 pp</td><td>[-19.30 pp, +119.30 pp]</td>"
    )
    assert row in report
    money = '<td class="text">100</td><td>15.25</td><td>2.50</td><td>25.50</td><td>+510.00%</td><td>1</td>'
    assert money in report


def test_report_shows_each_campaign_and_every_reason(report: str) -> None:
    # campaign 100 sent 3 rows to 2 users: "sent" counts rows, "users sent" counts users
    assert (
        '<td class="text">100</td><td class="text">Purchase nudge &lt;push&gt;</td><td class="text">push</td>'
        "<td>6</td><td>3</td><td>2</td><td>3</td><td>0</td>"
    ) in report
    assert (
        '<td class="text">200</td><td class="text">Receipt</td><td class="text">email</td>'
        "<td>4</td><td>1</td><td>1</td><td>5</td><td>2</td>"
    ) in report
    assert (
        '<td class="text">expired</td><td class="text">delivery after schedule.end</td><td>1</td>' in report
    )
    assert '<td class="text">sent</td><td class="text">&#8212;</td><td>4</td>' in report


def test_report_escapes_names_and_warnings(report: str) -> None:
    assert "Purchase nudge &lt;push&gt; (100)" in report
    assert "<push>" not in report
    assert "<li>profile u5: time zone &#x27;Mars/Olympus&#x27; is not valid;" in report
    assert (
        "<li>campaign 100: 1 converting Purchased event(s) have a non-numeric Amount value (counted as 0)</li>"
        in report
    )


def test_report_without_goal_or_deliveries_says_so(tmp_path: Path) -> None:
    quiet = result(
        outcomes=simulated.outcomes().filter(pl.col("status") != "sent"),
        campaigns=[simulated.CAMPAIGNS[1]],
        warnings=[],
    )
    html = (quiet.write(tmp_path) / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 1
    assert '<p class="muted">No message was sent.</p>' in html
    assert '<p class="muted">No simulated campaign has a goal.</p>' in html
    assert '<h2>Warnings</h2>\n<p class="muted">None.</p>' in html


def test_report_lists_the_most_frequent_reasons_of_each_status(tmp_path: Path) -> None:
    # Twelve render errors with seven distinct reasons: "error 0" four times, "error 1" three, the rest once.
    reasons = ["error 0"] * 4 + ["error 1"] * 3 + [f"error {n}" for n in range(2, 7)]
    many = simulated.outcomes().with_columns(
        pl.Series("reason", reasons), pl.lit("render_error").alias("status")
    )
    html = (result(outcomes=many).write(tmp_path) / "report.html").read_text(encoding="utf-8")
    table = html[html.index("<h2>Statuses and reasons</h2>") : html.index("<h2>Warnings</h2>")]
    cells = re.findall(r'<td class="text">render_error</td><td class="text">(.*?)</td><td>(\d+)</td>', table)
    assert cells == [
        ("error 0", "4"),
        ("error 1", "3"),
        ("error 2", "1"),
        ("error 3", "1"),
        ("error 4", "1"),
        ('<span class="muted">2 other reasons</span>', "2"),
    ]


def test_report_sums_the_rows_of_the_reasons_left_out(tmp_path: Path) -> None:
    # Twelve render errors, six reasons twice each: five shown, the sixth summed as 1 other reason of 2 rows.
    reasons = [f"error {n}" for n in range(6) for _ in range(2)]
    many = simulated.outcomes().with_columns(
        pl.Series("reason", reasons), pl.lit("render_error").alias("status")
    )
    html = (result(outcomes=many).write(tmp_path) / "report.html").read_text(encoding="utf-8")
    table = html[html.index("<h2>Statuses and reasons</h2>") : html.index("<h2>Warnings</h2>")]
    cells = re.findall(r'<td class="text">render_error</td><td class="text">(.*?)</td><td>(\d+)</td>', table)
    assert cells[-1] == ('<span class="muted">1 other reasons</span>', "2")


def test_report_shows_revenue_when_every_value_is_numeric(tmp_path: Path) -> None:
    # "abc" made 3 (u3's purchase, inside the window): the revenue table stays, with 0 non-numeric values
    events = result().goal_events.with_columns(pl.col("revenue").replace("abc", "3"))
    html = (result(goal_events=events).write(tmp_path) / "report.html").read_text(encoding="utf-8")
    assert "<th>ARPU test</th>" in html
    row = '<td class="text">100</td><td>16.75</td><td>2.50</td><td>28.50</td><td>+570.00%</td><td>0</td>'
    assert row in html


def test_write_to_a_file_path_is_an_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("")
    with pytest.raises(InputError, match=r"^cannot create the output folder .*taken/run: "):
        result().write(blocker / "run")


def test_notebook_view_is_compact_html_without_charts() -> None:
    html = result()._repr_html_()
    assert html.startswith(
        "<div><p><b>SimulationResult</b>: 11 requests, 12 recipient rows, 4 sent to 3 users (8 allotted)</p>"
    )
    assert '<td class="text">control</td><td>7</td><td>2</td><td>16.67%</td>' in html
    assert "<td>+50.00 pp</td>" in html
    assert '<p class="warn">2 warning(s); see .warnings</p>' in html
    assert "<svg" not in html


def _values(chart: alt.Chart) -> list[dict[str, object]]:
    """The rows a chart carries (altair moves inline values to top-level ``datasets``)."""
    spec = chart.to_dict()
    values: list[dict[str, object]] = spec["datasets"][spec["data"]["name"]]
    return values


def test_charts_are_altair_charts_with_inline_data() -> None:
    charts = result().charts
    assert isinstance(charts.funnel, alt.Chart)
    assert isinstance(charts.timeline, alt.Chart)
    assert isinstance(charts.uplift, alt.LayerChart)
    funnel = _values(charts.funnel)
    assert [(v["status"], v["count"], v["stage"]) for v in funnel][-3:] == [
        ("not_reeligible", 0, "dropped at delivery"),
        ("frequency_capped", 1, "dropped at delivery"),
        ("sent", 4, "sent"),
    ]
    assert _values(charts.timeline) == [
        {"period": "2026-11-01T10:00:00Z", "campaign_id": "100", "sent": 1, "delayed": 0},
        {"period": "2026-11-01T10:00:00Z", "campaign_id": "200", "sent": 1, "delayed": 0},
        {"period": "2026-11-01T20:00:00Z", "campaign_id": "100", "sent": 1, "delayed": 0},
        {"period": "2026-11-02T09:00:00Z", "campaign_id": "100", "sent": 1, "delayed": 1},
    ]


def test_uplift_chart_is_none_without_a_goal() -> None:
    assert result(campaigns=[simulated.CAMPAIGNS[1]]).charts.uplift is None


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        (1234567, "int", "1,234,567"),
        (0.123456, "pct", "12.35%"),
        (0.25, "signed_pct", "+25.00%"),
        (-0.0193, "pp", "-1.93 pp"),
        (0.24821, "p", "0.2482"),
        (0.00002, "p", "< 0.0001"),
        (1234.5, "money", "1,234.50"),
        (510.0, "boost", "+510.00%"),
        (None, "money", "&#8212;"),
    ],
)
def test_figures_are_formatted_for_reading(value: float | None, kind: str, shown: str) -> None:
    assert fmt(value, kind) == shown
