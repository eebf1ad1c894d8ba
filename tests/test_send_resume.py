"""Crash and resume: a send of 2,000 webhook messages is SIGKILLed at random points and resumed each time.

At the receiver every message arrives. A message arrives twice only if the log did not yet call it sent when
the process died (the documented window between acknowledgement and log flush), and the repeat carries the
same idempotency key.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.send_crash_worker import BATCH_SIZE
from tests.send_receivers import HttpReceiver
from triggerlab.delivery import DeliveryLog, idempotency_key
from triggerlab.workspace import Workspace

WORKER = Path(__file__).with_name("send_crash_worker.py")
COUNT = 2000


def logged_sent(workspace: Path) -> set[str]:
    with Workspace(workspace) as ws:
        log = DeliveryLog(ws.con)
        return {k for (k,) in log.con.execute("SELECT key FROM deliveries WHERE state = 'sent'").fetchall()}


def start(workspace: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(workspace), url, str(COUNT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_killed_sends_resume_without_losing_or_repeating_messages(tmp_path: Path) -> None:
    workspace = tmp_path / "ws.duckdb"
    rng = random.Random(5)
    kills = 0
    # (index of the first request after the kill, keys the log called sent when the process died)
    checkpoints: list[tuple[int, set[str]]] = []
    with HttpReceiver() as receiver:
        for _ in range(4):
            target = len(receiver.requests) + rng.randrange(50, 450)
            proc = start(workspace, receiver.url)
            while len(receiver.requests) < target and proc.poll() is None:
                time.sleep(0.002)
            if proc.poll() is not None:
                break
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
            sent = logged_sent(workspace)
            checkpoints.append((len(receiver.requests), sent))
        final = start(workspace, receiver.url)
        out, err = final.communicate(timeout=120)
        assert final.returncode == 0, err
        requests = list(receiver.requests)

    assert kills == 4
    keys = [r.headers["idempotency-key"] for r in requests]
    expected = {idempotency_key("1750575723", f"r{n}", 0, f"user-{n}") for n in range(COUNT)}
    # Every message arrived, and each request carries the key of the body it holds.
    assert set(keys) == expected
    for r in requests:
        n = r.json()["n"]
        assert r.headers["idempotency-key"] == idempotency_key("1750575723", f"r{n}", 0, f"user-{n}")
    # A repeat only happens to a message the log had not recorded as sent before the kill.
    for boundary, sent_before in checkpoints:
        assert not sent_before & set(keys[boundary:])
    repeats = Counter(keys)
    duplicated = sum(c - 1 for c in repeats.values())
    assert duplicated <= kills * BATCH_SIZE
    print(
        f"{len(requests)} requests for {COUNT} messages, {duplicated} repeats in the window after {kills} kills"
    )
    assert logged_sent(workspace) == expected
    assert "'sent': " in out
