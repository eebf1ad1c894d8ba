"""The fast reading of trigger batches (engine/duck_triggers_fast.py) against the generic one.

``load_targets(fast=True)`` reads ordinary lines in one parse each and hands every other line to the generic
reading; ``fast=False`` reads all lines the generic way. Random batches mixing ordinary lines with every odd
shape (``d`` lists, nulls, NaN, floats, booleans, big integers, escaped strings, unknown or repeated keys,
bare strings where lists belong, payload leaves and sizes, string bodies, blank and broken lines) must give
the same ``targets`` table and request count both ways, from JSON Lines, a frame and a Parquet file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from triggerlab.duck import connect
from triggerlab.engine.duck_triggers import load_targets
from triggerlab.engine.duck_triggers_fast import fast_targets
from triggerlab.settings import Settings

AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)

#: JSON texts of values: plain strings and integers (the fast path reads them), and everything else
PLAIN = ['"u1"', '"u2"', '"u1"', '""', '"é"', '"a b"', '"u3"', '"u4"']
#: plain strings that look like structure to the fast path's text checks (it must hand them over, not misread)
TRICKY = ['"a,5"', '"x:[1"', '"k:t"', '"[1"']
PLAIN_IDS = ['"100"', '"200"', "100", '"300"', "0", "-7", '"1e3"']
ODD_ATOMS = [
    *('"a\\"b"', '"\\u00e9"', '"a\\nb"', '"a\\\\b"'),
    *("5", "0", "-3", "-0", "12345678901234567890123", "1.5", "1e3", "2.0", "1E2"),
    *("true", "false", "null", "[]", "{}", '["u1"]', "NaN", "-Infinity"),
]
TIMES = ['"2026-11-01T10:00:00Z"', '"2026-11-02 08:00:00+05:30"', '"2026-11-01T10:00:00"']
ODD_TIMES = ['"yesterday"', "17", "null", '"2026-11-03T00:00:00\\u005a"', '""']


def _rarely(draw: st.DrawFn) -> bool:
    """True about one time in sixteen: the odd variant of one part of an otherwise ordinary line."""
    return draw(st.integers(0, 15)) == 0


def _object(draw: st.DrawFn, items: list[tuple[str, str]]) -> str:
    """An object's text from (key, value text) items in random order and spacing (keys may repeat)."""
    comma, colon = draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,", " :")]))
    ordered = draw(st.permutations(items))
    return "{" + comma.join(f'"{key}"{colon}{value}' for key, value in ordered) + "}"


def _list(draw: st.DrawFn, atoms: list[str], min_size: int = 0, max_size: int = 3) -> str:
    return "[" + ",".join(draw(st.lists(st.sampled_from(atoms), min_size=min_size, max_size=max_size))) + "]"


@st.composite
def to_text(draw: st.DrawFn) -> str:
    if _rarely(draw):
        return draw(st.sampled_from(['"u1"', "null", "[]", '["u1"]', "{}", "5"]))
    kinds = draw(
        st.lists(st.sampled_from(["identity", "email", "objectId"]), min_size=1, max_size=3, unique=True)
    )
    values = PLAIN + TRICKY if _rarely(draw) else PLAIN
    items = [(kind, _list(draw, values, min_size=1 if n == 0 else 0)) for n, kind in enumerate(kinds)]
    if _rarely(draw):
        kind = draw(st.sampled_from(["identity", "email", "phone", "Identity"]))
        items.append((kind, draw(st.sampled_from([*ODD_ATOMS, _list(draw, PLAIN + ODD_ATOMS, min_size=1)]))))
    if _rarely(draw):
        items[0] = (items[0][0], _list(draw, PLAIN + ODD_ATOMS, min_size=1))
    return _object(draw, items)


@st.composite
def payload_text(draw: st.DrawFn) -> str:
    if _rarely(draw):
        return draw(st.sampled_from(["null", '"x"', "[]", '["a"]', "5", '{"a":NaN}', '{"a":"\\u00e9\\n"}']))
    leaves = [*PLAIN, '["a","b"]', '{"k":"v"}', "[]", "{}", '[{"k":["v"]}]', '"é"']
    if _rarely(draw):
        leaves = ["3", "true", "null", "1.5", "[1]", '{"k":2}', '["a",false]', "-1"]
    if _rarely(draw):
        leaves = leaves + TRICKY
    keys = draw(st.lists(st.sampled_from(["msg", "order", "n", "é", "msg"]), max_size=4))
    if _rarely(draw):
        keys.append(draw(st.sampled_from(["a:b", "k,1", "x:-", "[t"])))
    return _object(draw, [(key, draw(st.sampled_from(leaves))) for key in keys])


