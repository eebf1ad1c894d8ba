"""The delivery loop and its log without a network: keys, states, resume, retries, summaries, secrets."""

from __future__ import annotations

import asyncio
import pickle
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import ClassVar

import duckdb
import pytest

from triggerlab.delivery import (
    DeliveryLog,
    DeliverySummary,
    DryRunTransport,
    OutgoingMessage,
    Receipt,
    RetryPolicy,
    Transport,
    deliver,
    idempotency_key,
)
from triggerlab.delivery._http import retry_after
from triggerlab.delivery.api import _dry_log
from triggerlab.delivery.log import _SCHEMA
from triggerlab.delivery.secrets import Secret, env_secret
from triggerlab.errors import DeliveryRejected, SendError, TransportError
from triggerlab.workspace import Workspace

FAST = RetryPolicy(max_attempts=2, base=0.001, cap=0.002)


def message(n: int, identity: str | None = None) -> OutgoingMessage:
    who = identity or f"user-{n}"
    return OutgoingMessage(
        idempotency_key("42", f"r{n}", 0, who), "webhook", "42", who, {"n": n}, None, f"r{n}"
    )


class Scripted(Transport):
    """Answers each identity from a script: 'ok', 'retry' (TransportError) or 'reject' (DeliveryRejected)."""

    name: ClassVar[str] = "scripted"

    def __init__(self, script: dict[str, list[str]]) -> None:
        self.script = script
        self.calls: list[str] = []

    async def deliver(self, message: OutgoingMessage) -> Receipt:
        self.calls.append(message.identity)
        step = self.script[message.identity].pop(0)
        if step == "retry":
            raise TransportError("HTTP 503", status_code=503)
        if step == "reject":
            raise DeliveryRejected("HTTP 422: bad payload", status_code=422)
        if step == "config":
            raise SendError("credentials refused")
        return Receipt(202)


def rows(log: DeliveryLog) -> list[tuple[object, ...]]:
    return log.con.execute(
        "SELECT identity, state, attempts, response_code, reason FROM deliveries ORDER BY identity"
    ).fetchall()


def test_the_idempotency_key_is_a_documented_hash() -> None:
    import hashlib

    expected = hashlib.sha256(b"triggerlab/1\n1695721550\nreq-7\n2\nasha").hexdigest()
    assert idempotency_key("1695721550", "req-7", 2, "asha") == expected
    assert idempotency_key("1695721550", "req-7", 3, "asha") != expected


def test_states_retries_and_rejections_are_logged() -> None:
    log = DeliveryLog.memory()
    script = {"a": ["ok"], "b": ["retry", "ok"], "c": ["reject"], "d": ["retry", "retry"]}
    transport = Scripted(script)
    messages = [message(n, who) for n, who in enumerate("abcd")]
    summary = asyncio.run(deliver(messages, transport, log=log, retry=FAST))
    assert rows(log) == [
        ("a", "sent", 1, 202, None),
        ("b", "sent", 2, 202, None),
        ("c", "dead", 1, 422, "HTTP 422: bad payload"),
        ("d", "failed", 2, 503, "gave up after 2 attempts in this run: HTTP 503"),
    ]
    assert (summary.sent, summary.failed, summary.dead, summary.retries) == (2, 1, 1, 2)
    history = log.con.execute(
        "SELECT identity, state FROM delivery_log WHERE identity IN ('b', 'd') ORDER BY identity, seq"
    ).fetchall()
    assert history == [
        ("b", "pending"),
        ("b", "failed"),
        ("b", "sent"),
        ("d", "pending"),
        ("d", "failed"),
        ("d", "failed"),
    ]
    assert log.counts() == {"pending": 0, "sent": 2, "failed": 1, "dead": 1}

    # The next run touches only the failed message, and counts its attempts on.
    again = Scripted({"d": ["ok"]})
    summary = asyncio.run(deliver(messages, again, log=log, retry=FAST))
    assert again.calls == ["d"]
    assert rows(log)[3] == ("d", "sent", 3, 202, None)
    assert (summary.sent, summary.already_sent, summary.already_dead) == (1, 2, 1)


def test_a_key_given_twice_is_delivered_once() -> None:
    transport = DryRunTransport()
    summary = asyncio.run(deliver([message(1), message(1), message(2)], transport, log=DeliveryLog.memory()))
    assert [m.identity for m in transport.messages] == ["user-1", "user-2"]
    assert (summary.sent, summary.duplicates) == (2, 1)


def test_a_configuration_error_stops_the_run_and_keeps_the_log() -> None:
    log = DeliveryLog.memory()
    transport = Scripted({"a": ["config"], "b": ["ok"]})
    with pytest.raises(SendError, match="credentials refused"):
        asyncio.run(
            deliver([message(1, "a"), message(2, "b")], transport, log=log, concurrency=1, retry=FAST)
        )
    assert [(r[0], r[1]) for r in rows(log)] == [("a", "pending"), ("b", "pending")]
    assert transport.calls == ["a"]


