"""Trigger requests: reading a batch and turning each request into (campaign id, ``to`` value) targets.

A batch is JSON Lines (envelopes ``{"id", "received_at", "body"}`` or bare request bodies, which take their
time from ``at``), or a Parquet/CSV file or polars frame with the columns ``id, received_at, body`` (body as
JSON text). A request body is CleverTap's v1 (``campaign_id``), v2 (``campaign_id_list``) or ``{"d": [...]}``.
Every rule here is spec/semantics.md's "Requests and rows"; this module is the plain-Python reading used by
the reference engine and ``triggerlab check``. The DuckDB engine reads the same rules in SQL
(:mod:`triggerlab.engine.duck_triggers`) and must give the same targets, which the differential test checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from triggerlab.errors import InputError, input_file
from triggerlab.settings import Settings, payload_size

__all__ = [
    "REASONS",
    "TO_KINDS",
    "BatchLine",
    "Target",
    "coerce_payload",
    "expand",
    "load_triggers",
    "parse_received_at",
    "payload_size",
]

#: identity kinds a request's ``to`` may hold, and the profile column each one matches
TO_KINDS: tuple[str, ...] = ("identity", "email", "objectId")

#: the reason of each kind of invalid request (one text per rule so both engines give the same words)
REASONS: dict[str, str] = {
    "not_json": "line is not valid JSON",
    "not_object": "line is not a JSON object",
    "body_not_json": "envelope body is a string that is not valid JSON",
    "no_time": "received_at is missing or not an ISO-8601 time (bare requests need --at)",
    "bad_d": "d must be a non-empty list of requests",
    "request_not_object": "request is not a JSON object",
    "no_campaign": "no campaign_id or campaign_id_list",
    "bad_campaign_list": "campaign_id_list must be a list of campaign ids",
    "bad_campaign": "a campaign id must be a non-empty string or an integer",
    "no_to": "to is missing or not an object",
    "bad_kind": "to holds an identity kind other than identity, email or objectId",
    "bad_to_list": "each identity kind in to must be a list of strings",
    "bad_to_value": "to values must be strings",
    "empty_to": "to has no identity value",
    "bad_payload": "ExternalTrigger must be an object",
    "leaf": "ExternalTrigger holds a number, boolean or null value (payload_values: strict)",
    "too_big": "ExternalTrigger is larger than max_payload_bytes",
}


@dataclass(frozen=True, slots=True)
class BatchLine:
    """One non-blank line (or table row) of a batch: its request, or why it cannot be read."""

    line: int
    request_id: str
    received_at: datetime | None
    body: Any
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """One (campaign id, ``to`` value) pair of a request, before profiles are matched.

    ``invalid`` is the reason of an invalid request (then ``payload`` is None); ``campaign_id``, ``kind`` and
    ``value`` are None on the one row of a request none of whose pairs is readable.
    """

    request_id: str
    line: int
    received_at: datetime | None
    campaign_id: str | None
    kind: str | None
    value: str | None
    payload: dict[str, Any] | None
    invalid: str | None = None


def parse_received_at(value: Any) -> datetime | None:
    """An ISO-8601 time as Python's ``fromisoformat`` reads it, plus a trailing ``Z``; naive means UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value[:-1] + "+00:00" if value.endswith("Z") else value
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(text: str) -> Any:
    """RFC 8259 JSON: Python's reader without its NaN and Infinity extensions."""
    return json.loads(text, parse_constant=_reject_constant)


