from __future__ import annotations

import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from triggerlab.results import SimulationResult

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
SHARED = ROOT.parent / "shared"


def shared_file(relative: str) -> Path:
    """Third-party test material in ``../shared/external`` (next to the clone, as the README says); a test
    that needs a missing file is skipped with a reason naming it."""
    path = SHARED / "external" / relative
    if not path.exists():
        pytest.skip(f"third-party test material missing: {path} (see README, Tests)", allow_module_level=True)
    return path


def simulate_sample(campaigns: Sequence[Path], **options: Any) -> SimulationResult:
    """``simulate`` on the shipped sample batch, profiles, events, history and settings."""
    from triggerlab.simulation import simulate

    return simulate(
        campaigns,
        triggers=SAMPLE / "triggers.jsonl",
        profiles=SAMPLE / "profiles.csv",
        events=SAMPLE / "events.parquet",
        history=SAMPLE / "history.csv",
        settings=SAMPLE / "triggerlab.yaml",
        **options,
    )


def recorded(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[Any]:
    """What ``owner.name`` returns, call by call, while it keeps working as before."""
    results: list[Any] = []
    original = getattr(owner, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        results.append(original(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(owner, name, recording)
    return results


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture
def received() -> Iterator[list[int]]:
    """A caller's own SIGALRM handler (pytest-timeout's stands in its place), restored afterwards with the
    caller's timer; the signals it got."""
    got: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        got.append(signum)

    before = signal.signal(signal.SIGALRM, handler)
    delay, interval = signal.setitimer(signal.ITIMER_REAL, 0)
    yield got
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, before)
    signal.setitimer(signal.ITIMER_REAL, delay, interval)
