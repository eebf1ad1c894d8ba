"""The delivery loop: messages in, each one ends sent, failed (retry later) or dead, and the log says which.

Durability contract (the crash window): a batch of messages is logged ``pending`` in one commit before any
of them is handed to the transport; acknowledgements are logged in batches, committed on a thread of their
own while sending goes on (see :mod:`triggerlab.delivery.writer`). A run killed between a receiver's
acknowledgement and the commit that records it has messages the receiver holds but the log still calls
pending; the next run sends those again with the same idempotency key, so a receiver that keeps keys drops
the repeat. At most ``batch_size`` acknowledged messages are uncommitted at any time, and none for longer
than about ``flush_interval`` seconds plus one commit. A message logged ``sent`` or ``dead`` is never handed
to a transport again.
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
from triggerlab.delivery.writer import LogWriter
from triggerlab.errors import DeliveryRejected, TransportError

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


#: a message waiting for a worker: the message, attempts before this run, attempts so far in this run
_Item = tuple[OutgoingMessage, int, int]


class _Run:
    """A fixed pool of workers taking messages from a queue (no task per message: at thousands of messages a
    second, creating and scheduling a task each costs a quarter of the CPU an HTTP request does). A message
    to retry goes back on the queue after its back-off, so a waiting message holds no worker."""

    def __init__(
        self,
        transport: Transport,
        log: DeliveryLog,
        summary: DeliverySummary,
        *,
        batch_size: int,
        rate: float | None,
        retry: RetryPolicy,
        rng: random.Random,
        advance: Callable[[int], object],
    ) -> None:
        self.transport = transport
        self.writer = LogWriter(log, batch_size, failed=self._stop)
        self.summary = summary
        self.limiter = RateLimiter(rate)
        self.retry = retry
        self.rng = rng
        self.advance = advance
        self.queue: asyncio.Queue[_Item] = asyncio.Queue()
        self.unsettled = 0
        self.feeding = True
        self.failure: BaseException | None = None
        self.changed = asyncio.Event()

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

    def add(self, m: OutgoingMessage, earlier: int) -> None:
        self.unsettled += 1
        self.queue.put_nowait((m, earlier, 0))

    async def _settle(
        self, m: OutgoingMessage, state: str, attempts: int, code: int | None, reason: str | None
    ) -> None:
        await self.writer.add(self.row(m, state, attempts, code, reason))
        if state == "sent":
            self.summary.sent += 1
        elif state == "dead":
            self.summary.dead += 1
        else:
            self.summary.failed += 1
        self.advance(1)
        self.unsettled -= 1
        self.changed.set()

    def _requeue(self, item: _Item) -> None:
        if self.failure is None:
            self.queue.put_nowait(item)

    def _stop(self, error: BaseException) -> None:
        # Set before this worker yields, so no other worker starts a message after a run-stopping error.
        self.failure = self.failure or error
        self.changed.set()

    async def worker(self) -> None:
        try:
            await self._work()
        except Exception as exc:  # a SendError that stops the run, a failed log commit, or a bug
            self._stop(exc)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while self.failure is None:
            m, earlier, attempt = await self.queue.get()
            await self.limiter.wait()
            if self.failure is not None:
                return
            attempt += 1
            try:
                receipt = await self.transport.deliver(m)
            except DeliveryRejected as exc:
                await self._settle(m, "dead", earlier + attempt, exc.status_code, exc.message)
            except TransportError as exc:
                if attempt >= self.retry.max_attempts:
                    reason = f"gave up after {attempt} attempts in this run: {exc.message}"
                    await self._settle(m, "failed", earlier + attempt, exc.status_code, reason)
                else:
                    row = self.row(m, "failed", earlier + attempt, exc.status_code, exc.message)
                    await self.writer.add(row)
                    self.summary.retries += 1
                    delay = self.retry.delay(attempt, exc.retry_after, self.rng)
                    loop.call_later(delay, self._requeue, (m, earlier, attempt))
            else:
                await self._settle(m, "sent", earlier + attempt, receipt.status_code, None)

    async def settled_down_to(self, count: int) -> None:
        """Wait until at most ``count`` messages are unsettled; raise the run's failure if it stops first."""
        while self.unsettled > count and self.failure is None:
            self.changed.clear()
            await self.changed.wait()
        if self.failure is not None:
            raise self.failure


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
    # Messages taken on at once (in flight, queued, or waiting out a back-off): two batches, so the next one
    # is marked pending while the last is still going out, and a huge batch is not all marked up front.
    window = max(2 * batch_size, limit * 4)
    with tqdm(total=len(todo), disable=not progress, unit="msg", desc=f"send via {transport.name}") as bar:
        run = _Run(
            transport,
            log,
            summary,
            batch_size=batch_size,
            rate=rate,
            retry=retry,
            rng=random.Random(seed),
            advance=bar.update,
        )
        await transport.open()
        flusher = asyncio.create_task(run.writer.every(flush_interval))
        workers = [asyncio.create_task(run.worker()) for _ in range(limit)]
        try:
            pending = list(todo.values())
            for start in range(0, len(pending), batch_size):
                chunk = pending[start : start + batch_size]
                await run.settled_down_to(window - len(chunk))
                await run.writer.commit([run.row(m, "pending", earlier[m.key], None, None) for m in chunk])
                for m in chunk:
                    run.add(m, earlier[m.key])
            await run.settled_down_to(0)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            try:
                await run.writer.close()
            finally:
                await transport.aclose()
    return summary
