"""The render deadline's handler: it stays installed between renders and passes other alarms on."""

from __future__ import annotations

import signal

from triggerlab import Campaign, render
from triggerlab.templates.timeout import _on_alarm

LOOP = "{% for i in ExternalTrigger.items %}{{ i }}{% endfor %}"


def push(body: str) -> Campaign:
    return Campaign.model_validate({"name": "T", "channel": "push", "message": {"title": "T", "body": body}})


def test_an_alarm_after_the_render_reaches_the_callers_handler(received: list[int]) -> None:
    assert render(push(LOOP), {}, {"items": ["a", "b"]}).fields["body"] == "ab"
    assert signal.getsignal(signal.SIGALRM) is _on_alarm
    signal.raise_signal(signal.SIGALRM)
    assert received == [signal.SIGALRM]


def test_the_callers_timer_runs_on_after_renders(received: list[int]) -> None:
    signal.setitimer(signal.ITIMER_REAL, 30)
    for _ in range(3):
        render(push(LOOP), {}, {"items": ["a"]})
    remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    assert 29 < remaining <= 30
    assert received == []


def test_a_handler_set_between_renders_is_kept_behind_the_next_one(received: list[int]) -> None:
    render(push(LOOP), {}, {"items": ["a"]})
    later: list[int] = []
    signal.signal(signal.SIGALRM, lambda signum, frame: later.append(signum))
    render(push(LOOP), {}, {"items": ["a"]})
    signal.raise_signal(signal.SIGALRM)
    assert (received, later) == ([], [signal.SIGALRM])


def test_a_message_without_loops_leaves_the_handler_alone(received: list[int]) -> None:
    render(push("{{ ExternalTrigger.x }}"), {}, {"x": "1"})
    assert signal.getsignal(signal.SIGALRM) is not _on_alarm
