from __future__ import annotations

from pathlib import Path

import pytest

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


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE
