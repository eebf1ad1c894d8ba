"""CampaignBuilder as a view over Campaign: load, edit, errors next to fields, Publish state, publish."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml

from triggerlab.campaign import Campaign
from triggerlab.files import load_campaign
from triggerlab.widgets.builder import CampaignBuilder
from triggerlab.workspace import Workspace

SAMPLES = ("order_confirmation", "fitness_milestone", "subscription_upgrade")
#: the builder's sections in the product's order (the browser test expects the same titles on the page)
SECTIONS = [
    "Start",
    "Goal",
    "Audience",
    "Control group",
    "Targeting cap",
    "Message",
    "Schedule",
    "Delivery",
    "Review and publish",
    "Forecast",
]


@pytest.fixture
def fitness(sample_dir: Path) -> Campaign:
    return load_campaign(sample_dir / "campaigns" / "fitness_milestone.yaml")


@pytest.mark.parametrize("name", SAMPLES)
def test_loading_a_campaign_gives_it_back_unchanged(sample_dir: Path, name: str) -> None:
    campaign = load_campaign(sample_dir / "campaigns" / f"{name}.yaml")
    builder = CampaignBuilder(campaign=campaign)
    assert builder.errors == []
    assert builder.campaign == campaign
    assert builder.publish_button.disabled is False


def test_every_section_is_shown_in_the_products_order() -> None:
    heads = [child.children[0].value for child in CampaignBuilder().children[2:]]
    titles = [head.split("tl-section-title'>")[1].split("</span>")[0] for head in heads]
    assert titles == SECTIONS


def test_a_cap_below_100_shows_the_rule_next_to_the_cap_and_blocks_publish(fitness: Campaign) -> None:
    builder = CampaignBuilder(campaign=fitness)
    builder.cap.cap.input.value = "50"
    assert builder.cap.cap.messages == ("must be 100 or more (got 50)",)
    assert builder.cap.cap.error.value == "must be 100 or more (got 50)"
    assert builder.campaign is None
    assert [(f.path, f.message) for f in builder.errors] == [
        ("targeting_cap", "must be 100 or more (got 50)")
    ]
    assert builder.publish_button.disabled is True
    assert "1 problem to fix before publishing" in builder.review.value

    builder.cap.cap.input.value = "500"
    assert builder.cap.cap.messages == ()
    assert builder.cap.cap.error.value == ""
    assert builder.publish_button.disabled is False
    assert builder.campaign == fitness.model_copy(update={"targeting_cap": 500})


def test_a_blank_cap_means_no_limit(fitness: Campaign) -> None:
    builder = CampaignBuilder(campaign=fitness)
    builder.cap.cap.input.value = ""
    assert builder.campaign is not None
    assert builder.campaign.targeting_cap is None


def test_a_new_campaign_lists_what_is_missing_next_to_each_field() -> None:
    builder = CampaignBuilder()
    assert builder.campaign is None
    assert builder.publish_button.disabled is True
    assert builder.start.name.messages == ('must not be empty (got "")',)
    assert builder.message.inputs["push"]["title"].messages == ("required for push messages",)
    assert builder.message.inputs["push"]["body"].messages == ("required for push messages",)

    builder.start.name.input.value = "Streak reminder"
    builder.message.inputs["push"]["title"].input.value = "Keep going, {{ Profile.name | default: 'champ' }}"
    builder.message.inputs["push"]["body"].input.value = "{{ ExternalTrigger.steps }} steps today"
    assert builder.errors == []
    assert builder.campaign == Campaign(
        name="Streak reminder",
        channel="push",
        message={
            "title": "Keep going, {{ Profile.name | default: 'champ' }}",
            "body": "{{ ExternalTrigger.steps }} steps today",
        },
    )


def test_switching_channel_shows_that_channels_fields_and_keeps_the_others(fitness: Campaign) -> None:
    builder = CampaignBuilder(campaign=fitness)
    builder.start.channel.input.value = "email"
    assert builder.message.box.children == (builder.message.boxes["email"],)
    assert [(f.path, f.message) for f in builder.errors] == [
        ("message.from_email", "required for email messages"),
        ("message.subject", "required for email messages"),
    ]
    builder.start.channel.input.value = "push"
    assert builder.campaign == fitness


def test_control_group_and_min_gap_rules_show_on_their_fields(fitness: Campaign) -> None:
    builder = CampaignBuilder(campaign=fitness)
    builder.control.percent.input.value = "1"
    builder.delivery.min_gap.input.value = "1m"
    assert builder.control.percent.messages == ("must be 0 or between 2 and 99 (got 1)",)
    assert builder.delivery.min_gap.messages == (
        'must be 0m (every trigger) or between 5m and 30d (got "1m")',
    )
    assert builder.publish_button.disabled is True


def test_audience_rows_can_be_added_edited_and_removed(fitness: Campaign) -> None:
    builder = CampaignBuilder(campaign=fitness)
    builder.audience.add_property.click()
    row = builder.audience.filters.rows[-1]
    assert [(f.path, f.message) for f in builder.errors] == [
        ("audience.filters.2.property", 'must not be empty (got "")')
    ]
    row.property.input.value = "plan"
    row.op.input.value = "in"
    row.value.input.value = "pro, team, 3"
    assert builder.errors == []
    assert builder.campaign is not None
    assert builder.campaign.audience.filters[2].model_dump() == {
        "property": "plan",
        "op": "in",
        "value": ["pro", "team", 3],
    }
    first = builder.audience.filters.rows[0]
    first.box.children[0].children[-1].click()  # the trash button of the event row
    assert builder.campaign is not None
    assert [type(f).__name__ for f in builder.campaign.audience.filters] == [
        "PropertyFilter",
        "PropertyFilter",
    ]


def test_a_filter_rule_shows_on_the_row_that_breaks_it(fitness: Campaign) -> None:
    builder = CampaignBuilder(campaign=fitness)
    row = builder.audience.filters.rows[1]
    row.op.input.value = "in"
    row.value.input.value = ""
    assert row.value.messages == ("operator in needs a non-empty list of values (got [])",)
    event = builder.audience.filters.rows[0]
    event.counts["at_least"].input.value = "lots"
    assert event.counts["at_least"].messages == ('must be a whole number (got "lots")',)


def test_event_filter_conditions_and_aggregates_round_trip(sample_dir: Path) -> None:
    campaign = load_campaign(sample_dir / "campaigns" / "subscription_upgrade.yaml")
    builder = CampaignBuilder(campaign=campaign)
    event = builder.audience.filters.rows[0]
    assert event.aggregates.rows[0].bounds.input.value == "gte 100"
    event.aggregates.rows[0].bounds.input.value = "gte 100, lt 5000"
    event._add_where({"property": "Category", "op": "equals", "value": "Shoes"})
    assert builder.campaign is not None
    assert builder.campaign.audience.filters[0].model_dump(exclude_defaults=True) == {
        "event": "Charged",
        "within": "90d",
        "where": [{"property": "Category", "op": "equals", "value": "Shoes"}],
        "sum": {"property": "Amount", "gte": 100.0, "lt": 5000.0},
    }
    event.aggregates.rows[0].bounds.input.value = "about 100"
    assert [(f.path, f.message) for f in builder.errors] == [
        ("audience.filters.0.sum.about", "is not a known field; check the spelling")
    ]
    assert event.aggregates.rows[0].bounds.messages == ("about: is not a known field; check the spelling",)


def test_schedule_in_a_named_zone_writes_its_offset(fitness: Campaign) -> None:
    builder = CampaignBuilder(campaign=fitness)
    assert builder.schedule.zone.input.value == "workspace"
    builder.schedule.zone.input.value = "Asia/Kolkata"
    assert builder.campaign is not None
    assert builder.data()["schedule"] == {
        "start": "2026-11-01T00:00:00+05:30",
        "end": "2027-03-01T00:00:00+05:30",
    }
    builder.schedule.end.input.value = datetime(2026, 10, 1)
    assert builder.schedule.end.messages == (
        "must be after schedule.start (got 2026-10-01T00:00:00+05:30, start 2026-11-01T00:00:00+05:30)",
    )


def test_dnd_and_goal_toggle_their_sections(fitness: Campaign) -> None:
    builder = CampaignBuilder(campaign=fitness)
    builder.delivery.dnd_start.input.value = "25:00"
    assert builder.delivery.dnd_start.messages == (
        'must be a time HH:MM between 00:00 and 23:59 (got "25:00")',
    )
    builder.delivery.dnd.value = False
    builder.goal.enabled.value = False
    assert builder.errors == []
    assert builder.campaign is not None
    assert builder.campaign.delivery.dnd is None
    assert builder.campaign.goal is None
    assert builder.delivery.dnd_box.layout.display == "none"


def test_publish_writes_the_new_id_into_the_file_and_the_workspace(tmp_path: Path, fitness: Campaign) -> None:
    draft = fitness.model_copy(update={"id": None})
    file, workspace = tmp_path / "streak.yaml", tmp_path / "ws.duckdb"
    builder = CampaignBuilder(campaign=draft, file=file, workspace=workspace)
    assert "Draft: publishing assigns the campaign id" in builder.review.value
    builder.publish_button.click()
    campaign_id = yaml.safe_load(file.read_text(encoding="utf-8"))["id"]
    assert campaign_id.isdigit() and len(campaign_id) == 10
    assert (
        f"Published campaign <b class='tl-campaign-id'>{campaign_id}</b> (version 1)" in builder.status.value
    )
    assert builder.campaign == fitness.model_copy(update={"id": campaign_id})
    with Workspace(workspace) as ws:
        stored = ws.get(campaign_id)
    assert stored is not None
    assert stored.campaign == builder.campaign
    assert load_campaign(file) == builder.campaign


def test_publish_is_refused_while_the_campaign_has_errors(tmp_path: Path, fitness: Campaign) -> None:
    builder = CampaignBuilder(campaign=fitness, file=tmp_path / "c.yaml", workspace=tmp_path / "ws.duckdb")
    builder.cap.cap.input.value = "5"
    builder._publish_clicked()
    assert builder.status.value == (
        "<div class='tl-status bad'>Not published: the campaign has errors; fix them before publishing</div>"
    )
    assert not (tmp_path / "c.yaml").exists()


def test_the_text_form_names_the_campaign_and_its_error_count(fitness: Campaign) -> None:
    builder = CampaignBuilder(campaign=fitness)
    assert repr(builder) == "CampaignBuilder(name='Fitness milestone', channel='push', errors=0)"
    builder.cap.cap.input.value = "50"
    assert repr(builder) == "CampaignBuilder(name='Fitness milestone', channel='push', errors=1)"


def test_table_paths_fill_in_the_forecast_panel(sample_dir: Path, fitness: Campaign) -> None:
    builder = CampaignBuilder(
        campaign=fitness, triggers=sample_dir / "triggers.jsonl", profiles=sample_dir / "profiles.csv"
    )
    assert builder.forecast.triggers.input.value == str(sample_dir / "triggers.jsonl")
    assert builder.forecast.profiles.input.value == str(sample_dir / "profiles.csv")
    assert builder.forecast.events.input.value == ""


def test_a_template_that_does_not_parse_shows_under_its_field_and_blocks_publish(fitness: Campaign) -> None:
    builder = CampaignBuilder(campaign=fitness)
    body = builder.message.inputs["push"]["body"]
    body.input.value = "Hi {{ Profile.name | upcasee }}"
    assert body.messages == ('line 1:21: unknown filter "upcasee"',)
    assert builder.publish_button.disabled is True
    assert builder.campaign is None
    assert "<li>message.body:1:21: unknown filter &quot;upcasee&quot;</li>" in builder.review.value


def test_whatsapp_parameters_and_webhook_auth_round_trip() -> None:
    whatsapp = Campaign(
        id="1000000007",
        name="Shipping update",
        channel="whatsapp",
        message={
            "template": "order_shipped",
            "language": "en_GB",
            "parameters": ["{{ Profile.name }}", "{{ ExternalTrigger.eta }}"],
        },
        schedule={"start": "2026-11-01T09:00:00+01:00", "end": "2026-12-01T09:00:00+02:00"},
    )
    assert CampaignBuilder(campaign=whatsapp).campaign == whatsapp
    webhook = Campaign(
        name="CRM",
        channel="webhook",
        message={
            "url": "https://crm.example/hook",
            "method": "PUT",
            "headers": {"X-Source": "triggerlab", "X-Plan": "{{ ExternalTrigger.plan }}"},
            "content_type": "text",
            "body": "plan={{ ExternalTrigger.plan }}",
            "auth": {"kind": "basic", "username_env": "CRM_USER", "password_env": "CRM_PASSWORD"},
        },
    )
    builder = CampaignBuilder(campaign=webhook)
    assert (
        builder.message.inputs["webhook"]["headers"].input.value
        == "X-Source: triggerlab\nX-Plan: {{ ExternalTrigger.plan }}"
    )
    assert builder.campaign == webhook
    builder.message.inputs["webhook"]["headers"].input.value = "X-Source triggerlab"
    assert builder.message.inputs["webhook"]["headers"].messages == (
        "X-Source triggerlab: must be text (got null)",
    )


def test_a_cap_may_be_typed_with_thousands_separators(fitness: Campaign) -> None:
    builder = CampaignBuilder(campaign=fitness)
    builder.cap.cap.input.value = "5,000"
    assert builder.campaign is not None
    assert builder.campaign.targeting_cap == 5000
    builder.cap.cap.input.value = "lots"
    assert builder.cap.cap.messages == ('must be a whole number (got "lots")',)


def test_a_file_that_cannot_be_written_is_reported(tmp_path: Path, fitness: Campaign) -> None:
    missing = tmp_path / "no-such-folder" / "c.yaml"
    builder = CampaignBuilder(campaign=fitness, file=missing, workspace=tmp_path / "ws.duckdb")
    builder.publish_button.click()
    assert builder.status.value == (
        f"<div class='tl-status bad'>Not published: cannot write {missing}: No such file or directory</div>"
    )


def test_the_message_preview_follows_the_form(sample_dir: Path, fitness: Campaign) -> None:
    builder = CampaignBuilder(
        campaign=fitness, profiles=sample_dir / "profiles.csv", triggers=sample_dir / "triggers.jsonl"
    )
    assert builder.preview.profile_pick.options[1] == ("u00001", "u00001")
    builder.preview.profile.input.value = '{"name": "Asha"}'
    builder.preview.payload.input.value = '{"steps": "12,000", "milestone": "12k", "date": "2026-11-02"}'
    assert "<div class='tl-push-title'>12,000 steps! 🎉</div>" in builder.preview.preview.value
    builder.message.inputs["push"]["title"].input.value = "Go {{ Profile.name }}"
    assert "<div class='tl-push-title'>Go Asha</div>" in builder.preview.preview.value
    builder.cap.cap.input.value = "5"
    assert builder.preview.preview.value == ""
    assert (
        builder.preview.status.value
        == "<div class='tl-status bad'>Fix the errors shown under the fields.</div>"
    )