def _readable(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _text(value: str | int) -> str:
    return value if isinstance(value, str) else str(value)


def _id_text(value: Any, line: int) -> str:
    return _text(value) if _readable(value) else str(line)


def _batch_line(line: int, raw: str, at: datetime | None) -> BatchLine:
    try:
        data = _loads(raw)
    except ValueError:
        return BatchLine(line, str(line), at, None, REASONS["not_json"])
    if not isinstance(data, dict):
        return BatchLine(line, str(line), at, None, REASONS["not_object"])
    if "body" not in data:
        return _timed(BatchLine(line, str(line), at, data))
    request_id = _id_text(data.get("id"), line)
    received_at = parse_received_at(data.get("received_at")) or at
    body = data["body"]
    if isinstance(body, str):
        try:
            body = _loads(body)
        except ValueError:
            return BatchLine(line, request_id, received_at, None, REASONS["body_not_json"])
    return _timed(BatchLine(line, request_id, received_at, body))


def _timed(batch_line: BatchLine) -> BatchLine:
    if batch_line.received_at is None:
        return BatchLine(batch_line.line, batch_line.request_id, None, None, REASONS["no_time"])
    return batch_line


def _jsonl_lines(path: Path, at: datetime | None) -> Iterator[BatchLine]:
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield _batch_line(number, raw, at)


def _table_lines(frame: pl.DataFrame, at: datetime | None) -> Iterator[BatchLine]:
    missing = {"body"} - set(frame.columns)
    if missing:
        raise InputError("a trigger table needs the columns id, received_at, body (body as JSON text)")
    ids = frame["id"].to_list() if "id" in frame.columns else [None] * frame.height
    times = frame["received_at"].to_list() if "received_at" in frame.columns else [None] * frame.height
    rows = zip(ids, times, frame["body"].to_list(), strict=True)
    for number, (request_id, when, body) in enumerate(rows, start=1):
        envelope = {"id": request_id, "received_at": when, "body": body if body is not None else ""}
        yield _table_line(number, envelope, at)


def _table_line(line: int, envelope: dict[str, Any], at: datetime | None) -> BatchLine:
    request_id = _id_text(envelope["id"], line)
    received_at = parse_received_at(envelope["received_at"]) or at
    try:
        body = _loads(envelope["body"]) if isinstance(envelope["body"], str) else envelope["body"]
    except ValueError:
        return BatchLine(line, request_id, received_at, None, REASONS["body_not_json"])
    return _timed(BatchLine(line, request_id, received_at, body))


def read_trigger_table(source: str | Path) -> pl.DataFrame:
    """A Parquet or CSV trigger table as a frame (CSV cells stay text)."""
    path = Path(source)
    try:
        if path.suffix.lower() == ".parquet":
            return pl.read_parquet(path)
        return pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"cannot read the trigger batch {path}: {exc}") from None


def load_triggers(source: str | Path | pl.DataFrame, *, at: datetime | None = None) -> list[BatchLine]:
    """Every non-blank line of a batch, read as spec/semantics.md says (invalid lines carry their reason)."""
    at = None if at is None else parse_received_at(at)
    if isinstance(source, pl.DataFrame):
        return list(_table_lines(source, at))
    path = input_file(source, "trigger batch")
    if path.suffix.lower() in (".parquet", ".csv"):
        return list(_table_lines(read_trigger_table(path), at))
    try:
        return list(_jsonl_lines(path, at))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the trigger batch {path}: {exc}") from None


# ---- one request --------------------------------------------------------------------------------------


def _campaign_ids(request: dict[str, Any]) -> list[str]:
    """Readable campaign ids, ``campaign_id`` first, duplicates dropped."""
    found: list[Any] = []
    if "campaign_id" in request:
        found.append(request["campaign_id"])
    listed = request.get("campaign_id_list")
    found.extend(listed if isinstance(listed, list) else [listed])
    ids: list[str] = []
    for value in found:
        if _readable(value) and _text(value) not in ids:
            ids.append(_text(value))
    return ids


def _to_values(request: dict[str, Any]) -> list[tuple[str, str]]:
    """Readable ``to`` values (kind, text): kinds in key order, values in list order."""
    to = request.get("to")
    if not isinstance(to, dict):
        return []
    pairs: list[tuple[str, str]] = []
    for kind, values in to.items():
        for value in values if isinstance(values, list) else [values]:
            if _readable(value):
                pairs.append((kind, _text(value)))
    return pairs


