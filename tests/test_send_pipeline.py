"""send() on direct channels: the decision pipeline runs first, and exactly its ``sent`` rows go out.

Real parts throughout: simulate() with the DuckDB engine, a local webhook receiver, aiosmtpd, a workspace file.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import polars as pl
from aiosmtpd.controller import Controller

from tests.conftest import SAMPLE
from tests.send_receivers import HttpReceiver
from triggerlab import DryRunTransport, WebhookTransport, send
from triggerlab.campaign import Campaign
from triggerlab.delivery import idempotency_key
from triggerlab.files import load_campaign
from triggerlab.settings import Settings
from triggerlab.simulation import simulate
from triggerlab.workspace import Workspace

PROFILES = pl.DataFrame(
    {
        "identity": [f"u{i}" for i in range(20)],
        "email": [f"u{i}@example.test" for i in range(19)] + [None],
        "plan": ["pro"] * 15 + ["free"] * 5,
        "Customer Type": ["Gold"] * 20,
        "name": [f"User {i}" for i in range(20)],
    }
)
LOOPBACK = ["127.0.0.0/8"]


def webhook_campaign(url: str) -> Campaign:
    campaign = load_campaign(SAMPLE / "campaigns" / "subscription_upgrade.yaml")
    return campaign.model_copy(
        update={"message": campaign.message.model_copy(update={"url": f"{url}/hooks/sub"})}
    )


def batch(path: Path, campaign_id: str, received_at: datetime, prefix: str = "t") -> Path:
    lines = [
        {
            "id": f"{prefix}{i}",
            "received_at": received_at.isoformat(),
            "body": {
                "to": {"identity": [f"u{i}", f"u{i + 1}"]},
                "campaign_id": campaign_id,
                "ExternalTrigger": {"newPlan": "team", "amount": "49.00"},
            },
        }
        for i in range(0, 20, 2)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_exactly_the_forecast_goes_out_and_a_repeat_sends_nothing(tmp_path: Path) -> None:
    received = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    triggers = batch(tmp_path / "t.jsonl", "1750575723", received)
    workspace = tmp_path / "ws.duckdb"
    with HttpReceiver() as r:
        campaign = webhook_campaign(r.url)
        forecast = simulate([campaign], triggers=triggers, profiles=PROFILES, render="all", progress=False)
        options: dict[str, Any] = dict(
            triggers=triggers,
            via="webhook",
            profiles=PROFILES,
            workspace=workspace,
            progress=False,
            live=True,
        )
        summary = send(campaign, transport=WebhookTransport(allow_networks=LOOPBACK), **options)
        again = send(campaign, transport=WebhookTransport(allow_networks=LOOPBACK), **options)
    assert forecast.messages is not None
    expected = forecast.messages.filter(pl.col("status") == "sent")
    statuses = forecast.outcomes.group_by("status").len().rows()
    assert summary.skipped == {s: n for s, n in statuses if s != "sent"}
    assert (summary.sent, summary.failed, summary.dead) == (expected.height, 0, 0)
    assert sorted((q.headers["idempotency-key"], q.body.decode()) for q in r.requests) == sorted(
        (
            idempotency_key("1750575723", row["request_id"], row["recipient"], row["identity"]),
            json.loads(row["fields"])["body"],
        )
        for row in expected.iter_rows(named=True)
    )
    assert (again.sent, again.already_sent) == (0, expected.height)
    assert len(r.requests) == expected.height


def test_the_log_feeds_frequency_caps_of_later_runs(tmp_path: Path) -> None:
    workspace = tmp_path / "ws.duckdb"
    settings = Settings.model_validate({"frequency_caps": [{"channel": "webhook", "limit": 1, "per": "1d"}]})
    with HttpReceiver() as r:
        plain = webhook_campaign(r.url)
        # the sample campaign opts out of global limits; this one counts toward them
        campaign = plain.model_copy(
            update={"delivery": plain.delivery.model_copy(update={"apply_global_limits": True})}
        )
        first = batch(tmp_path / "a.jsonl", "1750575723", datetime.now(UTC) - timedelta(hours=1), prefix="a")
        options: dict[str, Any] = dict(
            via="webhook", profiles=PROFILES, workspace=workspace, settings=settings
        )
        sent = send(
            campaign,
            triggers=first,
            live=True,
            transport=WebhookTransport(allow_networks=LOOPBACK),
            progress=False,
            **options,
        )
        later = batch(tmp_path / "b.jsonl", "1750575723", datetime.now(UTC), prefix="b")
        capped = send(
            campaign,
            triggers=later,
            live=True,
            transport=WebhookTransport(allow_networks=LOOPBACK),
            progress=False,
            **options,
        )
    assert sent.sent > 0
    assert capped.sent == 0
    assert capped.skipped["frequency_capped"] == sent.sent
    assert len(r.requests) == sent.sent


def test_a_dry_run_shows_the_messages_and_leaves_the_workspace_alone(tmp_path: Path) -> None:
    triggers = batch(tmp_path / "t.jsonl", "1750575723", datetime(2026, 11, 20, 8, 0, tzinfo=UTC))
    workspace = tmp_path / "ws.duckdb"
    dry = DryRunTransport()
    campaign = webhook_campaign("https://crm.example")
    summary = send(
        campaign,
        triggers=triggers,
        via="webhook",
        profiles=PROFILES,
        workspace=workspace,
        transport=dry,
        progress=False,
    )
    assert summary.dry_run and summary.sent == len(dry.messages) > 0
    assert {m.fields["url"] for m in dry.messages} == {"https://crm.example/hooks/sub"}
    assert dry.messages[0].fields["content_type"] == "json"
    assert not workspace.exists()


def test_messages_not_yet_due_are_deferred(tmp_path: Path) -> None:
    received = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    triggers = batch(tmp_path / "t.jsonl", "1750575723", received)
    campaign = webhook_campaign("https://crm.example")
    summary = send(
        campaign,
        triggers=triggers,
        via="webhook",
        profiles=PROFILES,
        workspace=tmp_path / "ws.duckdb",
        now=received - timedelta(minutes=1),
        progress=False,
    )
    assert (summary.sent, summary.deferred) == (0, 14)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def test_email_goes_to_the_profile_address(tmp_path: Path) -> None:
    received = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    triggers = batch(tmp_path / "t.jsonl", "1695721550", received)
    campaign = load_campaign(SAMPLE / "campaigns" / "order_confirmation.yaml")
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        summary = send(
            campaign,
            triggers=triggers,
            via="smtp",
            live=True,
            profiles=PROFILES,
            workspace=tmp_path / "ws.duckdb",
            transport_options={"host": "127.0.0.1", "port": controller.port},
            progress=False,
        )
    finally:
        controller.stop()
    forecast = simulate([campaign], triggers=triggers, profiles=PROFILES, render="all", progress=False)
    assert forecast.outcomes.get_column("status").to_list() == ["sent"] * 20
    assert sorted(to for to, _ in inbox.messages) == sorted([f"u{i}@example.test"] for i in range(19))
    first = message_from_bytes(inbox.messages[0][1], policy=policy.default)
    assert first["Subject"].startswith("Your ShopLane order is confirmed, User ")
    assert (summary.sent, summary.dead) == (19, 1)
    with Workspace(tmp_path / "ws.duckdb") as ws:
        dead = ws.con.execute("SELECT identity, reason FROM deliveries WHERE state = 'dead'").fetchall()
    assert dead == [("u19", "no e-mail address for this recipient")]


def test_a_dry_run_never_uses_a_live_transport_it_is_given(tmp_path: Path) -> None:
    triggers = batch(tmp_path / "t.jsonl", "1750575723", datetime(2026, 11, 20, 8, 0, tzinfo=UTC))
    workspace = tmp_path / "ws.duckdb"
    with HttpReceiver() as r:
        summary = send(
            webhook_campaign(r.url),
            triggers=triggers,
            via="webhook",
            profiles=PROFILES,
            workspace=workspace,
            transport=WebhookTransport(allow_networks=LOOPBACK),
            progress=False,
        )
    assert r.requests == []
    assert (summary.dry_run, summary.sent) == (True, 14)
    assert not workspace.exists()


def test_a_message_due_exactly_now_goes_out(tmp_path: Path) -> None:
    received = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    triggers = batch(tmp_path / "t.jsonl", "1750575723", received)
    summary = send(
        webhook_campaign("https://crm.example"),
        triggers=triggers,
        via="webhook",
        profiles=PROFILES,
        workspace=tmp_path / "ws.duckdb",
        now=received,
        progress=False,
    )
    assert (summary.sent, summary.deferred) == (14, 0)


def test_the_address_column_option_picks_the_addresses(tmp_path: Path) -> None:
    triggers = batch(tmp_path / "t.jsonl", "1695721550", datetime(2026, 11, 20, 8, 0, tzinfo=UTC))
    profiles = PROFILES.with_columns(work_email=pl.col("identity") + "@work.test")
    dry = DryRunTransport()
    send(
        load_campaign(SAMPLE / "campaigns" / "order_confirmation.yaml"),
        triggers=triggers,
        via="smtp",
        profiles=profiles,
        workspace=tmp_path / "ws.duckdb",
        address_column="work_email",
        transport=dry,
        progress=False,
    )
    assert sorted((m.identity, m.to) for m in dry.messages) == sorted(
        (f"u{i}", f"u{i}@work.test") for i in range(20)
    )
