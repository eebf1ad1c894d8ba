"""Edges of the fast paths that the property tests rarely reach: the trigger fast path
(engine/duck_triggers_fast.py) against the generic reading, and the payload query (templates/payload_sql.py)
against its exact stage and ``validate_payload``; one received_at gap between the engines (xfail)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.test_templates_payload_sql import TEMPLATES, campaign, check
from tests.test_triggers_fast import AT, _classify, _same, _targets
from triggerlab.duck import connect
from triggerlab.settings import Settings
from triggerlab.templates.payload_sql import payload_check_query
from triggerlab.triggers import load_triggers

#: lines the generic reading reads otherwise than a naive fast reading would: each must be odd
ODD_EDGES = [
    # past 64 bits (signed): DuckDB reads a DOUBLE, an invalid campaign id, not the integer's text
    '{"to":{"identity":["u1"]},"campaign_id":-9999999999999999999}',
    # a campaign_id_list that is no list makes the request invalid, even beside a good campaign_id
    '{"to":{"identity":["u1"],"email":["a@x.test"]},"campaign_id":"100","campaign_id_list":"200"}',
    '{"to":{"identity":["u1"]},"campaign_id":"100","campaign_id_list":"200"}',
    # a float or a boolean in a list of values is invalid (an integer is its decimal text)
    '{"to":{"identity":["u1",1.5]},"campaign_id":"100"}',
    '{"to":{"identity":["u1",true],"email":["a@x.test"]},"campaign_id":"100"}',
    # an escaped backslash: the value is one backslash, its JSON text two
    '{"to":{"identity":["a\\\\b"]},"campaign_id":"100"}',
]


def _batch(tmp_path: Path, lines: list[str]) -> Path:
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return batch


def test_edge_lines_are_odd_and_read_as_the_generic_reading_reads_them(tmp_path: Path) -> None:
    for line in ODD_EDGES:
        assert _classify([line]) == (0, 1), line
    batch = _batch(tmp_path, ODD_EDGES)
    for mode in (Settings(), Settings(payload_values="coerce")):
        _same(batch, mode, AT)
    _, frame = _targets(batch, Settings(), AT, fast=False)
    invalid = frame.filter(frame["invalid"].is_not_null())["line"].unique().sort().to_list()
    assert invalid == [1, 2, 3, 4, 5]
    assert frame.filter(frame["line"] == 6)["value"].to_list() == ["a\\b"]


def test_a_null_string_item_decided_from_the_typed_value_is_a_finding() -> None:
    """A JSON null where an array's item must be a string (strict): the decided branch says so too."""
    payload: dict[str, Any] = {"items": [["a", None]], "prices": [], "sku": []}
    # decided from the typed value (not the exact stage), with the exact stage's finding (check() compares
    # the query with its exact stage, and both with validate_payload)
    assert check(TEMPLATES[2], [payload], False, None) == [False]
    con = connect(threads=1)
    try:
        query = payload_check_query(campaign(TEMPLATES[2]), f"(SELECT '{json.dumps(payload)}' AS payload)")
        rows = con.execute(f"SELECT problems FROM ({query})").fetchall()
    finally:
        con.close()
    assert rows == [(["ExternalTrigger.items[*][*]: must be a string"],)]


def test_an_item_that_is_no_object_is_never_proved_clean() -> None:
    """Items of objects whose keys are all optional (under ``coerce`` none is taken as required by the
    proof): a string, a number or a list in their place must not pass the proof as an object would."""
    body = "{% for p in ExternalTrigger.items %}{{ p.name | default: '-' }}{% endfor %}"
    payloads = [
        {"items": ["x"]},
        {"items": [5]},
        {"items": [["a"]]},
        {"items": [{}]},
        {"items": [{"name": "a"}]},
    ]
    # check() compares the query with its exact stage and validate_payload; with the proof off, only the
    # clean payload is decided from the typed value
    for coerce in (True, False):
        assert check(body, payloads, coerce, None) == [True, True, True, True, False]