@st.composite
def request_text(draw: st.DrawFn, depth: int = 0) -> str:
    if depth == 0 and _rarely(draw):
        if draw(st.booleans()):
            return _object(draw, [("d", draw(st.sampled_from(["[]", "null", '"x"', "{}"])))])
        return _object(draw, [("d", "[" + ",".join(draw(st.lists(request_text(depth=1), max_size=3))) + "]")])
    items: list[tuple[str, str]] = []
    if not _rarely(draw):
        items.append(("to", draw(to_text())))
    ids = draw(st.sampled_from(["id", "id", "id", "list", "list", "both", "both", "odd"]))
    if ids in ("id", "both"):
        items.append(("campaign_id", draw(st.sampled_from(PLAIN_IDS))))
    if ids in ("list", "both"):
        items.append(("campaign_id_list", _list(draw, PLAIN_IDS, min_size=1 if ids == "list" else 0)))
    if ids == "odd":
        key = draw(st.sampled_from(["campaign_id", "campaign_id_list"]))
        items.append(
            (key, draw(st.sampled_from([*ODD_ATOMS, '""', _list(draw, [*PLAIN_IDS, *ODD_ATOMS, '""'])])))
        )
    if not _rarely(draw):
        items.append(("ExternalTrigger", draw(payload_text())))
    if _rarely(draw):
        items.append(("extra", draw(st.sampled_from([*PLAIN, *ODD_ATOMS]))))
    if items and _rarely(draw):
        items.append(draw(st.sampled_from(items)))
    return _object(draw, items)


@st.composite
def line_text(draw: st.DrawFn) -> str:
    if _rarely(draw):
        return draw(
            st.sampled_from(["", "   ", "\t", "not json", "[1, 2]", '{"a": 1,}', '{"a":1} x', "null"])
        )
    if _rarely(draw):
        return draw(request_text())
    items: list[tuple[str, str]] = []
    if not _rarely(draw):
        items.append(("id", draw(st.sampled_from(['"r1"', '"r2"', "17", '""']))))
    elif draw(st.booleans()):
        items.append(("id", draw(st.sampled_from(['"r\\"1"', "1.5", "null", "true", "{}"]))))
    if not _rarely(draw):
        items.append(("received_at", draw(st.sampled_from(TIMES))))
    elif draw(st.booleans()):
        items.append(("received_at", draw(st.sampled_from(ODD_TIMES))))
    body = draw(request_text())
    if _rarely(draw):
        body = draw(st.sampled_from(['"{oops"', "null", "[]", "5", _string(body)]))
    items.append(("body", body))
    return _object(draw, items)


