"""``check_batch(engine="duck")``: the batch check set-based in DuckDB, for batches of millions of lines.

The batch is read by the simulator's trigger loader (:func:`triggerlab.engine.duck_triggers.load_targets`:
the same rules as :mod:`triggerlab.triggers`, one row per target). Each request (``line, el``) is then
checked once: an invalid one gives its reason; a valid one addressed to the campaign has its payload checked
by :func:`triggerlab.templates.payload_sql.payload_check_query`, which proves the clean payloads clean inside
DuckDB. Only the payloads it finds broken come back to Python, where ``validate_payload`` words their
findings exactly as the reference engine does (indices, ``(got ...)`` details), so both engines give the same
findings in the same order while a clean payload never becomes a Python object.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl

from triggerlab.campaign import Campaign
from triggerlab.duck import connect
from triggerlab.errors import Finding
from triggerlab.settings import Settings
from triggerlab.triggers import REASONS

__all__ = ["check_batch_duck"]

#: request rows: one per (line, el), the invalid reason or the payload of a request for this campaign
_REQUESTS = """
CREATE OR REPLACE TEMP TABLE chk_req AS
SELECT line, el, any_value(invalid) AS invalid,
       CASE WHEN any_value(invalid) IS NULL THEN any_value(payload)::VARCHAR END AS payload
FROM targets
WHERE invalid IS NOT NULL OR {addressed}
GROUP BY line, el
"""


def check_batch_duck(
    campaign: Campaign,
    triggers: str | Path | pl.DataFrame,
    settings: Settings,
    at: datetime | None,
    source: str | None,
) -> list[Finding]:
    """Findings in line order, then ``d`` element order, then ``validate_payload``'s order."""
    from triggerlab.engine.duck_triggers import load_targets
    from triggerlab.templates import validate_payload
    from triggerlab.templates.payload_sql import payload_check_query

    con = connect()
    try:
        load_targets(con, triggers, settings, at)
        addressed = "true" if campaign.id is None else "campaign_id = $id"
        params = {} if campaign.id is None else {"id": campaign.id}
        con.execute(_REQUESTS.format(addressed=addressed), params)
        con.execute("DROP TABLE targets")
        checked = payload_check_query(
            campaign, "(SELECT line, el, payload FROM chk_req WHERE invalid IS NULL)", settings=settings
        )
        rows = con.execute(
            f"""SELECT line, el, invalid, NULL AS payload FROM chk_req WHERE invalid IS NOT NULL
            UNION ALL
            SELECT line, el, NULL, payload FROM ({checked}) WHERE len(problems) > 0
            ORDER BY line, el"""
        ).fetchall()
    finally:
        con.close()
    findings: list[Finding] = []
    for line, el, invalid, payload in rows:
        where = "" if el == 0 else f"d[{el - 1}]"
        if invalid is not None:
            path = "d" if invalid == REASONS["bad_d"] else where
            findings.append(Finding(path, invalid, line=line, source=source))
            continue
        for found in validate_payload(campaign, json.loads(payload), settings=settings):
            path = f"{where}.{found.path}" if where else found.path
            findings.append(Finding(path, found.message, line=line, source=source))
    return findings
