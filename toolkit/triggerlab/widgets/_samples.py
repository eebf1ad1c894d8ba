"""Sample inputs for the template editor: profiles picked from a table, payloads picked from a batch.

Only the first rows are read (a preview needs examples, not the whole table). Profile cells are read as
text, the way CleverTap hands profile properties to Liquid; unset (null or empty) cells are left out, as
``render`` expects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triggerlab.campaign import Campaign
from triggerlab.errors import InputError
from triggerlab.templates import campaign_template_findings, payload_schema

if TYPE_CHECKING:
    import polars as pl

__all__ = ["SAMPLE_ROWS", "batch_payloads", "example_payload", "profile_rows"]

SAMPLE_ROWS = 200


def profile_rows(table: str | Path | pl.DataFrame) -> dict[str, dict[str, Any]]:
    """identity -> that profile's set columns, for the first rows of a profile table."""
    import polars as pl  # only when samples are asked for: a builder without them stays light

    if isinstance(table, pl.DataFrame):
        frame = table.head(SAMPLE_ROWS).cast(pl.String)
    else:
        path = Path(table)
        suffix = path.suffix.lower()
        try:
            if suffix == ".parquet":
                frame = pl.read_parquet(path, n_rows=SAMPLE_ROWS).cast(pl.String)
            elif suffix in (".jsonl", ".ndjson"):
                frame = pl.read_ndjson(path, n_rows=SAMPLE_ROWS).cast(pl.String)
            else:
                frame = pl.read_csv(path, n_rows=SAMPLE_ROWS, infer_schema=False)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise InputError(f"{path}: cannot read the profile table ({exc})") from None
    if "identity" not in frame.columns:
        raise InputError("the profile table has no identity column")
    return {
        str(row["identity"]): {k: v for k, v in row.items() if v not in (None, "")}
        for row in frame.iter_rows(named=True)
    }


def _payload_of(body: Any) -> tuple[str, dict[str, Any]] | None:
    if isinstance(body, dict) and isinstance(body.get("d"), list) and body["d"]:
        body = body["d"][0]
    if not isinstance(body, dict):
        return None
    campaign = body.get("campaign_id", (body.get("campaign_id_list") or [""])[0])
    payload = body.get("ExternalTrigger", {})
    return (str(campaign), payload) if isinstance(payload, dict) else None


def _jsonl_bodies(path: Path) -> Iterator[tuple[int, Any]]:
    """Streams: a batch may hold millions of lines and the picker needs the first few."""
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                try:
                    data = json.loads(line)
                except ValueError:
                    continue  # blank or broken lines are the simulator's to report, not the editor's
                yield number, data.get("body") if isinstance(data, dict) and "body" in data else data
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the trigger batch ({exc})") from None


def _table_bodies(source: Path | pl.DataFrame) -> Iterator[tuple[int, Any]]:
    import polars as pl

    from triggerlab.triggers import load_triggers

    if isinstance(source, pl.DataFrame):
        frame = source.head(SAMPLE_ROWS)
    else:
        try:
            if source.suffix.lower() == ".parquet":
                frame = pl.read_parquet(source, n_rows=SAMPLE_ROWS)
            else:
                frame = pl.read_csv(source, n_rows=SAMPLE_ROWS, infer_schema=False)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise InputError(f"{source}: cannot read the trigger batch ({exc})") from None
    for line in load_triggers(frame):
        if line.error is None:
            yield line.line, line.body


def batch_payloads(source: str | Path | pl.DataFrame) -> list[tuple[str, dict[str, Any]]]:
    """``(label, ExternalTrigger object)`` for the first readable requests of a trigger batch (JSON Lines,
    Parquet or CSV with a ``body`` column, or a polars frame)."""
    if not isinstance(source, str | Path):
        bodies = _table_bodies(source)
    elif Path(source).suffix.lower() in (".parquet", ".csv"):
        bodies = _table_bodies(Path(source))
    else:
        bodies = _jsonl_bodies(Path(source))
    found: list[tuple[str, dict[str, Any]]] = []
    for number, raw in bodies:
        if len(found) >= SAMPLE_ROWS:
            break
        try:
            body = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            continue
        picked = _payload_of(body)
        if picked is not None:
            found.append((f"line {number} · campaign {picked[0]}", picked[1]))
    return found


def _example(schema: dict[str, Any], name: str) -> Any:
    kind = schema.get("type")
    if kind == "object":
        return {key: _example(value, key) for key, value in schema.get("properties", {}).items()}
    if kind == "array":
        return [_example(schema.get("items", {}), name)]
    return f"<{name}>"


def example_payload(campaign: Campaign) -> dict[str, Any]:
    """A payload with every key the message reads, each leaf showing its own name (``"<steps>"``), so a
    first preview has something in every place; ``{}`` when a template does not parse."""
    if campaign_template_findings(campaign):
        return {}
    example = _example(payload_schema(campaign), "payload")
    return example if isinstance(example, dict) else {}
