"""``check_batch``: every way a trigger batch breaks one campaign's request and payload contract, by line.

What ``triggerlab check`` prints: requests that are invalid (rule 1, with the engines' reasons) and payloads
of valid requests for this campaign that break the payload contract its templates imply
(:func:`triggerlab.templates.validate_payload`). Each request is checked once, whatever its recipients.

Two engines give the same findings: ``duck`` (the default, :mod:`triggerlab.batch_check_duck`) reads and
checks the batch in DuckDB; ``reference`` reads every line into Python, the plain reading the other is
tested against.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

import polars as pl

from triggerlab.campaign import Campaign
from triggerlab.errors import Finding, InputError
from triggerlab.settings import Settings
from triggerlab.triggers import REASONS, load_triggers, parse_received_at, request_problem

__all__ = ["check_batch", "payload_findings"]

#: the two engines, as ``simulate(engine=...)`` names them
Engine = Literal["duck", "reference"]


def check_batch(
    campaign: Campaign,
    triggers: str | Path | pl.DataFrame,
    *,
    settings: Settings | None = None,
    at: datetime | str | None = None,
    engine: Engine = "duck",
) -> list[Finding]:
    """Findings in line order; a batch line's requests (``d`` elements) are checked one by one."""
    settings = settings or Settings()
    source = None if isinstance(triggers, pl.DataFrame) else str(triggers)
    when = None if at is None else parse_received_at(at)
    if engine == "duck":
        from triggerlab.batch_check_duck import check_batch_duck

        return check_batch_duck(campaign, triggers, settings, when, source)
    if engine != "reference":
        raise InputError(f"engine must be duck or reference (got {engine!r})")
    return _check_reference(campaign, triggers, settings, when, source)


def _check_reference(
    campaign: Campaign,
    triggers: str | Path | pl.DataFrame,
    settings: Settings,
    when: datetime | None,
    source: str | None,
) -> list[Finding]:
    findings: list[Finding] = []
    for batch_line in load_triggers(triggers, at=when):
        if batch_line.error is not None:
            findings.append(Finding("", batch_line.error, line=batch_line.line, source=source))
            continue
        body = batch_line.body
        if isinstance(body, dict) and "d" in body:
            elements = body["d"]
            if not isinstance(elements, list) or not elements:
                findings.append(Finding("d", REASONS["bad_d"], line=batch_line.line, source=source))
                continue
            requests = [(f"d[{index}]", element) for index, element in enumerate(elements)]
        else:
            requests = [("", body)]
        for where, request in requests:
            problem = request_problem(request, settings)
            if problem is not None:
                findings.append(Finding(where, problem, line=batch_line.line, source=source))
                continue
            if not _addressed(request, campaign):
                continue
            payload = request.get("ExternalTrigger", {})
            findings += payload_findings(
                campaign, payload, settings, where=where, line=batch_line.line, source=source
            )
    return findings


def payload_findings(
    campaign: Campaign, payload: object, settings: Settings, *, where: str, line: int, source: str | None
) -> list[Finding]:
    """``validate_payload``'s findings for one request's payload, at its batch line, under its ``d[i]`` prefix
    (both engines word them here, so they cannot drift apart)."""
    from triggerlab.templates import validate_payload

    return [
        Finding(f"{where}.{found.path}" if where else found.path, found.message, line=line, source=source)
        for found in validate_payload(campaign, payload, settings=settings)
    ]


def _addressed(request: dict[str, object], campaign: Campaign) -> bool:
    """True when the request names this campaign (a campaign without an id takes every request)."""
    if campaign.id is None:
        return True
    named = [request.get("campaign_id")]
    listed = request.get("campaign_id_list")
    if isinstance(listed, list):
        named.extend(listed)
    return campaign.id in {str(value) for value in named if value is not None}
