"""Files round-trip byte for byte; publish assigns ids, keeps them, versions edits; the CLI's exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from triggerlab import Campaign, Workspace, load_campaign, publish
from triggerlab.cli import main
from triggerlab.files import dump_document, load_settings, save_campaign

from .conftest import SAMPLE

CAMPAIGNS = sorted((SAMPLE / "campaigns").glob("*.yaml"))


def test_there_are_three_sample_campaigns() -> None:
    assert [p.name for p in CAMPAIGNS] == [
        "fitness_milestone.yaml",
        "order_confirmation.yaml",
        "subscription_upgrade.yaml",
    ]


@pytest.mark.parametrize("path", CAMPAIGNS, ids=lambda p: p.stem)
def test_sample_campaign_round_trip_is_byte_stable(path: Path, tmp_path: Path) -> None:
    campaign = load_campaign(path)
    out = tmp_path / path.name
    save_campaign(campaign, out)
    assert out.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("path", CAMPAIGNS, ids=lambda p: p.stem)
def test_json_round_trip(path: Path, tmp_path: Path) -> None:
    campaign = load_campaign(path)
    out = tmp_path / f"{path.stem}.json"
    save_campaign(campaign, out)
    again = load_campaign(out)
    assert again == campaign
    save_campaign(again, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == out.read_bytes()


def test_settings_round_trip() -> None:
    path = SAMPLE / "triggerlab.yaml"
    assert dump_document(load_settings(path)) == path.read_text(encoding="utf-8")


def test_sample_order_confirmation_reads_as_designed() -> None:
    campaign = load_campaign(SAMPLE / "campaigns" / "order_confirmation.yaml")
    assert (campaign.id, campaign.channel, campaign.control_group, campaign.apply_system_control) == (
        "1695721550",
        "email",
        10,
        False,
    )
    assert campaign.goal is not None and str(campaign.goal.window) == "24h"
    assert campaign.audience.filters[0].model_dump() == {
        "property": "Customer Type",
        "op": "equals",
        "value": "Gold",
    }


def _draft(tmp_path: Path) -> Path:
    text = (SAMPLE / "campaigns" / "subscription_upgrade.yaml").read_text(encoding="utf-8")
    draft = tmp_path / "draft.yaml"
    draft.write_text("# upgrade hook, owned by CRM team\n" + text.split("\n", 1)[1], encoding="utf-8")
    return draft


def test_publish_assigns_id_writes_it_back_and_keeps_comments(tmp_path: Path) -> None:
    draft, ws = _draft(tmp_path), tmp_path / "ws.duckdb"
    with Workspace(ws) as workspace:
        first = workspace.publish(load_campaign(draft), now=1_790_000_000)
    assert (first.id, first.version) == ("1790000000", 1)

    published = publish(draft, workspace=ws)
    new_id = published.id
    assert len(new_id) == 10 and new_id.isdigit() and int(new_id) > int(first.id)
    lines = draft.read_text(encoding="utf-8").splitlines()
    assert lines[:3] == [
        f"id: '{new_id}'",
        "# upgrade hook, owned by CRM team",
        "name: Subscription upgrade to CRM",
    ]

    again = publish(draft, workspace=ws)
    assert (again.id, again.version) == (new_id, 1)

    draft.write_text(draft.read_text(encoding="utf-8").replace("control_group: 5", "control_group: 7"))
    edited = publish(draft, workspace=ws)
    assert (edited.id, edited.version, edited.campaign.control_group) == (new_id, 2, 7)

    with Workspace(ws) as workspace:
        assert [(c.id, c.version) for c in workspace.campaigns()] == [("1790000000", 1), (new_id, 2)]
        assert [c.version for c in workspace.versions(new_id)] == [1, 2]
        old = workspace.get(new_id, version=1)
        assert old is not None and old.campaign.control_group == 5


def test_publish_keeps_an_existing_id(tmp_path: Path) -> None:
    src = SAMPLE / "campaigns" / "order_confirmation.yaml"
    copy = tmp_path / src.name
    shutil.copy(src, copy)
    published = publish(copy, workspace=tmp_path / "ws.duckdb")
    assert published.id == "1695721550"
    assert copy.read_bytes() == src.read_bytes()


def test_settings_are_stored_in_the_workspace(tmp_path: Path) -> None:
    settings = load_settings(SAMPLE / "triggerlab.yaml")
    with Workspace(tmp_path / "ws.duckdb") as ws:
        assert ws.settings.timezone == "UTC"
        ws.settings = settings
    with Workspace(tmp_path / "ws.duckdb") as ws:
        assert ws.settings == settings


def test_campaign_builds_in_python() -> None:
    campaign = Campaign.model_validate(
        {"name": "Hi", "channel": "push", "message": {"title": "t", "body": "b"}, "targeting_cap": 100}
    )
    assert (
        dump_document(campaign)
        == "name: Hi\nchannel: push\ntargeting_cap: 100\nmessage:\n  title: t\n  body: b\n"
    )


# CLI ---------------------------------------------------------------------------------------------------------


def test_cli_validate_ok_and_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: T\nchannel: push\ntargeting_cap: 99\nmessage: {title: t, body: b}\n")
    assert main(["validate", str(CAMPAIGNS[0])]) == 0
    assert capsys.readouterr().out == f"{CAMPAIGNS[0]}: ok\n"
    assert main(["validate", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == f"{bad}:3: targeting_cap: must be 100 or more (got 99)\n"
    assert captured.err == "1 of 1 campaign file(s) have findings\n"


def test_cli_usage_and_input_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path / "missing.yaml")]) == 2
    assert capsys.readouterr().err == f"triggerlab: {tmp_path / 'missing.yaml'}: no such file\n"
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        "triggerlab: argument COMMAND: invalid choice: 'frobnicate'"
    )
    assert main(["list", "--workspace", str(tmp_path / "none.duckdb")]) == 2
    assert "no workspace here yet" in capsys.readouterr().err


def test_cli_a_long_wrong_value_is_cut_and_a_directory_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a file that is one long text, not a mapping: the message shows its first 120 characters and its length
    text = tmp_path / "prose.yaml"
    text.write_text("word " * 300)
    assert main(["schema", "payload", str(text)]) == 2
    shown = '"' + ("word " * 24)[:119]
    assert capsys.readouterr().err == (
        f"{text}: must be a mapping of fields (got {shown}... (1,501 characters))\n"
    )
    # a directory given where a file is expected: said so, not "not found"
    args = ["simulate", str(CAMPAIGNS[0]), "--profiles", str(SAMPLE / "profiles.csv")]
    assert main([*args, "--triggers", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"triggerlab: trigger batch is a directory, not a file: {tmp_path} (give the file itself)\n"
    )


def test_cli_publish_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    draft, ws = _draft(tmp_path), str(tmp_path / "ws.duckdb")
    assert main(["publish", str(draft), "--workspace", ws]) == 0
    out = capsys.readouterr().out
    campaign_id = load_campaign(draft).id
    assert out == f"{draft}: published 'Subscription upgrade to CRM' as campaign {campaign_id} version 1\n"
    assert main(["list", "--workspace", ws]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "version", "channel", "published", "(UTC)", "name"]
    assert lines[1].split()[:3] == [campaign_id, "1", "webhook"]
    assert lines[-1] == "1 campaign(s)"


def test_cli_publish_refuses_an_invalid_campaign(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: T\nchannel: push\ncontrol_group: 1\nmessage: {title: t, body: b}\n")
    assert main(["publish", str(bad), "--workspace", str(tmp_path / "ws.duckdb")]) == 1
    assert capsys.readouterr().err == f"{bad}:3: control_group: must be 0 or between 2 and 99 (got 1)\n"
    assert "id:" not in bad.read_text()


@pytest.mark.parametrize("kind", ["campaign", "settings"])
def test_cli_schema(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", kind]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["type"] == "object"
    expected = {"campaign": {"name", "channel", "message"}, "settings": set()}[kind]
    assert set(schema.get("required", [])) == expected


def test_campaign_schema_accepts_the_samples() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the dev extra")
    schema = Campaign.model_json_schema()
    for path in CAMPAIGNS:
        jsonschema.validate(json.loads(load_campaign(path).model_dump_json(exclude_unset=True)), schema)


def test_cli_validate_exits_1_when_any_of_several_files_has_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: T\nchannel: push\ncontrol_group: 1\nmessage: {title: t, body: b}\n")
    assert main(["validate", str(CAMPAIGNS[0]), str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == (
        f"{CAMPAIGNS[0]}: ok\n{bad}:3: control_group: must be 0 or between 2 and 99 (got 1)\n"
    )
    assert captured.err == "1 of 2 campaign file(s) have findings\n"


def test_cli_simulate_refuses_an_invalid_campaign_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: T\nchannel: push\ncontrol_group: 1\nmessage: {title: t, body: b}\n")
    args = [
        "simulate",
        str(bad),
        "--triggers",
        str(tmp_path / "t.jsonl"),
        "--profiles",
        str(tmp_path / "p.csv"),
    ]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == (
        "",
        f"{bad}:3: control_group: must be 0 or between 2 and 99 (got 1)\n",
    )
