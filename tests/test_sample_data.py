"""The committed sample data is exactly what `sample_data/generate.py` writes, and has the advertised shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from triggerlab.settings import is_zone

FILES = ("profiles.csv", "events.parquet", "triggers.jsonl", "history.csv")
SCRIPT = Path(__file__).resolve().parents[1] / "sample_data" / "generate.py"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh run of the generator, in its own process as a user would run it."""
    out = tmp_path_factory.mktemp("sample")
    subprocess.run([sys.executable, str(SCRIPT), str(out)], check=True)
    return out


@pytest.mark.parametrize("name", FILES)
def test_committed_file_is_what_the_script_writes(name: str, fresh: Path, sample_dir: Path) -> None:
    assert (sample_dir / name).read_bytes() == (fresh / name).read_bytes()


def test_sample_data_stays_small(sample_dir: Path) -> None:
    total = sum(path.stat().st_size for path in sample_dir.rglob("*") if path.is_file())
    assert total < 10_000_000


def test_profiles(sample_dir: Path) -> None:
    profiles = pl.read_csv(sample_dir / "profiles.csv", infer_schema=False)
    assert profiles.columns == [
        "identity",
        "email",
        "objectId",
        "name",
        "timezone",
        "Customer Type",
        "city",
        "plan",
    ]
    assert profiles.height == 5_000
    assert profiles["identity"].n_unique() == 5_000
    zones = profiles["timezone"].drop_nulls().unique().to_list()
    assert len([zone for zone in zones if is_zone(zone)]) == 9
    assert sorted(zone for zone in zones if not is_zone(zone)) == ["America/NewYork", "Asia/Mumbai"]
    assert profiles.null_count().row(0) == (0, 16, 0, 25, 19, 18, 19, 23)
    # family accounts: five emails shared by two profiles each
    shared = profiles.group_by("email").len().filter(pl.col("len") > 1, pl.col("email").is_not_null())
    assert shared.height == 5


def test_events(sample_dir: Path) -> None:
    events = pl.read_parquet(sample_dir / "events.parquet")
    assert events.schema == pl.Schema(
        {
            "identity": pl.Utf8,
            "event": pl.Utf8,
            "ts": pl.Datetime("us", "UTC"),
            "Amount": pl.Float64,
            "Category": pl.Utf8,
            "steps": pl.Int64,
        }
    )
    counts = dict(events.group_by("event").len().iter_rows())
    assert counts == {
        "App Launched": 60_000,
        "Charged": 17_097,
        "Product Viewed": 15_000,
        "Steps Logged": 9_721,
    }
    assert events.filter(pl.col("event") == "Charged")["Amount"].null_count() == 0
    assert events.filter(pl.col("event") == "Steps Logged")["steps"].null_count() == 0


def test_triggers(sample_dir: Path) -> None:
    lines = (sample_dir / "triggers.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 19_916
    assert [n for n, line in enumerate(lines, 1) if not line.strip()] == [9_958]
    kinds = {"not an object": 0, "v1": 0, "v2": 0, "d": 0}
    for line in filter(str.strip, lines):
        try:
            envelope = json.loads(line)
        except json.JSONDecodeError:
            envelope = None
        if not isinstance(envelope, dict):
            kinds["not an object"] += 1
            continue
        body = envelope["body"]
        kinds["d" if "d" in body else "v2" if "campaign_id_list" in body else "v1"] += 1
    assert kinds == {"not an object": 6, "v1": 18_493, "v2": 1_216, "d": 200}


def test_history(sample_dir: Path) -> None:
    history = pl.read_csv(sample_dir / "history.csv", infer_schema=False)
    assert history.columns == ["identity", "channel", "campaign_id", "sent_at"]
    assert dict(history.group_by("channel").len().iter_rows()) == {
        "push": 10_445,
        "email": 3_340,
        "whatsapp": 898,
    }