def test_a_log_that_cannot_record_an_outcome_stops_the_run() -> None:
    con = duckdb.connect(":memory:")
    # The log's own table, made to refuse 'sent' rows: the first commit of outcomes fails.
    con.execute(_SCHEMA.replace("state VARCHAR NOT NULL,", "state VARCHAR NOT NULL CHECK (state <> 'sent'),"))
    log = DeliveryLog(con)
    transport = Scripted({f"user-{n}": ["ok"] for n in range(40)})
    with pytest.raises(duckdb.ConstraintException, match="CHECK constraint failed"):
        asyncio.run(deliver([message(n) for n in range(40)], transport, log=log, batch_size=10))
    # Nothing is recorded sent; the batches marked pending before the run stopped stay pending.
    logged = rows(log)
    assert {row[1:] for row in logged} == {("pending", 0, None, None)}
    assert len(logged) % 10 == 0
    assert {row[0] for row in logged} == {f"user-{n}" for n in range(len(logged))}


def test_summary_text() -> None:
    summary = DeliverySummary(
        sent=5, failed=1, dead=2, already_sent=3, deferred=4, skipped={"control": 2, "frequency_capped": 1}
    )
    assert str(summary) == (
        "sent 5, failed 1, dead 2, skipped by rule 3 (control 2, frequency_capped 1); "
        "settled by an earlier run 3 (sent 3, dead 0); deferred (delivery time still ahead) 4"
    )
    assert str(DeliverySummary(dry_run=True)) == "dry run: sent 0, failed 0, dead 0, skipped by rule 0"


def test_retry_timing_rules() -> None:
    policy = RetryPolicy(base=0.5, cap=4.0, max_retry_after=60.0)
    rng = random.Random(3)
    assert all(0.0 <= policy.delay(1, None, rng) <= 0.5 for _ in range(100))
    assert all(0.0 <= policy.delay(10, None, rng) <= 4.0 for _ in range(100))
    assert all(policy.delay(1, 7.0, rng) == 7.0 for _ in range(100))
    assert policy.delay(1, 3600.0, rng) == 60.0


def test_retry_after_header_forms() -> None:
    assert retry_after("5") == 5.0
    assert retry_after(format_datetime(datetime.now(UTC) - timedelta(minutes=1), usegmt=True)) == 0.0
    ahead = retry_after(format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True))
    assert ahead is not None and 500 < ahead <= 600
    assert retry_after("soon") is None
    assert retry_after(None) is None


def test_secrets_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TL_SECRET", "hunter2")
    secret = env_secret("TL_SECRET")
    assert (repr(secret), str(secret), f"{secret}") == ("Secret(from $TL_SECRET)",) * 3
    assert secret.reveal() == "hunter2"
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)
    monkeypatch.delenv("TL_SECRET")
    with pytest.raises(SendError, match=r"^environment variable TL_SECRET is not set \(it should hold"):
        env_secret("TL_SECRET")
    assert isinstance(Secret("x", "Y"), Secret)


def test_history_is_the_sent_messages_of_campaign_channels() -> None:
    log = DeliveryLog.memory()
    ct = OutgoingMessage("k-ct", "clevertap", "42", "identity:a", {})
    asyncio.run(deliver([message(1), message(2), ct], DryRunTransport(), log=log))
    frame = log.history()
    assert frame.columns == ["identity", "channel", "campaign_id", "sent_at"]
    assert sorted(frame.select("identity", "channel", "campaign_id").rows()) == [
        ("user-1", "webhook", "42"),
        ("user-2", "webhook", "42"),
    ]


@pytest.fixture
def workspace_with_a_sent_message(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        asyncio.run(deliver([message(1)], DryRunTransport(), log=DeliveryLog(ws.con)))
    yield path


def test_a_dry_run_reads_the_workspace_log_and_never_writes_it(workspace_with_a_sent_message: Path) -> None:
    path = workspace_with_a_sent_message
    log = _dry_log(path)
    transport = DryRunTransport()
    summary = asyncio.run(deliver([message(1), message(2)], transport, log=log))
    log.con.close()
    assert [m.identity for m in transport.messages] == ["user-2"]
    assert (summary.sent, summary.already_sent) == (1, 1)
    with Workspace(path) as ws:
        assert DeliveryLog(ws.con).counts() == {"pending": 0, "sent": 1, "failed": 0, "dead": 0}


def test_history_holds_only_acknowledged_messages() -> None:
    log = DeliveryLog.memory()
    transport = Scripted({"a": ["ok"], "b": ["reject"], "c": ["retry", "retry"], "d": ["config"]})
    messages = [message(n, who) for n, who in enumerate("abcd")]
    with pytest.raises(SendError, match="credentials refused"):
        asyncio.run(deliver(messages, transport, log=log, retry=FAST, concurrency=1))
    assert [(r[0], r[1]) for r in rows(log)] == [
        ("a", "sent"),
        ("b", "dead"),
        ("c", "failed"),
        ("d", "pending"),
    ]
    assert log.history().select("identity", "channel", "campaign_id").rows() == [("a", "webhook", "42")]


def test_a_resumed_run_sends_what_was_left_pending() -> None:
    log = DeliveryLog.memory()
    stopped = Scripted({"a": ["config"], "b": []})
    with pytest.raises(SendError, match="credentials refused"):
        asyncio.run(deliver([message(1, "a"), message(2, "b")], stopped, log=log, concurrency=1, retry=FAST))
    again = Scripted({"a": ["ok"], "b": ["ok"]})
    summary = asyncio.run(
        deliver([message(1, "a"), message(2, "b")], again, log=log, concurrency=1, retry=FAST)
    )
    assert again.calls == ["a", "b"]
    assert (summary.sent, summary.already_sent) == (2, 0)
    assert rows(log) == [("a", "sent", 1, 202, None), ("b", "sent", 1, 202, None)]
