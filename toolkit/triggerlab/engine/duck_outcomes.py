"""The DuckDB engine's outcomes: each row's final status and reason in SQL, and the frame in ``rid`` order.

A row's ``rid`` is its line shifted 32 bits left plus its recipient number, so sorting by it orders rows by
line, then recipient; both are read back from it once sorted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import polars as pl

from triggerlab.engine import common
from triggerlab.engine.duck_filters import quote

__all__ = ["FINAL_REASON", "FINAL_STATUS", "RECIPIENT", "conform", "sorted_by_rid"]

#: a row's ``rid`` is its line shifted 32 bits left plus its recipient number
RECIPIENT = 0xFFFFFFFF

#: the most blocks of rows :func:`sorted_by_rid` puts in order by slices (past it, it sorts them)
_MAX_BLOCKS = 4096

#: the reasons of rules 5-7, the same for every row: ``s1`` leaves them out (a text per row: a third of s1)
_SHARED_REASONS = {
    "not_in_segment": common.NOT_IN_SEGMENT,
    "system_control": common.SYSTEM_CONTROL,
    "control": common.CONTROL,
}
#: a row's status and reason from ``f`` (rules 1-9, ``s3``) and ``t`` (rules 10-13, ``sched``): a row with no
#: status after rule 9 is in ``sched``, and one with none there either is sent
FINAL_STATUS = "coalesce(f.status::VARCHAR, t.status, 'sent')"
FINAL_REASON = (
    "CASE WHEN f.status IS NOT NULL THEN coalesce(f.reason, CASE f.status::VARCHAR "
    + " ".join(f"WHEN {quote(status)} THEN {quote(text)}" for status, text in _SHARED_REASONS.items())
    + " END) ELSE t.reason END"
)


def sorted_by_rid(columns: list[pl.Series]) -> pl.DataFrame:
    """The frame of ``columns`` in ``rid`` order, with ``line`` and ``recipient`` read from the sorted ``rid``
    (cheaper than two more columns to transfer and gather).

    DuckDB's joins do not keep the order of the rows they probe: each thread hands over the row groups it
    joined, so the rows come as blocks of consecutive lines in a shuffled order (10M rows: about a hundred).
    Such blocks are put in order by slicing each column and joining the slices (10M rows: 0.50 s instead of
    0.84 s for a sort); rows in any other order are sorted (:func:`_sorted`). Columns are handled on several
    threads (polars lets go of the GIL), and the list is the only holder of each unsorted column, so replacing
    it frees it and only the columns being moved are held twice."""
    rid = next(index for index, column in enumerate(columns) if column.name == "rid")
    blocks = _blocks(columns[rid])
    move = _sorted(columns[rid].arg_sort()) if blocks is None else _joined(blocks)
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for index, moved in enumerate(pool.map(move, columns)):
            columns[index] = moved
    return pl.DataFrame(columns).with_columns(
        line=pl.col("rid") // (RECIPIENT + 1), recipient=pl.col("rid").and_(RECIPIENT)
    )


def _sorted(order: pl.Series) -> Callable[[pl.Series], pl.Series]:
    """A column gathered in ``order``, made one chunk first: a gather from DuckDB's dozens of Arrow batches
    costs three to four times a rechunk and a gather from one."""
    return lambda column: column.rechunk().gather(order)


def _joined(blocks: list[tuple[int, int]]) -> Callable[[pl.Series], pl.Series]:
    """A column's ``blocks`` (offset, length) one after another, in one chunk."""
    return lambda column: pl.concat([column.slice(offset, length) for offset, length in blocks], rechunk=True)


def _blocks(rid: pl.Series) -> list[tuple[int, int]] | None:
    """The (offset, length) slices of ``rid`` that, one after another, put it in order; None when the rows
    are not a few ascending blocks that do not overlap.

    A block ends where ``rid`` falls or skips a line (a step over ``RECIPIENT + 1``), so a block is a run of
    consecutive lines; blocks taken by their first ``rid`` are in order when each ends before the next begins.
    """
    if rid.is_empty():
        return None
    step = rid.diff()
    starts = ((step < 0) | (step > RECIPIENT + 1)).fill_null(True).arg_true()
    if starts.len() > _MAX_BLOCKS:
        return None
    offsets = starts.to_list()
    ends = [*offsets[1:], rid.len()]
    firsts = rid.gather(starts).to_list()
    lasts = rid.gather([end - 1 for end in ends]).to_list()
    order = sorted(range(len(offsets)), key=firsts.__getitem__)
    if any(lasts[a] >= firsts[b] for a, b in pairwise(order)):
        return None
    return [(offsets[i], ends[i] - offsets[i]) for i in order]


def conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())
