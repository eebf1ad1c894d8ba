"""The delivery loop: messages in, each one ends sent, failed (retry later) or dead, and the log says which.

Durability contract (the crash window): a batch of messages is logged ``pending`` in one commit before any
of them is handed to the transport; acknowledgements are logged in batches (every ``batch_size`` outcomes or
``flush_interval`` seconds). A run killed between a receiver's acknowledgement and the next flush has
messages the receiver holds but the log still calls pending; the next run sends those again with the same
idempotency key, so a receiver that keeps keys drops the repeat. At most ``batch_size`` messages, or those
acknowledged in the last ``flush_interval`` seconds, can be in that window. A message logged ``sent`` or
``dead`` is never handed to a transport again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from triggerlab.delivery.log import DeliveryLog, LogRow
from triggerlab.delivery.message import OutgoingMessage
from triggerlab.delivery.pacing import RateLimiter, RetryPolicy
from triggerlab.delivery.transport import Transport
from triggerlab.errors import DeliveryRejected, SendError, TransportError

__all__ = ["DeliverySummary", "deliver"]


@dataclass(slots=True)
class DeliverySummary:
    """What a run did. ``already_sent``/``already_dead`` were settled by an earlier run and not touched;
    ``skipped`` (filled by :func:`triggerlab.send`) counts rows the decision rules stopped, by status."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    already_sent: int = 0
    already_dead: int = 0
    duplicates: int = 0
    retries: int = 0
    deferred: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "dead": self.dead,
            "already_sent": self.already_sent,
            "already_dead": self.already_dead,
            "duplicates": self.duplicates,
            "retries": self.retries,
            "deferred": self.deferred,
            "skipped": dict(self.skipped),
            "dry_run": self.dry_run,
        }

    def __str__(self) -> str:
        skipped = sum(self.skipped.values())
        by_rule = ", ".join(f"{s} {n}" for s, n in self.skipped.items() if n)
        text = (
            f"{'dry run: ' if self.dry_run else ''}sent {self.sent}, failed {self.failed}, dead {self.dead}, "
            f"skipped by rule {skipped}" + (f" ({by_rule})" if by_rule else "")
        )
        earlier = self.already_sent + self.already_dead
        if earlier:
            text += (
                f"; settled by an earlier run {earlier} (sent {self.already_sent}, dead {self.already_dead})"
            )
        if self.deferred:
            text += f"; deferred (delivery time still ahead) {self.deferred}"
        return text


class _Writer:
    """Buffers outcome rows and appends them in batches."""

    def __init__(self, log: DeliveryLog, batch_size: int) -> None:
        self.log = log
        self.batch_size = batch_size
        self.rows: list[LogRow] = []

    def add(self, row: LogRow) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        rows, self.rows = self.rows, []
        self.log.append(rows)

    async def every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.flush()


class _Run:
    def __init__(
        self,
        transport: Transport,
        writer: _Writer,
        summary: DeliverySummary,
        *,
        concurrency: int,
        rate: float | None,
        retry: RetryPolicy,
        rng: random.Random,
        advance: Callable[[int], object],
    ) -> None:
        self.transport = transport
        self.writer = writer
        self.summary = summary
        self.in_flight = asyncio.Semaphore(concurrency)
        self.limiter = RateLimiter(rate)
        self.retry = retry
        self.stopped = False
        self.rng = rng
        self.advance = advance

    def row(
        self, m: OutgoingMessage, state: str, attempts: int, code: int | None, reason: str | None
    ) -> LogRow:
        return LogRow(
            m.key,
            state,
            self.transport.name,
            m.channel,
            m.campaign_id,
            m.identity,
            m.request_id,
            m.recipient,
            attempts,
            code,
            reason,
        )

    async def one(self, m: OutgoingMessage, earlier: int) -> None:
        attempt = 0
        while True:
            await self.limiter.wait()
            attempt += 1
            try:
                async with self.in_flight:
                    if self.stopped:
                        return
                    receipt = await self.transport.deliver(m)
            except DeliveryRejected as exc:
                self.writer.add(self.row(m, "dead", earlier + attempt, exc.status_code, exc.message))
                self.summary.dead += 1
                break
            except TransportError as exc:
                if attempt >= self.retry.max_attempts:
                    reason = f"gave up after {attempt} attempts in this run: {exc.message}"
                    self.writer.add(self.row(m, "failed", earlier + attempt, exc.status_code, reason))
                    self.summary.failed += 1
                    break
                self.writer.add(self.row(m, "failed", earlier + attempt, exc.status_code, exc.message))
                self.summary.retries += 1
                await asyncio.sleep(self.retry.delay(attempt, exc.retry_after, self.rng))
                continue
            except SendError:
                # Set before this task yields, so no message waiting for a slot starts after the error.
                self.stopped = True
                raise
            self.writer.add(self.row(m, "sent", earlier + attempt, receipt.status_code, None))
            self.summary.sent += 1
            break
        self.advance(1)


