"""``check_batch(engine="duck")``: the batch check set-based in DuckDB, for batches of millions of lines.

The batch is read by the simulator's trigger loader (:func:`triggerlab.engine.duck_triggers.load_targets`:
the same rules as :mod:`triggerlab.triggers`, one row per target). An invalid request gives its reason; a
valid one addressed to the campaign has its payload checked by
:func:`triggerlab.templates.payload_sql.payload_check_query` with ``broken_only``, which proves the clean
payloads clean inside DuckDB and keeps only the rows with findings; each request (``line, el``) is reported
once, whatever its recipients. Only the payloads it finds broken come back to Python, where
``validate_payload`` words their findings exactly as the reference engine does (indices, ``(got ...)``
details), so both engines give the same findings in the same order while a clean payload never becomes a
Python object.
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

#: the payloads of valid requests for this campaign, one row per target: checking a request's payload once
#: per recipient costs less than grouping a million rows by request first; findings are made distinct below
_PAYLOADS = (
    "(SELECT line, el, payload::VARCHAR AS payload FROM targets WHERE invalid IS NULL AND {addressed})"
)

#: one row per request with a finding: its invalid reason, or its payload when the check found problems
_FOUND = """
SELECT DISTINCT line, el, invalid, payload FROM (
    SELECT line, el, invalid, NULL::VARCHAR AS payload FROM targets WHERE invalid IS NOT NULL
    UNION ALL
    SELECT line, el, NULL, payload FROM ({checked}))
ORDER BY line, el
"""


def check_batch_duck(
    campaign: Campaign,
    triggers: str | Path | pl.DataFrame,
    settings: Settings,
    at: datetime | None,
    source: str | None,
) -> list[Finding]:
    """Findings in line order, then ``d`` element order, then ``validate_payload``'s order."""
    from triggerlab.batch_check import payload_findings
    from triggerlab.engine.duck_triggers import load_targets
    from triggerlab.templates.payload_sql import payload_check_query

    con = connect()
    try:
        load_targets(con, triggers, settings, at)
        addressed = "true" if campaign.id is None else "campaign_id = $id"
        params = {} if campaign.id is None else {"id": campaign.id}
        checked = payload_check_query(
            campaign, _PAYLOADS.format(addressed=addressed), settings=settings, broken_only=True
        )
        rows = con.execute(_FOUND.format(checked=checked), params).fetchall()
    finally:
        con.close()
    findings: list[Finding] = []
    for line, el, invalid, payload in rows:
        where = "" if el == 0 else f"d[{el - 1}]"
        if invalid is not None:
            path = "d" if invalid == REASONS["bad_d"] else where
            findings.append(Finding(path, invalid, line=line, source=source))
            continue
        findings += payload_findings(
            campaign, json.loads(payload), settings, where=where, line=line, source=source
        )
    return findings
