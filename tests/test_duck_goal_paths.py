"""The DuckDB goal conversion's two ways (a hash join, or an as-of join) decide like the reference, and the
engine spills to a folder of its own, never to the working directory.

Small scenarios always take the hash join, so the differential test covers it; here the join is ruled out
(``PAIRS_PER_ROW`` below zero) and the as-of join must still agree with the reference row for row.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import SAMPLE, recorded, simulate_sample
from tests.engine_scenarios import assert_engines_agree_on_scenarios
from triggerlab.duck import connect
from triggerlab.engine import duck_goal
from triggerlab.engine.duck import DuckEngine
from triggerlab.engine.duck_goal import conversion_table
from triggerlab.engine.inputs import EngineInputs
from triggerlab.engine.tables import load_events, load_history, load_profiles


def test_as_of_join_agrees_with_the_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duck_goal, "PAIRS_PER_ROW", -1)

    assert_engines_agree_on_scenarios(tmp_path, 40)


T = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
EVENTS = pl.DataFrame(
    {
        "identity": ["u1", "u1", "u1", "u3", "u3"],
        "event": ["Charged", "Charged", "Viewed", "Charged", "Charged"],
        "ts": [
            T,  # at the trigger: not after it
            T + timedelta(days=1, seconds=1),  # just after rid 1's window
            T + timedelta(hours=1),
            T + timedelta(days=1),  # rid 5's window's last instant
            T + timedelta(days=3),
        ],
    },
    schema_overrides={"ts": pl.Datetime("us", "UTC")},
)
ROWS = pl.DataFrame(
    {
        "rid": [1, 2, 3, 4, 5, 6],
        "identity": ["u1", "u1", "u2", "u1", "u3", "u1"],
        "goal_event": ["Charged", "Charged", "Charged", "Viewed", "Charged", "Viewed"],
        "received_at": [T, T, T, T, T, T - timedelta(seconds=1)],
        "closes": [
            T + timedelta(days=1),
            T + timedelta(days=2),
            T + timedelta(days=1),
            T + timedelta(minutes=59, seconds=59),
            T + timedelta(days=1),
            T + timedelta(hours=1),
        ],
    },
    schema_overrides={"received_at": pl.Datetime("us", "UTC"), "closes": pl.Datetime("us", "UTC")},
)


@pytest.mark.parametrize(
    ("pairs_per_row", "path"), [(-1, "_joined"), (1_000_000, "_as_of")], ids=["as_of", "joined"]
)
def test_window_is_open_at_the_trigger_and_closed_at_its_end(
    monkeypatch: pytest.MonkeyPatch, pairs_per_row: int, path: str
) -> None:
    monkeypatch.setattr(duck_goal, "PAIRS_PER_ROW", pairs_per_row)

    def other_path(*_: object) -> None:
        raise AssertionError(f"the guard must not take {path}")

    monkeypatch.setattr(duck_goal, path, other_path)
    con = connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("events", EVENTS.to_arrow())
    con.register("grouped", ROWS.to_arrow())
    conversion_table(con, "grouped")
    # 1: only events at the trigger and a second past the end; 2: the later one is inside; 3: no events;
    # 4: the Viewed event a second after the end; 5: exactly at the end; 6: exactly at the end, a second later
    # conv lists the rows that convert
    assert con.sql("SELECT rid FROM conv ORDER BY rid").fetchall() == [(2,), (5,), (6,)]
    assert con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'conv_ev'").fetchall() == [(0,)]
    con.close()


def test_the_pairs_counted_are_those_the_hash_join_makes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Goal events in their goal's span (Charged after T up to T+2d, Viewed up to T+1h): u1's Charged one (u1
    has 2 Charged rows), u3's first (1 row) and u1's Viewed one (2 rows): 5 pairs."""
    counted = recorded(monkeypatch, duck_goal, "pair_count")
    con = connect()
    con.register("events", EVENTS.to_arrow())
    con.register("grouped", ROWS.to_arrow())
    conversion_table(con, "grouped")
    assert counted == [5]
    con.close()


def test_spills_to_its_own_folder_and_removes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work, temp = tmp_path / "project", tmp_path / "temp"
    work.mkdir()
    temp.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    result = simulate_sample(
        [SAMPLE / "campaigns" / "fitness_milestone.yaml"],
        progress=False,
        memory_limit="64MB",
    )
    assert result.outcomes.height > 0
    assert list(work.iterdir()) == []
    assert list(temp.iterdir()) == []

    inputs = EngineInputs(
        campaigns={},
        settings=result.settings,
        profiles=load_profiles(SAMPLE / "profiles.csv"),
        events=load_events(None),
        history=load_history(None),
    )
    engine = DuckEngine(inputs, memory_limit="64MB")
    assert engine.spill.parent == temp and engine.spill.is_dir()
    assert engine.con.sql("SELECT current_setting('temp_directory')").fetchall() == [(str(engine.spill),)]
    engine.close()
    assert list(temp.iterdir()) == []
