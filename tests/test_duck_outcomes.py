"""The DuckDB engine's outcomes come back from its joins in shuffled blocks of lines: put in ``rid`` order."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from triggerlab.engine.duck_outcomes import _blocks, sorted_by_rid

SHIFT = 1 << 32


def rids(*lines: tuple[int, int]) -> list[int]:
    """The rids of (line, recipient) pairs."""
    return [line * SHIFT + recipient for line, recipient in lines]


def columns(rid: list[int], chunks: int = 3) -> list[pl.Series]:
    """A rid column in several chunks (as DuckDB's Arrow batches are) and a text column that names each row."""
    size = max(1, -(-len(rid) // chunks))
    parts = [rid[i : i + size] for i in range(0, len(rid), size)] or [[]]
    chunked = pl.concat([pl.Series("rid", part, dtype=pl.Int64) for part in parts], rechunk=False)
    names = pl.Series("name", [f"{r // SHIFT}.{r % SHIFT}" for r in rid], dtype=pl.String)
    return [names, chunked]


def expected(rid: list[int]) -> pl.DataFrame:
    ordered = sorted(rid)
    return pl.DataFrame(
        {
            "name": pl.Series([f"{r // SHIFT}.{r % SHIFT}" for r in ordered], dtype=pl.String),
            "rid": pl.Series(ordered, dtype=pl.Int64),
            "line": pl.Series([r // SHIFT for r in ordered], dtype=pl.Int64),
            "recipient": pl.Series([r % SHIFT for r in ordered], dtype=pl.Int64),
        }
    )


# lines 5-9 first (line 7 with three recipients), then 3-4 (line 3 with two), then 0-2
SHUFFLED = rids(
    (5, 0), (6, 0), (7, 0), (7, 1), (7, 2), (8, 0), (9, 0),
    (3, 0), (3, 1), (4, 0),
    (0, 0), (1, 0), (2, 0),
)  # fmt: skip


def test_shuffled_blocks_of_lines_are_joined_in_order() -> None:
    assert _blocks(pl.Series(SHUFFLED)) == [(10, 3), (7, 3), (0, 7)]
    frame = sorted_by_rid(columns(SHUFFLED))
    assert_frame_equal(frame, expected(SHUFFLED))
    assert frame["rid"].n_chunks() == 1


def test_a_run_that_skips_lines_is_split_where_it_skips() -> None:
    # one ascending run (lines 0, 1, 4, 5) and the lines it skips after it: three blocks
    rid = rids((0, 0), (1, 0), (4, 0), (5, 0), (2, 0), (3, 0))
    assert _blocks(pl.Series(rid)) == [(0, 2), (4, 2), (2, 2)]
    assert_frame_equal(sorted_by_rid(columns(rid)), expected(rid))


@pytest.mark.parametrize(
    "rid",
    [
        # two ascending runs that interleave: blocks that overlap (line 1's recipients on both sides)
        rids((0, 0), (1, 0), (1, 2), (2, 0), (1, 1), (3, 0)),
        # every line its own block, in reverse
        rids(*((line, 0) for line in range(12, -1, -1))),
    ],
    ids=["overlapping", "reversed"],
)
def test_other_orders_are_sorted(rid: list[int]) -> None:
    if len(rid) < 10:
        assert _blocks(pl.Series(rid)) is None
    assert_frame_equal(sorted_by_rid(columns(rid)), expected(rid))


def test_too_many_blocks_are_sorted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("triggerlab.engine.duck_outcomes._MAX_BLOCKS", 2)
    assert _blocks(pl.Series(SHUFFLED)) is None
    assert_frame_equal(sorted_by_rid(columns(SHUFFLED)), expected(SHUFFLED))


def test_in_order_and_empty() -> None:
    ordered = sorted(SHUFFLED)
    assert _blocks(pl.Series(ordered)) == [(0, len(ordered))]
    assert_frame_equal(sorted_by_rid(columns(ordered)), expected(ordered))
    assert _blocks(pl.Series([], dtype=pl.Int64)) is None
    assert_frame_equal(sorted_by_rid(columns([])), expected([]))
