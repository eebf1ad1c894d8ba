"""TemplateEditor: live preview per channel, errors with line and column, samples, paths and schema."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from triggerlab.campaign import Campaign
from triggerlab.files import load_campaign
from triggerlab.settings import Settings
from triggerlab.widgets.editor import TemplateEditor


@pytest.fixture
def fitness(sample_dir: Path) -> Campaign:
    return load_campaign(sample_dir / "campaigns" / "fitness_milestone.yaml")


def _editor(campaign: Campaign, **kwargs: object) -> TemplateEditor:
    return TemplateEditor(
        campaign,
        profile={"name": "Asha"},
        payload={"steps": "12,000", "milestone": "12k steps", "date": "2026-11-02"},
        **kwargs,  # type: ignore[arg-type]
    )


def test_push_preview_is_a_phone_card_that_follows_typing(fitness: Campaign) -> None:
    editor = _editor(fitness)
    assert editor.rendered is not None
    assert editor.rendered.status == "ok"
    assert "<div class='tl-push-title'>12,000 steps! 🎉</div>" in editor.preview.value
    assert (
        "<div class='tl-push-body'>Way to go, Asha. You just hit 12k steps. Keep the streak alive tomorrow.</div>"
        in editor.preview.value
    )
    assert editor.status.value == (
        "<div class='tl-status ok tl-render-ok'>Renders: this message would be sent."
        "<div class='tl-note'>defaults used: ExternalTrigger.badge</div></div>"
    )
    editor.message.inputs["push"]["title"].input.value = "Hey {{ Profile.name }} <3"
    assert "<div class='tl-push-title'>Hey Asha &lt;3</div>" in editor.preview.value
    assert editor.campaign is not None
    assert editor.campaign.message.model_dump()["title"] == "Hey {{ Profile.name }} <3"


def test_a_syntax_error_shows_under_its_field_with_line_and_column(fitness: Campaign) -> None:
    editor = _editor(fitness)
    body = editor.message.inputs["push"]["body"]
    body.input.value = "Hi\n{{ Profile.name | upcasee }}"
    assert body.messages == ('line 2:18: unknown filter "upcasee"',)
    assert editor.campaign is None
    assert editor.rendered is None
    assert editor.status.value == "<div class='tl-status bad'>Fix the errors shown under the fields.</div>"
    body.input.value = "Hi {{ Profile.name | upcase }}"
    assert body.messages == ()
    assert "<div class='tl-push-body'>Hi ASHA</div>" in editor.preview.value


def test_an_abort_is_shown_with_its_reason(fitness: Campaign) -> None:
    editor = _editor(fitness)
    editor.message.inputs["push"]["body"].input.value = "{% abort 'no steps today' %}"
    assert editor.rendered is not None
    assert editor.rendered.status == "aborted"
    assert editor.status.value.startswith(
        "<div class='tl-status bad tl-render-aborted'>Aborted: no steps today"
    )


def test_sample_json_errors_name_line_and_column(fitness: Campaign) -> None:
    editor = _editor(fitness)
    editor.payload.input.value = '{\n  "steps": 12,\n}'
    assert editor.payload.messages == (
        "line 3, column 1: the sample payload is not valid JSON: Expecting property name enclosed in double quotes",
    )
    assert editor.status.value == "<div class='tl-status bad'>Fix the sample JSON to see the preview.</div>"


def test_a_payload_that_breaks_the_contract_is_reported(fitness: Campaign) -> None:
    editor = _editor(fitness)
    editor.payload.input.value = json.dumps({"steps": 12000, "milestone": "x", "date": "d"})
    assert editor.payload.messages == (
        "ExternalTrigger.steps: must be a string (got 12000); payload_values: coerce accepts it",
    )


def test_profiles_and_payloads_can_be_picked_from_tables(fitness: Campaign, sample_dir: Path) -> None:
    profiles = pl.DataFrame({"identity": ["u1", "u2"], "name": ["Asha", None], "plan": ["pro", "free"]})
    editor = TemplateEditor(fitness, profiles=profiles, triggers=sample_dir / "triggers.jsonl")
    assert editor.profile_pick.options[:3] == (("typed below", "__typed__"), ("u1", "u1"), ("u2", "u2"))
    assert json.loads(editor.profile.input.value) == {"identity": "u1", "name": "Asha", "plan": "pro"}
    editor.profile_pick.value = "u2"
    assert json.loads(editor.profile.input.value) == {"identity": "u2", "plan": "free"}
    assert "Way to go, champ." in editor.preview.value
    labels = [label for label, _value in editor.payload_pick.options[1:]]
    assert labels and all(label.endswith("campaign 1750575722") for label in labels)
    editor.payload_pick.value = labels[0]
    assert editor.payload.input.value == json.dumps(
        editor.sample.payloads[labels[0]], indent=2, ensure_ascii=False
    )


def test_email_preview_runs_the_html_in_a_sandboxed_frame(sample_dir: Path) -> None:
    campaign = load_campaign(sample_dir / "campaigns" / "order_confirmation.yaml")
    editor = TemplateEditor(
        campaign,
        profile={"name": "<Ravi>"},
        payload={"productDetails": [{"productName": "Face Serum", "pricingDetails": []}]},
    )
    preview = editor.preview.value
    assert "<div><b>Subject:</b> Your ShopLane order is confirmed, &lt;Ravi&gt;</div>" in preview
    frame = preview.split("<iframe ")[1].split(">")[0]
    assert frame.startswith('class="tl-mail" sandbox="" srcdoc="&lt;p&gt;Hey &amp;lt;Ravi&amp;gt;&lt;/p&gt;')
    assert "&lt;h3&gt;Face Serum&lt;/h3&gt;" in frame


def test_webhook_preview_pretty_prints_the_json_body(sample_dir: Path) -> None:
    campaign = load_campaign(sample_dir / "campaigns" / "subscription_upgrade.yaml")
    editor = TemplateEditor(
        campaign,
        profile={"identity": "u1", "email": "a@b.example"},
        payload={"newPlan": "pro", "amount": "12"},
        settings=Settings(),
    )
    expected = json.dumps(
        {"identity": "u1", "email": "a@b.example", "plan": "pro", "previous_plan": "free", "amount": "12"},
        indent=2,
    ).replace('"', "&quot;")
    assert editor.preview.value == (
        "<div class='tl-preview tl-preview-webhook'><div class='tl-code'><b>POST</b>"
        f" https://crm.example/hooks/subscription\nX-Source: triggerlab\n\n{expected}</div></div>"
    )


def test_paths_with_their_defaults_and_the_payload_schema(fitness: Campaign) -> None:
    editor = _editor(fitness)
    rows = [row.split("</tr>")[0] for row in editor.paths.value.split("<tr><td>")[1:]]
    assert rows == [
        "<code>ExternalTrigger.badge</code></td><td>image_url</td><td class='tl-ok'>has a default</td>",
        "<code>ExternalTrigger.date</code></td><td>deep_link</td><td class='tl-bad'>no default</td>",
        "<code>ExternalTrigger.milestone</code></td><td>body</td><td class='tl-bad'>no default</td>",
        "<code>ExternalTrigger.steps</code></td><td>title</td><td class='tl-ok'>has a default</td>",
        "<code>Profile.name</code></td><td>body</td><td class='tl-ok'>has a default</td>",
    ]
    assert editor.schema.value.startswith("<div class='tl-code'>{")


def test_payloads_can_be_picked_from_a_parquet_batch(fitness: Campaign, tmp_path: Path) -> None:
    bodies = [
        {"to": {"identity": ["u1"]}, "campaign_id": "1750575722", "ExternalTrigger": {"steps": "20,000"}},
        "not json",
        {
            "d": [
                {"to": {"identity": ["u2"]}, "campaign_id": 1750575722, "ExternalTrigger": {"steps": "9,000"}}
            ]
        },
    ]
    batch = pl.DataFrame(
        {
            "id": ["a", "b", "c"],
            "received_at": ["2026-11-02T10:00:00Z"] * 3,
            "body": [body if isinstance(body, str) else json.dumps(body) for body in bodies],
        }
    )
    batch.write_parquet(tmp_path / "batch.parquet")
    editor = TemplateEditor(fitness, triggers=tmp_path / "batch.parquet")
    assert editor.payload_pick.options == (
        ("typed below", "__typed__"),
        ("line 1 · campaign 1750575722", "line 1 · campaign 1750575722"),
        ("line 3 · campaign 1750575722", "line 3 · campaign 1750575722"),
    )
    editor.payload_pick.value = "line 3 · campaign 1750575722"
    assert json.loads(editor.payload.input.value) == {"steps": "9,000"}
    assert "<div class='tl-push-title'>9,000 steps! 🎉</div>" in editor.preview.value


def test_without_samples_the_payload_starts_as_an_example_of_every_key(sample_dir: Path) -> None:
    campaign = load_campaign(sample_dir / "campaigns" / "order_confirmation.yaml")
    editor = TemplateEditor(campaign)
    assert json.loads(editor.payload.input.value) == {
        "productDetails": [
            {
                "productName": "<productName>",
                "productID": "<productID>",
                "imageURL": "<imageURL>",
                "pricingDetails": [{"name": "<name>", "value": "<value>"}],
            }
        ]
    }
    assert json.loads(editor.profile.input.value) == {"name": "Asha"}
    assert editor.rendered is not None
    assert editor.rendered.status == "ok"
    assert editor.payload.messages == ()
