"""Benchmark: webhook messages/s with the durable delivery log on vs bare httpx and aiohttp loops; SMTP.

Receivers run in their own processes so they do not share the sender's interpreter: a raw asyncio HTTP
responder (far faster than the sender, so it is not the bottleneck) and aiosmtpd. Targets (DESIGN.md):
webhook >= 2,000 messages/s with the log on and >= 70% of the bare httpx loop. The bare aiohttp loop is the
same client triggerlab uses, so the ratio against it is what the log, retries and guards cost.
Rounds interleave the three loops, so load from other work on the machine hits them alike.
``python benchmarks/bench_send.py [--messages N] [--concurrency N] [--rounds N] [--smtp-messages N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx

from triggerlab.delivery import (
    DeliveryLog,
    OutgoingMessage,
    SmtpTransport,
    WebhookTransport,
    deliver,
    idempotency_key,
)
from triggerlab.workspace import Workspace

_RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}"


class _Responder(asyncio.Protocol):
    """Answers 200 to every complete request on a keep-alive connection, parsing only Content-Length."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(_RESPONSE)


def _serve_http(port: int) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Responder, "127.0.0.1", port)
        await server.serve_forever()

    asyncio.run(main())


def _serve_smtp(port: int) -> None:
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    while True:
        time.sleep(3600)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(kind: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, __file__, f"--serve-{kind}", str(port)])
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{kind} receiver did not start")


def _webhooks(url: str, count: int, run: str) -> list[OutgoingMessage]:
    return [
        OutgoingMessage(
            key=idempotency_key("1750575723", f"{run}-{n}", 0, f"user-{n}"),
            channel="webhook",
            campaign_id="1750575723",
            identity=f"user-{n}",
            fields={
                "url": url,
                "method": "POST",
                "headers": {"X-Source": "triggerlab"},
                "body": f'{{"identity": "user-{n}", "plan": "pro", "amount": "37.20"}}',
                "content_type": "json",
            },
            request_id=f"{run}-{n}",
        )
        for n in range(count)
    ]


def _headers(m: OutgoingMessage) -> dict[str, str]:
    return dict(m.fields["headers"]) | {"Idempotency-Key": m.key, "Content-Type": "application/json"}


async def _bare_httpx(messages: list[OutgoingMessage], concurrency: int) -> None:
    """What a hand-written sender does: the same requests, no log, no retries, no guards."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=5.0, limits=limits) as client:
        queue = iter(messages)

        async def worker() -> None:
            for m in queue:
                response = await client.post(
                    m.fields["url"], content=m.fields["body"].encode(), headers=_headers(m)
                )
                response.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _bare_aiohttp(messages: list[OutgoingMessage], concurrency: int) -> None:
    """The same hand-written sender on aiohttp."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(5.0)) as session:
        queue = iter(messages)

        async def worker() -> None:
            for m in queue:
                async with session.post(
                    m.fields["url"], data=m.fields["body"].encode(), headers=_headers(m)
                ) as response:
                    await response.read()
                    response.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def _timed(label: str, count: int, action: object) -> tuple[float, float]:
    """Wall-clock messages/s; also per CPU second of this process, which a machine shared with other work
    disturbs less (the receiver and the kernel's share are not in it)."""
    start, cpu = time.perf_counter(), time.process_time()
    asyncio.run(action)  # type: ignore[arg-type]
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    rate = count / seconds
    print(
        f"{label:<30} {count:>7} messages {seconds:7.2f} s {rate:7.0f} messages/s"
        f" {count / cpu:7.0f} messages/CPU-s",
        flush=True,
    )
    return rate, count / cpu


#: best of the rounds: (wall messages/s, messages per CPU second)
Best = tuple[float, float]


def _best(a: Best, b: Best) -> Best:
    return max(a[0], b[0]), max(a[1], b[1])


def bench_webhook(count: int, concurrency: int, rounds: int) -> dict[str, Best]:
    """Best of ``rounds`` for the bare httpx loop, the bare aiohttp loop and triggerlab with the log."""
    proc, port = _start("http")
    url = f"http://127.0.0.1:{port}/hook"
    best = {"httpx": (0.0, 0.0), "aiohttp": (0.0, 0.0), "triggerlab": (0.0, 0.0)}
    try:
        with tempfile.TemporaryDirectory() as folder:
            _timed("warm-up (bare httpx)", 500, _bare_httpx(_webhooks(url, 500, "warm"), concurrency))
            for r in range(rounds):
                rate = _timed(
                    "bare httpx loop", count, _bare_httpx(_webhooks(url, count, f"h{r}"), concurrency)
                )
                best["httpx"] = _best(best["httpx"], rate)
                rate = _timed(
                    "bare aiohttp loop", count, _bare_aiohttp(_webhooks(url, count, f"a{r}"), concurrency)
                )
                best["aiohttp"] = _best(best["aiohttp"], rate)
                with Workspace(Path(folder) / f"ws{r}.duckdb") as ws:
                    log = DeliveryLog(ws.con)
                    transport = WebhookTransport(allow_networks=["127.0.0.0/8"], concurrency=concurrency)
                    messages = _webhooks(url, count, f"l{r}")
                    rate = _timed(
                        "triggerlab, durable log on",
                        count,
                        deliver(messages, transport, log=log, concurrency=concurrency),
                    )
                    assert log.counts()["sent"] == count
                best["triggerlab"] = _best(best["triggerlab"], rate)
    finally:
        proc.kill()
        proc.wait()
    return best


def bench_smtp(count: int) -> tuple[float, float]:
    proc, port = _start("smtp")
    fields = {
        "from_name": "Acme Shop",
        "from_email": "orders@acme.test",
        "subject": "Your order is confirmed",
        "html": "<p>Thanks for your order.</p>",
        "text": "Thanks for your order.",
    }
    messages = [
        OutgoingMessage(
            idempotency_key("1695721550", str(n), 0, f"u{n}"),
            "email",
            "1695721550",
            f"u{n}",
            fields,
            f"u{n}@example.test",
        )
        for n in range(count)
    ]
    try:
        with tempfile.TemporaryDirectory() as folder, Workspace(Path(folder) / "ws.duckdb") as ws:
            transport = SmtpTransport(host="127.0.0.1", port=port, connections=4)
            return _timed(
                "smtp, 4 connections, log on", count, deliver(messages, transport, log=DeliveryLog(ws.con))
            )
    finally:
        proc.kill()
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smtp-messages", type=int, default=2_000)
    parser.add_argument("--serve-http", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-smtp", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_http:
        _serve_http(args.serve_http)
        return 0
    if args.serve_smtp:
        _serve_smtp(args.serve_smtp)
        return 0
    best = bench_webhook(args.messages, args.concurrency, args.rounds)
    ours = best["triggerlab"]
    print(f"best of {args.rounds}: triggerlab with the durable log {ours[0]:.0f} messages/s")
    for name in ("httpx", "aiohttp"):
        bare = best[name]
        print(
            f"  vs bare {name:<8} {bare[0]:6.0f} messages/s: {ours[0] / bare[0]:5.0%} wall,"
            f" {ours[1] / bare[1]:5.0%} per CPU second"
        )
    bench_smtp(args.smtp_messages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