async def deliver(
    messages: Iterable[OutgoingMessage],
    transport: Transport,
    *,
    log: DeliveryLog,
    concurrency: int = 16,
    rate: float | None = None,
    retry: RetryPolicy | None = None,
    batch_size: int = 500,
    flush_interval: float = 0.25,
    progress: bool = False,
    seed: int | None = None,
    summary: DeliverySummary | None = None,
) -> DeliverySummary:
    """Deliver ``messages`` through ``transport``, resuming from what ``log`` already holds.

    ``concurrency`` bounds messages in flight (and the transport's own ceiling bounds it further);
    ``rate`` bounds attempts per second. A :class:`~triggerlab.errors.SendError` other than a transport
    failure or a rejection stops the run after flushing the log; unfinished messages stay pending or failed
    and the next run picks them up.
    """
    summary = summary if summary is not None else DeliverySummary()
    retry = retry or RetryPolicy()
    todo: dict[str, OutgoingMessage] = {}
    wanted = list(messages)
    known = log.states(m.key for m in wanted)
    earlier: dict[str, int] = {}
    for m in wanted:
        state, attempts = known.get(m.key, ("", 0))
        if m.key in todo:
            summary.duplicates += 1
        elif state == "sent":
            summary.already_sent += 1
        elif state == "dead":
            summary.already_dead += 1
        else:
            todo[m.key] = m
            earlier[m.key] = attempts
    limit = min(concurrency, transport.max_concurrency or concurrency)
    writer = _Writer(log, batch_size)
    # Tasks alive at once, counting those asleep before a retry: enough to keep ``limit`` requests busy
    # while others wait out a back-off, without creating a task per message up front.
    window = asyncio.Semaphore(limit * 4)
    with tqdm(total=len(todo), disable=not progress, unit="msg", desc=f"send via {transport.name}") as bar:
        run = _Run(
            transport,
            writer,
            summary,
            concurrency=limit,
            rate=rate,
            retry=retry,
            rng=random.Random(seed),
            advance=bar.update,
        )
        tasks: set[asyncio.Task[None]] = set()
        failure: list[BaseException] = []

        def done(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            window.release()
            error = None if task.cancelled() else task.exception()
            if error is not None:
                failure.append(error)

        await transport.open()
        flusher = asyncio.create_task(writer.every(flush_interval))
        try:
            pending = list(todo.values())
            for start in range(0, len(pending), batch_size):
                chunk = pending[start : start + batch_size]
                log.append([run.row(m, "pending", earlier[m.key], None, None) for m in chunk])
                for m in chunk:
                    await window.acquire()
                    if failure:
                        raise failure[0]
                    task = asyncio.create_task(run.one(m, earlier[m.key]))
                    tasks.add(task)
                    task.add_done_callback(done)
            while tasks and not failure:
                await asyncio.wait(set(tasks), return_when=asyncio.FIRST_EXCEPTION)
            if failure:
                # Stop at once: the messages not yet handed over stay pending for the next run.
                raise failure[0]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            writer.flush()
            await transport.aclose()
    return summary
