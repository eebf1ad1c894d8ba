"""Profile, event and history tables: read from a path, a polars frame or a DuckDB relation, typed once.

Both engines receive the same frames, so they read the same values. CSV cells stay text (an empty cell is
"not set"); Parquet, JSON, DuckDB and polars keep their types. Key columns become text; time columns become
UTC instants (naive times are UTC).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from triggerlab.errors import InputError, input_file
from triggerlab.triggers import parse_received_at

__all__ = ["TableSource", "load_events", "load_history", "load_profiles", "read_table"]

TableSource = str | Path | pl.DataFrame | Any
_UTC = pl.Datetime("us", "UTC")


def read_table(source: TableSource, what: str) -> pl.DataFrame:
    """A table as a polars frame: CSV (text cells), Parquet, JSON Lines, a frame or a DuckDB relation."""
    if isinstance(source, pl.DataFrame):
        return source
    if hasattr(source, "pl") and not isinstance(source, str | Path):
        frame: pl.DataFrame = source.pl()
        return frame
    path = input_file(source, f"{what} table")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix in (".jsonl", ".ndjson", ".json"):
            return pl.read_ndjson(path)
        return pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"cannot read the {what} table {path}: {exc}") from None


def _require(frame: pl.DataFrame, what: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"the {what} table needs the column(s) {', '.join(missing)}")


def _as_instant(frame: pl.DataFrame, column: str, what: str) -> pl.DataFrame:
    dtype = frame.schema[column]
    if isinstance(dtype, pl.Datetime):
        series = frame[column]
        utc = (
            series.dt.replace_time_zone("UTC")
            if dtype.time_zone is None
            else series.dt.convert_time_zone("UTC")
        )
        return frame.with_columns(utc.dt.cast_time_unit("us").alias(column))
    if dtype == pl.Date:
        return frame.with_columns(pl.col(column).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
    texts = frame[column].cast(pl.String)
    parsed = {text: parse_received_at(text) for text in texts.unique().drop_nulls().to_list()}
    bad = sorted(text for text, value in parsed.items() if value is None)
    if bad:
        raise InputError(f"the {what} table has a {column} that is not an ISO-8601 time: {bad[0]!r}")
    mapped = texts.replace_strict(parsed, default=None, return_dtype=_UTC)
    return frame.with_columns(mapped.alias(column))


def _text_columns(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    present = [c for c in columns if c in frame.columns]
    return frame.with_columns(pl.col(c).cast(pl.String) for c in present)


def load_profiles(source: TableSource) -> pl.DataFrame:
    frame = read_table(source, "profiles")
    _require(frame, "profiles", ("identity",))
    frame = _text_columns(frame, ("identity", "email", "objectId", "timezone"))
    # a profile is its identity (rule 4 matches it, buckets and caps are per identity): none may lack one
    lacking = frame.select(pl.arg_where(pl.col("identity").is_null() | (pl.col("identity") == "")))
    if lacking.height:
        first = int(lacking.item(0, 0)) + 1
        raise InputError(
            f"the profiles table has {lacking.height:,} row(s) without an identity (the first is data row "
            f"{first:,}): give every profile one, or drop those rows"
        )
    return frame


def load_events(source: TableSource | None) -> pl.DataFrame:
    if source is None:
        return pl.DataFrame(schema={"identity": pl.String, "event": pl.String, "ts": _UTC})
    frame = read_table(source, "events")
    _require(frame, "events", ("identity", "event", "ts"))
    return _as_instant(_text_columns(frame, ("identity", "event")), "ts", "events")


def load_history(source: TableSource | None) -> pl.DataFrame:
    if source is None:
        schema = pl.Schema(
            {"identity": pl.String(), "channel": pl.String(), "campaign_id": pl.String(), "sent_at": _UTC}
        )
        return pl.DataFrame(schema=schema)
    frame = read_table(source, "history")
    _require(frame, "history", ("identity", "channel", "campaign_id", "sent_at"))
    frame = _text_columns(frame, ("identity", "channel", "campaign_id"))
    return _as_instant(frame, "sent_at", "history").select("identity", "channel", "campaign_id", "sent_at")
