"""Rule 9 for the DuckDB engine: render in Python only the rows whose status can depend on it.

In ``static`` mode a campaign whose plan says no row can fail (``always_ok``) is not rendered at all; the
others are rendered row by row, since their status depends on it. ``all`` renders every row reaching rule 9;
``sample`` renders the first rows of each ``always_ok`` campaign (for the messages frame) and every row of the
others.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import polars as pl
from tqdm.auto import tqdm

from triggerlab.engine.inputs import SAMPLE_SIZE, EngineInputs
from triggerlab.engine.rendering import always_ok, fields_json, render_row
from triggerlab.triggers import coerce_payload

__all__ = ["RENDERED_SCHEMA", "render_rows", "renders_any"]

RENDERED_SCHEMA = pl.Schema(
    [
        ("rid", pl.Int64()),
        ("r_status", pl.String()),
        ("r_reason", pl.String()),
        ("missing_keys", pl.List(pl.String())),
        ("fields", pl.String()),
    ]
)


def _rendered_campaigns(inputs: EngineInputs) -> tuple[list[str], list[str]]:
    """(campaigns whose every row reaching rule 9 is rendered, campaigns of which a sample is rendered)."""
    full = [
        cid
        for cid, c in inputs.campaigns.items()
        if inputs.render == "all" or not always_ok(c, inputs.settings)
    ]
    sampled = [cid for cid in inputs.campaigns if cid not in full] if inputs.render == "sample" else []
    return full, sampled


def renders_any(inputs: EngineInputs) -> bool:
    """Whether rule 9 renders any row: if not, no stage needs the payloads."""
    return any(_rendered_campaigns(inputs))


def _wanted(con: duckdb.DuckDBPyConnection, rows: str, inputs: EngineInputs) -> pl.DataFrame:
    """``rid, campaign_id, pidx, payload`` of the rows to render, in row order."""
    full, sampled = _rendered_campaigns(inputs)
    if not full and not sampled:
        # no row to render: the rows are not read at all (numbering them sorts every one)
        return pl.DataFrame(
            schema={"rid": pl.Int64, "campaign_id": pl.String, "pidx": pl.Int64, "payload": pl.String}
        )
    wanted: pl.DataFrame = con.sql(
        f"""SELECT rid, campaign_id, pidx, payload::VARCHAR AS payload FROM (
                SELECT *, row_number() OVER (PARTITION BY campaign_id ORDER BY rid) AS nth FROM {rows})
            WHERE list_contains($full, campaign_id) OR (list_contains($sampled, campaign_id) AND nth <= $size)
            ORDER BY rid""",
        params={"full": full, "sampled": sampled, "size": SAMPLE_SIZE},
    ).pl()
    return wanted


def render_rows(
    con: duckdb.DuckDBPyConnection, rows: str, inputs: EngineInputs, progress: bool
) -> pl.DataFrame:
    """Render the rows of ``rows(rid, campaign_id, pidx, payload)`` that need it; frame in RENDERED_SCHEMA."""
    wanted = _wanted(con, rows, inputs)
    if wanted.is_empty():
        return pl.DataFrame(schema=RENDERED_SCHEMA)
    indexes = wanted["pidx"].unique().to_list()
    profiles = inputs.profiles.with_row_index("__pidx").filter(pl.col("__pidx").is_in(indexes))
    by_index: dict[int, dict[str, Any]] = {
        row.pop("__pidx"): {key: value for key, value in row.items() if value is not None}
        for row in profiles.to_dicts()
    }
    coerce = inputs.settings.payload_values == "coerce"
    records = []
    for rid, cid, pidx, payload_text in tqdm(
        wanted.iter_rows(), total=wanted.height, desc="render", disable=not progress, leave=False
    ):
        payload = json.loads(payload_text)
        if coerce:
            payload = coerce_payload(payload)
        done = render_row(inputs.campaigns[cid], by_index[pidx], payload, inputs.settings)
        records.append((rid, done.status, done.reason, done.missing_keys, fields_json(done.fields)))
    return pl.DataFrame(records, schema=RENDERED_SCHEMA, orient="row")
