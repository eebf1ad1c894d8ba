"""The delivery loop's log writer: every append is committed on one thread of its own, in the order given.

A commit (an Arrow scan, the WAL write and its fsync) takes milliseconds in which the event loop could send
dozens of messages; DuckDB releases the GIL while it works, so on its own thread the commit overlaps the
sending. The thread works through a cursor of the log's connection (DuckDB's way to use one database from
several threads), so the caller's connection stays free for the caller.

Outcome rows are buffered and handed to the thread in batches. The crash window stays as small as it was
when commits blocked the loop: acknowledged rows not yet committed (the batch being committed plus the
buffer) never exceed ``batch_size``, because a batch goes to the thread once half of that is buffered and
settling waits while the limit is reached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from triggerlab.delivery.log import DeliveryLog, LogRow

__all__ = ["LogWriter"]


class LogWriter:
    """Appends to ``log`` from one background thread. ``failed`` is told of a commit that raised (the run
    must stop: the log no longer says what was sent); :meth:`close` commits what is left and raises it."""

    def __init__(self, log: DeliveryLog, batch_size: int, failed: Callable[[BaseException], None]) -> None:
        self.batch_size = batch_size
        self.failed = failed
        self.rows: list[LogRow] = []
        self.failure: BaseException | None = None
        self._cursor = DeliveryLog(log.con.cursor())
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="triggerlab-log")
        self._loop = asyncio.get_running_loop()
        #: rows handed to the thread and not yet committed
        self._writing = 0
        #: a flush was asked for while a batch was being committed
        self._due = False
        self._room = asyncio.Event()

    async def commit(self, rows: Sequence[LogRow]) -> None:
        """Commit ``rows`` now and return once they are durable (after every batch handed over earlier)."""
        await self._loop.run_in_executor(self._thread, self._cursor.append, rows)

    async def add(self, row: LogRow) -> None:
        """Buffer one outcome row; waits while the crash window is full."""
        while len(self.rows) + self._writing >= self.batch_size and self.failure is None:
            self._room.clear()
            await self._room.wait()
        if self.failure is not None:
            raise self.failure
        self.rows.append(row)
        if 2 * len(self.rows) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Hand the buffered rows to the thread; if a batch is still being committed, once it is."""
        if self._writing:
            self._due = True
            return
        if not self.rows:
            return
        rows, self.rows, self._due = self.rows, [], False
        self._writing = len(rows)
        future = self._loop.run_in_executor(self._thread, self._cursor.append, rows)
        future.add_done_callback(self._written)

    def _written(self, future: asyncio.Future[None]) -> None:
        self._writing = 0
        error = None if future.cancelled() else future.exception()
        if error is not None:
            self.failure = self.failure or error
            self.failed(error)
        elif self._due or 2 * len(self.rows) >= self.batch_size:
            self.flush()
        self._room.set()

    async def every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.flush()

    async def close(self) -> None:
        """Commit every buffered row, stop the thread and close its cursor."""
        try:
            while self._writing and self.failure is None:
                self._room.clear()
                await self._room.wait()
            if self.failure is None and self.rows:
                rows, self.rows = self.rows, []
                await self.commit(rows)
        finally:
            self._thread.shutdown(wait=True)
            self._cursor.con.close()
        if self.failure is not None:
            raise self.failure
