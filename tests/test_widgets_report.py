"""SimulationReport over a hand-made SimulationResult: figures, filters, sample messages, display hook."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.widget_results import EMAIL, PUSH, small_result
from triggerlab.results import SimulationResult
from triggerlab.widgets.report import SimulationReport


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    return small_result()


@pytest.fixture
def report(result: SimulationResult) -> SimulationReport:
    return SimulationReport(result)


def test_the_header_shows_the_summarys_figures(report: SimulationReport) -> None:
    header = report.children[1].value
    numbers = [part.split("</div>")[0] for part in header.split("<div class='tl-num'>")[1:]]
    captions = [part.split("</div>")[0] for part in header.split("<div class='tl-cap'>")[1:]]
    assert list(zip(captions, numbers, strict=True)) == [
        ("requests", "8"),
        ("recipient rows", "8"),
        ("sent", "4"),
        ("users reached", "4"),
        ("users allotted", "5"),
    ]
    assert report.tabs.titles == ("Funnel", "Deliveries over time", "Uplift", "Outcomes", "Messages")


def test_the_funnel_tab_has_the_chart_and_the_statuses_that_occurred(report: SimulationReport) -> None:
    funnel = report.tabs.children[0].value
    assert funnel.startswith("<div class='tl-chart tl-funnel-chart'><svg")
    table = funnel.split("<table class='tl-table tl-funnel'>")[1]
    statuses = [cell.split("</td>")[0] for cell in table.split("<tr><td>")[1:]]
    assert statuses == ["unknown_campaign", "not_in_segment", "control", "render_error", "sent"]
    assert "<tr><td>sent</td><td class='tl-numcell'>4</td><td class='tl-numcell'>50.00%</td>" in table


def test_the_timeline_and_uplift_tabs(report: SimulationReport) -> None:
    assert report.tabs.children[1].value.startswith("<div class='tl-chart tl-timeline-chart'><svg")
    uplift = report.tabs.children[2].value
    assert (
        f"<tr><td>{PUSH}</td><td class='tl-numcell'>2</td><td class='tl-numcell'>50.00%</td>"
        "<td class='tl-numcell'>1</td><td class='tl-numcell'>100.00%</td><td class='tl-numcell'>-50.00 pp</td>"
        "<td class='tl-numcell'>-50.00%</td><td class='tl-numcell'>0.3865</td><td class='tl-numcell'>&#8212;</td></tr>"
    ) in uplift


def test_the_outcomes_table_filters_by_status_and_campaign(report: SimulationReport) -> None:
    assert report.status_filter.options == (
        ("All statuses", "__all__"),
        ("unknown_campaign (1)", "unknown_campaign"),
        ("not_in_segment (1)", "not_in_segment"),
        ("control (1)", "control"),
        ("render_error (1)", "render_error"),
        ("sent (4)", "sent"),
    )
    assert report.table.value.startswith("<div class='tl-note'>8 of 8 rows</div>")
    report.status_filter.value = "sent"
    assert report.filtered()["request_id"].to_list() == ["t1", "t2", "t5", "t6"]
    report.campaign_filter.value = EMAIL
    assert report.filtered()["request_id"].to_list() == ["t5", "t6"]
    assert report.table.value.startswith("<div class='tl-note'>2 of 8 rows</div>")
    assert report.table.value.count("<tr><td>") == 2


def test_sample_messages_show_per_status_and_channel(report: SimulationReport) -> None:
    report.status_filter.value = "sent"
    messages = report.messages.value
    assert messages.count("class='tl-preview ") == 2
    assert "<div class='tl-push-title'>12,000 steps! 🎉</div>" in messages
    assert 'srcdoc="&lt;p&gt;Hey &lt;b&gt;Ravi&lt;/b&gt;&lt;/p&gt;"' in messages
    report.status_filter.value = "control"
    assert report.messages.value == ("<div class='tl-note'>No rendered message for this selection.</div>")


def test_a_result_displays_as_the_report_once_widgets_are_imported() -> None:
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "import triggerlab.widgets\n"
        "from widget_results import small_result\n"
        "data, _ = shell.display_formatter.format(small_result())\n"
        "print(sorted(data))\n"
        "print(data['text/plain'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [
        "['application/vnd.jupyter.widget-view+json', 'text/html', 'text/plain']",
        "SimulationReport(<SimulationResult requests=8 recipients=8 sent=4 campaigns=2>)",
    ]
