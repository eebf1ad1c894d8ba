"""``simulate()``, ``triggerlab simulate`` and ``triggerlab check`` on a small batch with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from triggerlab import Campaign, Settings, check_batch, load_triggers, simulate
from triggerlab.cli import main
from triggerlab.errors import CampaignError, InputError

CAMPAIGN = """\
id: "700"
name: Steps
channel: push
goal: {event: Charged, within: 1d, revenue_property: Amount}
message:
  title: "Well done"
  body: "{{ ExternalTrigger.steps }} steps, {{ Profile.name | default: 'champ' }}"
"""
PROFILES = "identity,email,name,timezone\nu1,a@x.test,Asha,Asia/Kolkata\nu2,b@x.test,,Nowhere/Land\n"
EVENTS = "identity,event,ts,Amount\nu1,Charged,2026-11-02T08:00:00Z,40\nu2,Charged,2026-11-01T08:00:00Z,9\n"
LINES = [
    '{"id": "a", "received_at": "2026-11-02T06:00:00Z", "body": {"to": {"identity": ["u1", "u9"]},'
    ' "campaign_id": "700", "ExternalTrigger": {"steps": "12000"}}}',
    "",
    '{"to": {"email": ["b@x.test"]}, "campaign_id_list": [700, "701"], "ExternalTrigger": {"steps": 5}}',
    "oops",
]


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    files = {
        "campaign": tmp_path / "steps.yaml",
        "profiles": tmp_path / "profiles.csv",
        "events": tmp_path / "events.csv",
        "triggers": tmp_path / "triggers.jsonl",
    }
    files["campaign"].write_text(CAMPAIGN, encoding="utf-8")
    files["profiles"].write_text(PROFILES, encoding="utf-8")
    files["events"].write_text(EVENTS, encoding="utf-8")
    files["triggers"].write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return files


@pytest.mark.parametrize("engine", ["duck", "reference"])
def test_simulate_outcomes(world: dict[str, Path], engine: str) -> None:
    result = simulate(
        [world["campaign"]],
        triggers=world["triggers"],
        profiles=world["profiles"],
        events=world["events"],
        at="2026-11-02T07:00:00Z",
        engine=engine,  # type: ignore[arg-type]
        progress=False,
    )
    got = result.outcomes.select(
        "request_id", "line", "recipient", "campaign_id", "identity", "status", "converted"
    )
    expected = pl.DataFrame(
        [
            ["a", 1, 0, "700", "u1", "sent", True],
            ["a", 1, 1, "700", "u9", "unknown_user", None],
            ["3", 3, 0, "700", "b@x.test", "invalid_request", None],
            ["3", 3, 1, "701", "b@x.test", "invalid_request", None],
            ["4", 4, 0, None, None, "invalid_request", None],
        ],
        schema=got.schema,
        orient="row",
    )
    assert got.equals(expected)
    assert result.requests == 3
    assert result.warnings == [
        "profile time zone 'Nowhere/Land' is not an IANA zone name; those users use the workspace zone UTC"
    ]
    assert result.goal_events.rows() == [("700", "u1", result.goal_events["ts"][0], "40")]


def test_simulate_refuses_duplicate_ids_and_bad_render(world: dict[str, Path]) -> None:
    with pytest.raises(CampaignError, match="two campaigns have the id 700"):
        simulate(
            [world["campaign"], world["campaign"]], triggers=world["triggers"], profiles=world["profiles"]
        )
    with pytest.raises(InputError, match="render must be static, sample or all"):
        simulate([world["campaign"]], triggers=world["triggers"], profiles=world["profiles"], render="most")  # type: ignore[arg-type]


def test_cli_simulate_json(
    world: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "simulate",
            str(world["campaign"]),
            "--triggers",
            str(world["triggers"]),
            "--profiles",
            str(world["profiles"]),
            "--events",
            str(world["events"]),
            "--at",
            "2026-11-02T07:00:00Z",
            "--json",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["requests"], summary["recipients"], summary["users_sent"]) == (3, 5, 1)
    assert {k: v for k, v in summary["statuses"].items() if v} == {
        "invalid_request": 3,
        "unknown_user": 1,
        "sent": 1,
    }
    assert sorted(p.name for p in out.iterdir()) == ["outcomes.parquet", "report.html"]


def test_cli_simulate_funnel_and_missing_file(
    world: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["simulate", str(world["campaign"]), "--triggers", str(world["triggers"])]
    assert main([*args, "--profiles", str(world["profiles"])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "3 requests, 4 recipient rows"  # without --at the bare line 3 has no time: one row
    assert lines[1] == "invalid_request             2   50.00%"
    assert main([*args, "--profiles", "nope.csv"]) == 2
    assert capsys.readouterr().err.strip() == "triggerlab: profiles table not found: nope.csv"


def test_cli_simulate_refuses_profiles_without_an_identity(
    world: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The engines disagreed on a profile with an empty identity (whose bucket, whose caps): it is refused."""
    profiles = tmp_path / "profiles.csv"
    profiles.write_text("identity,email\nu1,a@x.test\n,b@x.test\nu3,c@x.test\n,d@x.test\n")
    args = [
        "simulate",
        str(world["campaign"]),
        "--triggers",
        str(world["triggers"]),
        "--profiles",
        str(profiles),
    ]
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == (
        "triggerlab: the profiles table has 2 row(s) without an identity (the first is data row 2):"
        " give every profile one, or drop those rows"
    )


def test_check_batch_findings_by_line(world: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    campaign = Campaign.model_validate(
        {
            "id": "700",
            "name": "s",
            "channel": "push",
            "message": {"title": "t", "body": "{{ ExternalTrigger.steps }}"},
        }
    )
    findings = check_batch(campaign, world["triggers"], settings=Settings())
    assert [(f.line, f.message) for f in findings] == [
        (3, "received_at is missing or not an ISO-8601 time (bare requests need --at)"),
        (4, "line is not valid JSON"),
    ]
    code = main(
        [
            "check",
            str(world["campaign"]),
            "--triggers",
            str(world["triggers"]),
            "--at",
            "2026-11-02T00:00:00Z",
        ]
    )
    assert code == 1
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        f"{world['triggers']}:3: ExternalTrigger holds a number, boolean or null value (payload_values: strict)",
        f"{world['triggers']}:4: line is not valid JSON",
    ]


def test_load_triggers_reads_envelopes_bare_lines_and_tables(world: dict[str, Path]) -> None:
    lines = load_triggers(world["triggers"])
    assert [(b.line, b.request_id, b.error is None) for b in lines] == [
        (1, "a", True),
        (3, "3", False),
        (4, "4", False),
    ]
    table = pl.DataFrame(
        {"id": ["x", None], "received_at": ["2026-11-02T06:00:00Z", None], "body": ["{}", "{"]}
    )
    rows = load_triggers(table, at="2026-11-02T00:00:00Z")
    assert [(b.line, b.request_id, b.error) for b in rows] == [
        (1, "x", None),
        (2, "2", "envelope body is a string that is not valid JSON"),
    ]
