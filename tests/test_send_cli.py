"""``triggerlab send`` end to end: a dry run, a live CleverTap forward to a local server, a repeat, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SAMPLE
from tests.send_receivers import Answer, HttpReceiver
from triggerlab.cli import main
from triggerlab.delivery import SmtpTransport
from triggerlab.delivery.api import send as send_api
from triggerlab.errors import InputError
from triggerlab.files import load_campaign, save_campaign

FITNESS = str(SAMPLE / "campaigns" / "fitness_milestone.yaml")
LINES = [
    {
        "id": "t1",
        "received_at": "2026-11-20T08:00:00Z",
        "body": {
            "to": {"identity": ["u1", "u2"]},
            "campaign_id": "1750575722",
            "ExternalTrigger": {"steps": "12000"},
        },
    },
    {
        "id": "t2",
        "received_at": "2026-11-20T08:01:00Z",
        "body": {"to": {"email": ["a@x.test"]}, "campaign_id_list": [1750575722, 999], "ExternalTrigger": {}},
    },
    {"id": "t3", "received_at": "2026-11-20T08:02:00Z", "body": {"campaign_id": "1750575722"}},
    {
        "id": "t4",
        "received_at": "2026-11-20T08:03:00Z",
        "body": {"to": {"identity": ["u3"]}, "campaign_id": "5"},
    },
]


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    path = tmp_path / "triggers.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in LINES))
    return path


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEVERTAP_ACCOUNT_ID", "ACC-1")
    monkeypatch.setenv("CLEVERTAP_PASSCODE", "PASS-1")
    monkeypatch.setenv("CLEVERTAP_TOKEN", "TOK-1")


def send(batch: Path, workspace: Path, *extra: str) -> list[str]:
    common = ["--via", "clevertap", "--workspace", str(workspace), "--no-progress"]
    return ["send", FITNESS, "--triggers", str(batch), *common, *extra]


def test_a_dry_run_sends_nothing_and_writes_nothing(
    batch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "ws.duckdb"
    assert main(send(batch, workspace, "--json")) == 0
    assert json.loads(capsys.readouterr().out) == {
        "sent": 2,
        "failed": 0,
        "dead": 0,
        "already_sent": 0,
        "already_dead": 0,
        "duplicates": 0,
        "retries": 0,
        "deferred": 0,
        "skipped": {"invalid_request": 1, "unknown_campaign": 1},
        "dry_run": True,
    }
    assert not workspace.exists()


@pytest.mark.usefixtures("credentials")
def test_live_forwarding_then_a_repeat_sends_nothing_twice(
    batch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "ws.duckdb"
    with HttpReceiver(lambda _: Answer(200, b'{"status": "success"}')) as r:
        assert main(send(batch, workspace, "--live", "--base-url", r.url)) == 0
        first = capsys.readouterr().out
        assert main(send(batch, workspace, "--live", "--base-url", r.url)) == 0
        second = capsys.readouterr().out
        assert main(send(batch, workspace)) == 0
        dry = capsys.readouterr().out
    assert first == "sent 2, failed 0, dead 0, skipped by rule 2 (invalid_request 1, unknown_campaign 1)\n"
    assert second == (
        "sent 0, failed 0, dead 0, skipped by rule 2 (invalid_request 1, unknown_campaign 1); "
        "settled by an earlier run 2 (sent 2, dead 0)\n"
    )
    assert dry == "dry run: " + second
    assert sorted((q.path, q.json()) for q in r.requests) == [
        (
            "/1/send/externaltrigger.json",
            {
                "to": {"identity": ["u1", "u2"]},
                "campaign_id": "1750575722",
                "ExternalTrigger": {"steps": "12000"},
            },
        ),
        (
            "/2/send/externaltrigger.json",
            {"to": {"email": ["a@x.test"]}, "campaign_id_list": ["1750575722"], "ExternalTrigger": {}},
        ),
    ]


@pytest.mark.usefixtures("credentials")
def test_failures_exit_1(batch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with HttpReceiver(lambda _: Answer(200, b'{"status": "fail", "error": "Campaign paused"}')) as r:
        assert main(send(batch, tmp_path / "ws.duckdb", "--live", "--base-url", r.url)) == 1
    assert capsys.readouterr().out.startswith("sent 0, failed 0, dead 2, ")


def test_input_errors_exit_2(
    batch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = tmp_path / "ws.duckdb"
    assert (
        main(["send", FITNESS, "--triggers", str(batch), "--via", "smtp", "--workspace", str(workspace)]) == 2
    )
    assert (
        capsys.readouterr().err
        == "triggerlab: campaign 1750575722 is a push campaign; --via smtp sends email campaigns\n"
    )
    for name in ("CLEVERTAP_ACCOUNT_ID", "CLEVERTAP_PASSCODE", "CLEVERTAP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(send(batch, workspace, "--live", "--base-url", "http://127.0.0.1:9")) == 2
    assert capsys.readouterr().err == (
        "triggerlab: environment variable CLEVERTAP_ACCOUNT_ID is not set (it should hold the credential)\n"
    )
    assert main(send(tmp_path / "missing.jsonl", workspace)) == 2
    assert "trigger batch not found" in capsys.readouterr().err


def test_a_live_webhook_send_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign = load_campaign(SAMPLE / "campaigns" / "subscription_upgrade.yaml")
    profiles = tmp_path / "profiles.csv"
    profiles.write_text("identity,email,plan\nu1,u1@x.test,pro\nu2,u2@x.test,team\nu3,u3@x.test,free\n")
    triggers = tmp_path / "triggers.jsonl"
    request = {
        "to": {"identity": ["u1", "u2", "u3"]},
        "campaign_id": "1750575723",
        "ExternalTrigger": {"newPlan": "team"},
    }
    triggers.write_text(
        json.dumps({"id": "w1", "received_at": "2026-11-20T08:00:00Z", "body": request}) + "\n"
    )
    with HttpReceiver() as r:
        local = campaign.model_copy(
            update={"message": campaign.message.model_copy(update={"url": f"{r.url}/crm"})}
        )
        path = tmp_path / "webhook.yaml"
        save_campaign(local, path)
        argv = [
            "send",
            str(path),
            "--triggers",
            str(triggers),
            "--via",
            "webhook",
            "--profiles",
            str(profiles),
        ]
        argv += [
            "--workspace",
            str(tmp_path / "ws.duckdb"),
            "--no-progress",
            "--live",
            "--allow-network",
            "127.0.0.0/8",
        ]
        assert main(argv) == 0
    assert sorted(json.loads(q.body)["identity"] for q in r.requests) == ["u1", "u2"]
    assert capsys.readouterr().out == "sent 2, failed 0, dead 0, skipped by rule 1 (not_in_segment 1)\n"


def test_an_injected_transport_must_carry_the_channel(batch: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^SmtpTransport does not carry clevertap messages$"):
        send_api(
            FITNESS,
            triggers=batch,
            via="clevertap",
            live=True,
            transport=SmtpTransport(),
            workspace=tmp_path / "w",
        )


@pytest.mark.usefixtures("credentials")
def test_max_attempts_bounds_the_tries_per_message(
    batch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with HttpReceiver(lambda _: Answer(500, b"oops")) as r:
        argv = send(batch, tmp_path / "ws.duckdb", "--live", "--base-url", r.url, "--max-attempts", "1")
        assert main(argv) == 1
    assert len(r.requests) == 2
    assert capsys.readouterr().out == (
        "sent 0, failed 2, dead 0, skipped by rule 2 (invalid_request 1, unknown_campaign 1)\n"
    )
