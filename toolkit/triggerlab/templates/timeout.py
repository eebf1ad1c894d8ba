"""The 1 s per-field render deadline.

python-liquid has no wall-clock limit, so we use ``SIGALRM``. Signals only reach the main thread: in any
other thread (a Jupyter comm handler, a worker pool) renders run without a deadline and rely on the loop,
output and namespace limits alone. An interval timer the caller had armed (pytest-timeout uses one) is
restored afterwards with its remaining time; it cannot fire during the render.

Installing a signal handler costs about 9 us, more than a short render: the handler stays installed between
renders and passes any alarm that is not a render's on to the Python handler it replaced (when it replaced
the default or ``SIG_IGN``, such an alarm is dropped instead of ending the process). Whoever sets another
handler later replaces it; the next render installs it again in front of that one.
"""

from __future__ import annotations

import importlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["RENDER_SECONDS", "Deadline", "RenderTimeout", "deadline"]

RENDER_SECONDS = 1.0


class RenderTimeout(Exception):  # noqa: N818 (a signal raised into the render, caught by render())
    """A field took longer than its deadline."""


#: the C getsignal: signal.getsignal's enum conversion of a Python handler costs 2 us, a fiftieth of a render
_getsignal: Callable[[int], object] = importlib.import_module("_signal").getsignal

#: an alarm this long after a render's deadline passed is that render's, delivered late: not passed on
LATE_SECONDS = 0.05


class _Alarm:
    """The state the handler reads: whether a field is being timed, and the handler it stands in front of."""

    armed = False
    expires = 0.0
    previous: Callable[[int, FrameType | None], Any] | int | None = signal.SIG_DFL


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    if _Alarm.armed:
        raise RenderTimeout
    if 0 <= time.monotonic() - _Alarm.expires < LATE_SECONDS:
        return
    previous = _Alarm.previous
    if callable(previous):
        previous(signum, frame)


class Deadline:
    """Arms one deadline per field; a no-op outside the main thread."""

    def __init__(self, seconds: float, active: bool) -> None:
        self.seconds = seconds
        self.active = active

    def arm(self) -> None:
        if self.active:
            _Alarm.expires = time.monotonic() + self.seconds
            _Alarm.armed = True
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def disarm(self) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            _Alarm.armed = False


@contextmanager
def deadline(seconds: float = RENDER_SECONDS, *, enabled: bool = True) -> Iterator[Deadline]:
    """Put the alarm handler in place for a message; each field calls ``arm()`` before it renders.

    ``enabled=False`` (a message without loops) skips the signal calls altogether.
    """
    active = (
        enabled and threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    )
    if not active:
        yield Deadline(seconds, False)
        return
    if _getsignal(signal.SIGALRM) is not _on_alarm:
        _Alarm.previous = signal.signal(signal.SIGALRM, _on_alarm)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, 0)
    started = time.monotonic()
    try:
        yield Deadline(seconds, True)
    finally:
        if _Alarm.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            _Alarm.armed = False
        if old_delay > 0:
            remaining = old_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-6), old_interval)
