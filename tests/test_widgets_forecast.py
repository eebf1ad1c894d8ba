"""The builder's forecast panel runs the real simulator on small files and shows the campaign's funnel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triggerlab.campaign import Campaign
from triggerlab.widgets.builder import CampaignBuilder

DRAFT = Campaign(name="Streak", channel="push", message={"title": "Hi {{ Profile.name }}", "body": "Go"})


@pytest.fixture
def tables(tmp_path: Path) -> tuple[Path, Path]:
    profiles = tmp_path / "profiles.csv"
    profiles.write_text("identity,name\nu1,Asha\nu2,Ravi\n", encoding="utf-8")
    requests = [("1000000001", "u1"), ("1000000001", "u2"), ("1000000001", "nobody"), ("42", "u1")]
    triggers = tmp_path / "triggers.jsonl"
    triggers.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"t{n}",
                    "received_at": "2026-11-02T10:00:00Z",
                    "body": {"to": {"identity": [who]}, "campaign_id": campaign, "ExternalTrigger": {}},
                }
            )
            + "\n"
            for n, (campaign, who) in enumerate(requests, start=1)
        ),
        encoding="utf-8",
    )
    return triggers, profiles


def _panel(builder: CampaignBuilder, tables: tuple[Path, Path]) -> None:
    builder.forecast.triggers.input.value = str(tables[0])
    builder.forecast.profiles.input.value = str(tables[1])


def test_a_draft_is_forecast_under_the_id_its_requests_use(tables: tuple[Path, Path]) -> None:
    builder = CampaignBuilder(campaign=DRAFT)
    _panel(builder, tables)
    builder.forecast.run_button.click()
    assert builder.forecast.output.value == (
        "<div class='tl-status bad'>Cannot forecast: a draft has no id yet: give the campaign id its trigger"
        " requests use</div>"
    )
    builder.forecast.campaign_id.input.value = "1000000001"
    builder.forecast.run_button.click()
    result = builder.forecast.result
    assert result is not None
    assert result.summary()["statuses"]["sent"] == 2
    output = builder.forecast.output.value
    assert output.startswith(
        "<div class='tl-status ok'>2 users reached (2 messages) from 4 requests; 2 users allotted.</div>"
    )
    assert (
        "<tr><td>unknown_user</td><td class='tl-numcell'>1</td><td class='tl-numcell'>33.33%</td>" in output
    )
    assert "<tr><td>sent</td><td class='tl-numcell'>2</td><td class='tl-numcell'>66.67%</td>" in output
    assert output.endswith("<div class='tl-note'>1 row of the batch names other campaigns.</div>")
    assert builder.forecast.report_button.disabled is False
    builder.forecast.report_button.click()
    (report,) = builder.forecast.report.children
    assert repr(report) == "SimulationReport(<SimulationResult requests=4 recipients=4 sent=2 campaigns=1>)"
    assert result.messages is not None
    assert result.messages["identity"].to_list() == ["u1", "u2"]


def test_a_campaign_with_errors_is_not_forecast(tables: tuple[Path, Path]) -> None:
    builder = CampaignBuilder(campaign=DRAFT)
    _panel(builder, tables)
    builder.start.name.input.value = ""
    builder.forecast.run_button.click()
    assert builder.forecast.output.value == (
        "<div class='tl-status bad'>Cannot forecast: the campaign has errors; fix them before forecasting</div>"
    )
    assert builder.forecast.result is None


def test_missing_tables_are_named() -> None:
    builder = CampaignBuilder(campaign=DRAFT.model_copy(update={"id": "1000000001"}))
    builder.forecast.run_button.click()
    assert builder.forecast.output.value == (
        "<div class='tl-status bad'>Cannot forecast: choose a trigger batch and a profile table</div>"
    )