def _valid_id(value: Any) -> bool:
    return _readable(value) and value != ""


def _campaign_problem(request: dict[str, Any]) -> str | None:
    if "campaign_id" not in request and "campaign_id_list" not in request:
        return REASONS["no_campaign"]
    if "campaign_id_list" in request and not isinstance(request["campaign_id_list"], list):
        return REASONS["bad_campaign_list"]
    given = ([request["campaign_id"]] if "campaign_id" in request else []) + request.get(
        "campaign_id_list", []
    )
    if not given:
        return REASONS["no_campaign"]
    if not all(_valid_id(value) for value in given):
        return REASONS["bad_campaign"]
    return None


def _to_problem(request: dict[str, Any]) -> str | None:
    to = request.get("to")
    if not isinstance(to, dict):
        return REASONS["no_to"]
    if any(kind not in TO_KINDS for kind in to):
        return REASONS["bad_kind"]
    if not all(isinstance(values, list) for values in to.values()):
        return REASONS["bad_to_list"]
    if not all(_readable(value) for values in to.values() for value in values):
        return REASONS["bad_to_value"]
    if not any(to.values()):
        return REASONS["empty_to"]
    return None


def _has_non_string_leaf(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_non_string_leaf(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_non_string_leaf(item) for item in value)
    return not isinstance(value, str)


def _payload_problem(request: dict[str, Any], settings: Settings) -> str | None:
    payload = request.get("ExternalTrigger", {})
    if not isinstance(payload, dict):
        return REASONS["bad_payload"]
    if settings.payload_values == "strict" and _has_non_string_leaf(payload):
        return REASONS["leaf"]
    if payload_size(payload) > settings.max_payload_bytes:
        return REASONS["too_big"]
    return None


def request_problem(request: Any, settings: Settings) -> str | None:
    """Why one request (a v1/v2 body or one element of ``d``) is invalid, or None; checks in a fixed order."""
    if not isinstance(request, dict):
        return REASONS["request_not_object"]
    return _campaign_problem(request) or _to_problem(request) or _payload_problem(request, settings)


def coerce_payload(value: Any) -> Any:
    """``payload_values: coerce``: numbers and booleans become their JSON text, null stays nil."""
    if isinstance(value, dict):
        return {key: coerce_payload(item) for key, item in value.items()}
    if isinstance(value, list):
        return [coerce_payload(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return value


def _element_targets(base: BatchLine, request: Any, settings: Settings) -> list[Target]:
    head = (base.request_id, base.line, base.received_at)
    problem = request_problem(request, settings)
    if problem is not None:
        ids = _campaign_ids(request) if isinstance(request, dict) else []
        values = _to_values(request) if isinstance(request, dict) else []
        if not ids or not values:
            return [Target(*head, None, None, None, None, problem)]
        return [Target(*head, cid, kind, value, None, problem) for cid in ids for kind, value in values]
    payload = request.get("ExternalTrigger", {})
    if settings.payload_values == "coerce":
        payload = coerce_payload(payload)
    return [
        Target(*head, cid, kind, value, payload)
        for cid in _campaign_ids(request)
        for kind, value in _to_values(request)
    ]


def expand(batch_line: BatchLine, settings: Settings) -> list[Target]:
    """The targets of one batch line, in row order (``d`` elements one after another)."""
    head = (batch_line.request_id, batch_line.line, batch_line.received_at)
    if batch_line.error is not None:
        return [Target(*head, None, None, None, None, batch_line.error)]
    body = batch_line.body
    if isinstance(body, dict) and "d" in body:
        elements = body["d"]
        if not isinstance(elements, list) or not elements:
            return [Target(*head, None, None, None, None, REASONS["bad_d"])]
        return [target for element in elements for target in _element_targets(batch_line, element, settings)]
    return _element_targets(batch_line, body, settings)
