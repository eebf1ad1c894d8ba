"""Retry timing (exponential back-off with full jitter, honouring Retry-After) and a messages/s limit."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

__all__ = ["RateLimiter", "RetryPolicy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """``max_attempts`` tries per message and run; between them a random wait in
    ``[0, min(cap, base * 2**(attempt-1))]`` (full jitter spreads retries of a burst of failures apart),
    but never less than the server's ``Retry-After``, itself bounded by ``max_retry_after``."""

    max_attempts: int = 6
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 300.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        backoff = rng.uniform(0.0, min(self.cap, self.base * 2 ** (attempt - 1)))
        if retry_after is None:
            return backoff
        return max(min(retry_after, self.max_retry_after), backoff)


class RateLimiter:
    """At most ``rate`` starts per second: each start takes the next slot of an even schedule (no burst at
    start-up, which is what trips a receiver's per-second limit). A wake-up the machine delays does not push
    later slots back, so the average rate holds."""

    def __init__(self, rate: float | None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self._interval:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now, self._next)
        self._next = start + self._interval
        if start > now:
            await asyncio.sleep(start - now)
