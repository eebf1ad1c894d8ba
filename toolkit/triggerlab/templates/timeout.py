"""The 1 s per-field render deadline.

python-liquid has no wall-clock limit, so we use ``SIGALRM``. Signals only reach the main thread: in any
other thread (a Jupyter comm handler, a worker pool) renders run without a deadline and rely on the loop,
output and namespace limits alone. An interval timer the caller had armed (pytest-timeout uses one) is
restored afterwards with its remaining time; it cannot fire during the render.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["RENDER_SECONDS", "Deadline", "RenderTimeout", "deadline"]

RENDER_SECONDS = 1.0


class RenderTimeout(Exception):  # noqa: N818 (a signal raised into the render, caught by render())
    """A field took longer than its deadline."""


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise RenderTimeout


class Deadline:
    """Arms one deadline per field; a no-op outside the main thread."""

    def __init__(self, seconds: float, active: bool) -> None:
        self.seconds = seconds
        self.active = active

    def arm(self) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def disarm(self) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)


@contextmanager
def deadline(seconds: float = RENDER_SECONDS, *, enabled: bool = True) -> Iterator[Deadline]:
    """Install the alarm handler once for a message; each field calls ``arm()`` before it renders.

    ``enabled=False`` (a message without loops) skips the signal calls altogether.
    """
    active = (
        enabled and threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    )
    if not active:
        yield Deadline(seconds, False)
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, 0)
    started = time.monotonic()
    try:
        yield Deadline(seconds, True)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if old_delay > 0:
            remaining = old_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-6), old_interval)