def _string(text: str) -> str:
    """A JSON string holding ``text`` (an envelope body given as text)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def settings_strategy(draw: st.DrawFn) -> Settings:
    return Settings(
        payload_values=draw(st.sampled_from(["strict", "coerce"])),
        max_payload_bytes=draw(st.sampled_from([65_536, 24])),
    )


def _targets(
    source: Path | pl.DataFrame,
    batch_settings: Settings,
    at: datetime | None,
    fast: bool,
    payloads: bool = True,
) -> tuple[int, pl.DataFrame]:
    con = connect()
    try:
        requests = load_targets(con, source, batch_settings, at, fast=fast, payloads=payloads)
        frame = con.sql("SELECT * FROM targets ORDER BY line, el, ipos, tpos").pl()
        leftovers = con.sql("SELECT table_name FROM duckdb_tables() WHERE table_name <> 'targets'").fetchall()
        views = con.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    finally:
        con.close()
    assert leftovers == [] and views == []
    return requests, frame


def _same(source: Path | pl.DataFrame, batch_settings: Settings, at: datetime | None) -> None:
    requests_fast, fast = _targets(source, batch_settings, at, fast=True)
    requests_generic, generic = _targets(source, batch_settings, at, fast=False)
    assert requests_fast == requests_generic
    assert_frame_equal(fast, generic)
    # without payloads (a simulation that renders nothing): the same rows, every payload checked, none kept
    requests_bare, bare = _targets(source, batch_settings, at, fast=True, payloads=False)
    assert requests_bare == requests_fast
    assert_frame_equal(bare, fast.with_columns(pl.lit(None, fast.schema["payload"]).alias("payload")))


_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=_QUIET)
@given(
    lines=st.lists(line_text(), min_size=1, max_size=12),
    batch_settings=settings_strategy(),
    at=st.sampled_from([None, AT]),
)
def test_json_lines_fast_and_generic_agree(
    tmp_path: Path, lines: list[str], batch_settings: Settings, at: datetime | None
) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _same(batch, batch_settings, at)


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=_QUIET)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["r1", "17", None, ""]),
            st.sampled_from(["2026-11-01T10:00:00Z", "2026-11-02 08:00:00+05:30", "yesterday", None]),
            st.one_of(
                request_text(),
                request_text(),
                st.sampled_from(["not json", "", "[1]", '{"a": 1,}', "null"]),
                st.none(),
            ),
        ),
        min_size=1,
        max_size=12,
    ),
    batch_settings=settings_strategy(),
    at=st.sampled_from([None, AT]),
    parquet=st.booleans(),
)
def test_tables_fast_and_generic_agree(
    tmp_path: Path,
    rows: list[tuple[str | None, str | None, str | None]],
    batch_settings: Settings,
    at: datetime | None,
    parquet: bool,
) -> None:
    frame = pl.DataFrame(
        rows, schema={"id": pl.String, "received_at": pl.String, "body": pl.String}, orient="row"
    )
    source: Path | pl.DataFrame = frame
    if parquet:
        source = tmp_path / "batch.parquet"
        frame.write_parquet(source)
    _same(source, batch_settings, at)


def _classify(lines: list[str]) -> tuple[int, int]:
    """(ordinary, odd) lines of a JSON Lines batch by the fast path."""
    con = connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE TEMP TABLE tl_raw_test (line BIGINT, raw VARCHAR)")
        con.executemany("INSERT INTO tl_raw_test VALUES (?, ?)", list(enumerate(lines, start=1)))
        con.execute("CREATE TEMP VIEW tl_lines AS SELECT * FROM tl_raw_test")
        ordinary = fast_targets(con, "lines", Settings(), AT)
        row = con.execute("SELECT count(*) FROM tl_odd").fetchone()
    finally:
        con.close()
    assert row is not None
    return ordinary, int(row[0])


ENVELOPE = '{{"id":"r1","received_at":"2026-11-01T10:00:00Z","body":{}}}'
ORDINARY = [
    '{"to":{"identity":["u1"]},"campaign_id":"100","ExternalTrigger":{"steps":"12","order":"A1"}}',
    '{"to": {"email": ["a@x.test", "b@x.test"], "identity": []}, "campaign_id_list": ["100", 200, "100"]}',
    '{"campaign_id": 1695721550, "to": {"objectId": ["_g1", ""]}, "ExternalTrigger": {"items": [{"k": "v"}]}}',
    '{"to":{"identity":["u1"]},"campaign_id":"100","campaign_id_list":[],"other":[1, null]}',
]
ODD = [
    '{"d":[{"to":{"identity":["u1"]},"campaign_id":"100"}]}',
    '{"to":{"identity":["u1"]},"campaign_id":"100","ExternalTrigger":{"steps":12}}',
    '{"to":{"identity":["u1"]},"campaign_id":"100","ExternalTrigger":null}',
    '{"to":{"identity":[5]},"campaign_id":"100"}',
    '{"to":{"identity":"u1"},"campaign_id":"100"}',
    '{"to":{"identity":["u\\"1"]},"campaign_id":"100"}',
    '{"to":{"phone":["1"]},"campaign_id":"100"}',
    '{"to":{"identity":["u1"],"identity":["u2"]},"campaign_id":"100"}',
    '{"to":{"identity":[]},"campaign_id":"100"}',
    '{"to":{"identity":["u1"]},"campaign_id":""}',
    '{"to":{"identity":["u1"]},"campaign_id":1.0}',
    '{"to":{"identity":["u1"]},"campaign_id_list":"100"}',
    '{"to":{"identity":["u1"]}}',
    '{"to":{"identity":["u1"]},"campaign_id":"100","x":NaN}',
]


@pytest.mark.parametrize("envelope", [False, True])
def test_ordinary_lines_take_the_fast_path_and_odd_ones_do_not(envelope: bool) -> None:
    wrap = ENVELOPE.format if envelope else str
    assert _classify([wrap(line) for line in ORDINARY]) == (len(ORDINARY), 0)
    assert _classify([wrap(line) for line in ODD]) == (0, len(ODD))
    assert _classify(['{"body":"{}"}', "", "[1]", '{"body":{}}', '{"body":[]}']) == (0, 5)


def test_fast_targets_rows_exactly() -> None:
    """Campaign ids de-duplicated by text (first position kept), kinds in key order, values in list order."""
    con = connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        line = ENVELOPE.format(ORDINARY[1].replace('"identity": []', '"identity": ["u9"]'))
        con.execute("CREATE TEMP TABLE tl_lines AS SELECT 3::BIGINT AS line, $raw AS raw", {"raw": line})
        assert fast_targets(con, "lines", Settings(), None) == 1
        got = con.sql(
            "SELECT line, request_id, received_at, campaign_id, kind, value, payload::VARCHAR AS payload, invalid,"
            " el, ipos, tpos FROM targets ORDER BY ipos, tpos"
        ).pl()
    finally:
        con.close()
    when = datetime(2026, 11, 1, 10, tzinfo=UTC)
    rows = [
        (cid, ipos, kind, value, tpos)
        for cid, ipos in (("100", 1), ("200", 2))
        for kind, value, tpos in (
            ("email", "a@x.test", 1_000_001),
            ("email", "b@x.test", 1_000_002),
            ("identity", "u9", 2_000_001),
        )
    ]
    expected = pl.DataFrame(
        {
            "line": [3] * 6,
            "request_id": ["r1"] * 6,
            "received_at": [when] * 6,
            "campaign_id": [r[0] for r in rows],
            "kind": [r[2] for r in rows],
            "value": [r[3] for r in rows],
            "payload": ["{}"] * 6,
            "invalid": [None] * 6,
            "el": [0] * 6,
            "ipos": [r[1] for r in rows],
            "tpos": [r[4] for r in rows],
        },
        schema=got.schema,
    )
    assert_frame_equal(got, expected)
