"""Fault injection: a receiver that fails 20% of requests (500, 429 with Retry-After, a hang past the client
timeout, a connection reset). Every message still ends sent, or dead with a reason; none is lost or doubled."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from tests.send_receivers import Answer, HttpReceiver, Received
from triggerlab.delivery import (
    DeliveryLog,
    OutgoingMessage,
    RetryPolicy,
    WebhookTransport,
    deliver,
    idempotency_key,
)

FAULTS = [
    Answer(500, b'{"error": "boom"}'),
    Answer(429, b"{}", headers={"Retry-After": "0"}),
    Answer(200, delay=1.5),  # answered only after the client gave up (timeout 0.5 s)
    Answer(reset=True),
]


class Flaky:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.faults: Counter[int] = Counter()
        self.acknowledged: Counter[str] = Counter()

    def __call__(self, req: Received) -> Answer:
        if req.path == "/gone":
            return Answer(410, b'{"error": "endpoint retired"}')
        if self.rng.random() < 0.2:
            kind = self.rng.randrange(len(FAULTS))
            self.faults[kind] += 1
            return FAULTS[kind]
        self.acknowledged[req.headers["idempotency-key"]] += 1
        return Answer(200)


def test_every_message_ends_sent_or_dead_and_none_is_lost() -> None:
    flaky = Flaky(seed=20261124)
    log = DeliveryLog.memory()
    with HttpReceiver(flaky) as r:
        messages = [
            OutgoingMessage(
                key=idempotency_key("1750575723", str(n), 0, f"user-{n}"),
                channel="webhook",
                campaign_id="1750575723",
                identity=f"user-{n:03d}",
                fields={"url": f"{r.url}/gone" if n % 50 == 0 else f"{r.url}/hook", "body": f'{{"n": {n}}}'},
                request_id=str(n),
            )
            for n in range(400)
        ]
        transport = WebhookTransport(timeout=0.5, allow_networks=["127.0.0.0/8"])
        retry = RetryPolicy(max_attempts=15, base=0.005, cap=0.05)
        summary = asyncio.run(deliver(messages, transport, log=log, retry=retry, concurrency=32, seed=1))

    assert all(flaky.faults[k] > 5 for k in range(len(FAULTS))), flaky.faults
    states = dict(log.con.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall())
    assert states == {"sent": 392, "dead": 8}
    dead = log.con.execute(
        "SELECT DISTINCT response_code, reason FROM deliveries WHERE state = 'dead'"
    ).fetchall()
    assert dead == [(410, 'HTTP 410: {"error": "endpoint retired"}')]
    sent_keys = {k for (k,) in log.con.execute("SELECT key FROM deliveries WHERE state = 'sent'").fetchall()}
    assert sent_keys == {m.key for m in messages if m.fields["url"].endswith("/hook")}
    # Each sent message was acknowledged exactly once: no retry after a success.
    assert set(flaky.acknowledged) == sent_keys
    assert set(flaky.acknowledged.values()) == {1}
    # Every failed attempt is logged and retried. Each injected HTTP error cost exactly one; a loaded machine
    # may add a timeout of its own, never an HTTP error.
    failed_attempts = log.con.execute("SELECT count(*) FROM delivery_log WHERE state = 'failed'").fetchall()
    assert failed_attempts == [(summary.retries,)]
    assert summary.retries >= sum(flaky.faults.values())
    http_errors = log.con.execute(
        "SELECT response_code, count(*) FROM delivery_log WHERE state = 'failed' AND response_code IS NOT NULL "
        "GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert http_errors == [(429, flaky.faults[1]), (500, flaky.faults[0])]
    reasons = log.con.execute(
        "SELECT DISTINCT regexp_replace(reason, ':.*', '') FROM delivery_log WHERE state = 'failed' ORDER BY 1"
    ).fetchall()
    assert reasons == [
        ("HTTP 429",),
        ("HTTP 500",),
        ("connection failed (ReadError)",),
        ("timeout (ReadTimeout)",),
    ]
    assert (summary.sent, summary.dead, summary.failed) == (392, 8, 0)