def test_the_size_limit_counts_bytes_not_characters(tmp_path: Path) -> None:
    """``{"a":"éé"}`` is 10 characters and 12 bytes of compact JSON: over a limit of 11, under one of 12."""
    line = '{"to":{"identity":["u1"]},"campaign_id":"100","ExternalTrigger":{"a":"éé"}}'
    batch = _batch(tmp_path, [line])
    for limit, too_large in ((11, True), (12, False)):
        _same(batch, Settings(max_payload_bytes=limit), AT)
        _, frame = _targets(batch, Settings(max_payload_bytes=limit), AT, fast=True)
        assert frame["invalid"].is_not_null().to_list() == [too_large]


def test_struct_keys_equal_but_for_case_take_the_exact_stage() -> None:
    """DuckDB's STRUCT field names ignore case: ``sku`` and ``Sku`` cannot both be typed, so the exact stage
    checks every payload (the query does not fail)."""
    body = "{% for p in ExternalTrigger.items %}{{ p.sku }}{{ p.Sku }}{% endfor %}"
    payloads = [
        {"items": [{"sku": "a", "Sku": "b"}]},
        {"items": [{"sku": "a", "Sku": 5}]},
        {"items": [{"sku": "a"}]},
    ]
    for coerce in (False, True):
        assert check(body, payloads, coerce, None) == [True, True, True]


def test_a_number_boolean_or_null_first_in_a_payload_list_is_a_strict_leaf(tmp_path: Path) -> None:
    """``[5]``: the leaf follows ``[``, not ``:`` or ``,``; invalid under ``strict``, kept under ``coerce``."""
    lines = [
        f'{{"to":{{"identity":["u1"]}},"campaign_id":"100","ExternalTrigger":{{"a":[{leaf}]}}}}'
        for leaf in ("5", "-1", "true", "false", "null")
    ]
    batch = _batch(tmp_path, lines)
    for mode, invalid in ((Settings(), True), (Settings(payload_values="coerce"), False)):
        _same(batch, mode, AT)
        _, frame = _targets(batch, mode, AT, fast=True)
        assert frame["invalid"].is_not_null().to_list() == [invalid] * len(lines)


def test_an_escaped_received_at_is_read_unescaped(tmp_path: Path) -> None:
    """``\\u005a`` is ``Z``; ``\\n`` is a newline, which DuckDB's cast trims: the fast path must not read
    either escape as text (nor give ``--at`` where the generic reading reads a time)."""
    body = '"body":{"to":{"identity":["u1"]},"campaign_id":"100"}'
    lines = [
        '{"id":"r1","received_at":"2026-11-03T00:00:00\\u005a",' + body + "}",
        '{"id":"r2","received_at":"2026-11-03T00:00:00Z\\n",' + body + "}",
    ]
    batch = _batch(tmp_path, lines)
    _same(batch, Settings(), AT)
    _, frame = _targets(batch, Settings(), AT, fast=True)
    assert frame["received_at"].to_list()[0] == datetime(2026, 11, 3, tzinfo=UTC)


def test_received_at_forms_python_rejects_take_at_in_both_engines(tmp_path: Path) -> None:
    """semantics.md: "a missing or unparseable one takes ``--at``". Python's ``fromisoformat`` rejects these
    texts (the reference engine takes ``--at``); DuckDB's cast trims white space, reads `` UTC`` and a
    one-digit day, so the DuckDB engine takes 2026-11-03 instead."""
    body = '"body":{"to":{"identity":["u1"]},"campaign_id":"100"}'
    times = [" 2026-11-03T00:00:00Z", "2026-11-03 00:00:00 UTC", "2026-11-3T00:00:00Z"]
    batch = _batch(tmp_path, [f'{{"id":"r","received_at":"{t}",{body}}}' for t in times])
    assert [b.received_at for b in load_triggers(batch, at=AT)] == [AT] * len(times)
    _, frame = _targets(batch, Settings(), AT, fast=False)
    assert frame["received_at"].to_list() == [AT] * len(times)
