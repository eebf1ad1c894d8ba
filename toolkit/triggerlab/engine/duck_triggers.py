"""Trigger batches in DuckDB: lines, requests and their (campaign id, ``to`` value) targets, in SQL.

The same rules as :mod:`triggerlab.triggers` (spec/semantics.md "Requests and rows"), set-based so a batch of
millions of lines never becomes Python objects: DuckDB's CSV reader splits lines (blank lines come back as
NULL, so physical line numbers survive), its JSON functions read them. The result is the temp table
``targets``: one row per target with ``line, request_id, received_at, campaign_id, kind, value, payload,
invalid`` and ``el, ipos, tpos`` (row order within the line, before profiles are matched: no window
over the batch).

Two readings give the same table: the fast one (:mod:`.duck_triggers_fast`, one parse per line) for the
ordinary lines, and the generic one below, a dozen JSON calls per line, for the odd lines it hands over (or,
with ``fast=False``, for every line).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from triggerlab.engine.duck_triggers_fast import INSTANT_MACRO, PAIR_STRIDE, fast_targets
from triggerlab.engine.values import WHITESPACE
from triggerlab.errors import InputError, input_file
from triggerlab.settings import Settings
from triggerlab.triggers import REASONS, TO_KINDS, read_trigger_table

__all__ = ["load_targets"]

#: a JSON string literal, to strip strings before looking for non-string tokens
_STRING = r'"(?:[^"\\]|\\.)*"'
_WS = "[" + "".join(f"\\x{{{ord(ch):x}}}" for ch in WHITESPACE) + "]"

_MACROS = f"""
CREATE OR REPLACE TEMP MACRO tl_readable(j) AS json_type(j) IN ('VARCHAR', 'BIGINT', 'UBIGINT', 'HUGEINT');
CREATE OR REPLACE TEMP MACRO tl_valid_id(j) AS
    json_type(j) IN ('BIGINT', 'UBIGINT', 'HUGEINT') OR (json_type(j) = 'VARCHAR' AND j->>'$' <> '');
CREATE OR REPLACE TEMP MACRO tl_text(j) AS CASE WHEN json_type(j) = 'VARCHAR' THEN j->>'$'
    ELSE j::VARCHAR END;
CREATE OR REPLACE TEMP MACRO tl_json(t) AS
    CASE WHEN NOT (contains(t, 'NaN') OR contains(t, 'Infinity')) THEN try_cast(t AS JSON)
         WHEN NOT regexp_matches(regexp_replace(t, '{_STRING}', '', 'g'), 'NaN|Infinity')
             THEN try_cast(t AS JSON)
    END;
CREATE OR REPLACE TEMP MACRO tl_leaf(p) AS
    CASE WHEN regexp_matches(p, '[:\\[,][-0-9tfn]')
         THEN regexp_matches(regexp_replace(p, '{_STRING}', '', 'g'), '[-0-9tfn]') ELSE false END;
CREATE OR REPLACE TEMP MACRO tl_time(j) AS
    CASE WHEN json_type(j) = 'VARCHAR' THEN tl_instant(j->>'$') END;
{INSTANT_MACRO}"""


def _reason(key: str) -> str:
    return "'" + REASONS[key].replace("'", "''") + "'"


def _open_lines(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """``tl_lines(line, raw)``: every line of a JSON Lines file with its physical number (blank lines too)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE tl_src AS SELECT raw FROM read_csv(?, columns={'raw': 'VARCHAR'},"
        " header=false, delim=chr(1), quote='', escape='', auto_detect=false, strict_mode=false)",
        [str(path)],
    )
    con.execute("CREATE OR REPLACE TEMP VIEW tl_lines AS SELECT rowid + 1 AS line, raw FROM tl_src")


def _raw_lines(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    """``tl_raw(line, raw)``: the non-blank lines of ``relation``."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE tl_raw AS
        SELECT line, raw FROM {relation}
        WHERE raw IS NOT NULL AND regexp_replace(raw, '^{_WS}+|{_WS}+$', '', 'g') <> ''"""
    )


def _jsonl_requests(con: duckdb.DuckDBPyConnection, at: datetime | None) -> None:
    """``tl_req(line, request_id, received_at, body, err)`` from JSON Lines.

    DuckDB parses a JSON document on every function call, so each document is read once with a list of paths.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE tl_req AS
        WITH parsed AS (
            SELECT line, tl_json(raw) AS doc FROM tl_raw),
        typed AS (
            SELECT line, doc, json_type(doc) AS kind,
                   CASE WHEN json_type(doc) = 'OBJECT'
                        THEN json_extract(doc, ['$.body', '$.id', '$.received_at']) END AS parts
            FROM parsed),
        enveloped AS (
            SELECT line,
                   CASE WHEN doc IS NULL THEN {_reason("not_json")}
                        WHEN kind <> 'OBJECT' THEN {_reason("not_object")} END AS err,
                   parts[1] IS NOT NULL AS envelope,
                   CASE WHEN parts[1] IS NOT NULL AND tl_readable(parts[2])
                        THEN tl_text(parts[2]) ELSE line::VARCHAR END AS request_id,
                   coalesce(CASE WHEN parts[1] IS NOT NULL THEN tl_time(parts[3]) END, $at) AS received_at,
                   CASE WHEN kind IS DISTINCT FROM 'OBJECT' THEN NULL
                        WHEN parts[1] IS NULL THEN doc ELSE parts[1] END AS body
            FROM typed),
        unwrapped AS (
            SELECT *, CASE WHEN envelope AND json_type(body) = 'VARCHAR'
                THEN tl_json(body->>'$') END AS inner_doc
            FROM enveloped)
        SELECT line, request_id, received_at,
               CASE WHEN envelope AND json_type(body) = 'VARCHAR' THEN inner_doc ELSE body END AS body,
               CASE WHEN envelope AND json_type(body) = 'VARCHAR' AND inner_doc IS NULL
                    THEN {_reason("body_not_json")} ELSE err END AS err
        FROM unwrapped""",
        {"at": at},
    )


def _open_table(con: duckdb.DuckDBPyConnection, source: pl.DataFrame | Path) -> None:
    """``tl_rows(line, id, received, body)`` over a table with ``id, received_at, body`` (body as JSON text):
    a frame, or a Parquet file read in place (its row number is the line)."""
    if isinstance(source, Path):
        columns = [
            name for (name,) in con.execute("SELECT name FROM parquet_schema(?)", [str(source)]).fetchall()
        ]
        literal = "'" + str(source).replace("'", "''") + "'"
        con.execute(
            "CREATE OR REPLACE TEMP VIEW tl_frame AS SELECT file_row_number + 1 AS line, *"
            f" FROM read_parquet({literal}, file_row_number = true)"
        )
    else:
        columns = source.columns
        con.register(
            "tl_frame", source.with_row_index("line", offset=1).to_arrow(compat_level=pl.CompatLevel.newest())
        )
    if "body" not in columns:
        _close_table(con, source)
        raise InputError("a trigger table needs the columns id, received_at, body (body as JSON text)")
    request_id = "CAST(id AS VARCHAR)" if "id" in columns else "NULL::VARCHAR"
    received = "received_at" if "received_at" in columns else "NULL::VARCHAR"
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW tl_rows AS
        SELECT line::BIGINT AS line, {request_id} AS id, {received} AS received, CAST(body AS VARCHAR) AS body
        FROM tl_frame"""
    )


def _close_table(con: duckdb.DuckDBPyConnection, source: pl.DataFrame | Path) -> None:
    con.execute("DROP VIEW IF EXISTS tl_rows")
    if isinstance(source, Path):
        con.execute("DROP VIEW tl_frame")
    else:
        con.unregister("tl_frame")


def _table_requests(con: duckdb.DuckDBPyConnection, relation: str, at: datetime | None) -> None:
    """``tl_req`` from ``relation`` with the columns ``line, id, received, body``."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE tl_req AS
        WITH rows AS (SELECT line, id, received, tl_json(coalesce(body, '')) AS body FROM {relation})
        SELECT line, coalesce(id, line::VARCHAR) AS request_id,
               coalesce(tl_instant(received), $at) AS received_at, body,
               CASE WHEN body IS NULL THEN {_reason("body_not_json")} END AS err
        FROM rows""",
        {"at": at},
    )


#: the request keys read from every body, in one pass: ``parts[1..5]``
_BODY_PATHS = "['$.d', '$.to', '$.campaign_id', '$.campaign_id_list', '$.ExternalTrigger']"


def _elements(con: duckdb.DuckDBPyConnection) -> None:
    """``tl_el(line, request_id, received_at, el, kind, parts, err)``: one row per request (``d`` unrolled);
    ``kind`` is the request's JSON type and ``parts`` its ``to``, ids and payload (see _BODY_PATHS)."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE tl_line AS
        WITH typed AS (
            SELECT *, json_type(body) AS kind,
                   CASE WHEN json_type(body) = 'OBJECT' THEN json_extract(body, {_BODY_PATHS}) END AS parts
            FROM tl_req)
        SELECT line, request_id, received_at, kind, parts,
               CASE WHEN err IS NOT NULL THEN err
                    WHEN received_at IS NULL THEN {_reason("no_time")}
                    WHEN parts[1] IS NOT NULL AND (json_type(parts[1]) <> 'ARRAY'
                        OR json_array_length(parts[1]) = 0)
                    THEN {_reason("bad_d")} END AS err,
               coalesce(err IS NULL AND received_at IS NOT NULL AND json_type(parts[1]) = 'ARRAY'
                        AND json_array_length(parts[1]) > 0, false) AS is_d
        FROM typed"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW tl_el AS
        SELECT line, request_id, received_at, 0 AS el, CASE WHEN err IS NULL THEN kind END AS kind,
               CASE WHEN err IS NULL THEN parts END AS parts, err
        FROM tl_line WHERE NOT is_d
        UNION ALL
        SELECT line, request_id, received_at, el, json_type(e),
               CASE WHEN json_type(e) = 'OBJECT' THEN json_extract(e, {_BODY_PATHS}) END, NULL
        FROM (SELECT line, request_id, received_at, unnest(json_extract(parts[1], '$[*]')) AS e,
                     generate_subscripts(json_extract(parts[1], '$[*]'), 1) AS el
              FROM tl_line WHERE is_d)"""
    )


def _problems(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """``tl_chk``: each element with ``invalid`` (the first broken rule, in triggers.request_problem order).

    List functions over ``json_extract(.., '[*]')`` rather than ``json_each`` joins: the same reading, about
    twenty times faster.
    """
    kinds = ", ".join(f"'{kind}'" for kind in TO_KINDS)
    strict = "true" if settings.payload_values == "strict" else "false"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE tl_chk AS
        WITH base AS (
            SELECT line, request_id, received_at, el, err, coalesce(kind = 'OBJECT', false) AS is_obj,
                   parts[2] AS tov, parts[3] AS cid, parts[4] AS cid_list,
                   parts[3] IS NOT NULL AS has_id, parts[4] IS NOT NULL AS has_list,
                   json_type(parts[4]) AS list_type,
                   CASE WHEN kind = 'OBJECT' THEN coalesce(parts[5], '{{}}'::JSON) END AS payload
            FROM tl_el),
        lists AS (
            SELECT *,
                   list_concat(CASE WHEN has_id THEN [cid] ELSE []::JSON[] END,
                               CASE WHEN list_type = 'ARRAY' THEN json_extract(cid_list, '$[*]')
                                    ELSE []::JSON[] END) AS given,
                   CASE WHEN json_type(tov) = 'OBJECT' THEN json_keys(tov) END AS to_keys,
                   CASE WHEN json_type(tov) = 'OBJECT' THEN json_extract(tov, '$.*') END AS to_values
            FROM base)
        SELECT line, request_id, received_at, el, payload,
               CASE WHEN err IS NOT NULL THEN err
                    WHEN NOT is_obj THEN {_reason("request_not_object")}
                    WHEN NOT has_id AND NOT has_list THEN {_reason("no_campaign")}
                    WHEN has_list AND list_type <> 'ARRAY' THEN {_reason("bad_campaign_list")}
                    WHEN len(given) = 0 THEN {_reason("no_campaign")}
                    WHEN NOT list_bool_and(list_transform(given, lambda x: tl_valid_id(x)))
                        THEN {_reason("bad_campaign")}
                    WHEN to_keys IS NULL THEN {_reason("no_to")}
                    WHEN NOT coalesce(list_bool_and(list_transform(to_keys, lambda k: k IN ({kinds}))), true)
                        THEN {_reason("bad_kind")}
                    WHEN NOT coalesce(list_bool_and(list_transform(to_values,
                        lambda v: json_type(v) = 'ARRAY')), true)
                        THEN {_reason("bad_to_list")}
                    WHEN NOT coalesce(list_bool_and(list_transform(to_values,
                            lambda v: coalesce(list_bool_and(list_transform(json_extract(v, '$[*]'),
                                                                            lambda x: tl_readable(x))),
                                                                                true))), true)
                        THEN {_reason("bad_to_value")}
                    WHEN coalesce(list_sum(list_transform(to_values, lambda v: json_array_length(v))), 0) = 0
                        THEN {_reason("empty_to")}
                    WHEN json_type(payload) <> 'OBJECT' THEN {_reason("bad_payload")}
                    WHEN {strict} AND tl_leaf(payload::VARCHAR) THEN {_reason("leaf")}
                    WHEN strlen(payload::VARCHAR) > {settings.max_payload_bytes} THEN {_reason("too_big")}
               END AS invalid,
               CASE WHEN is_obj THEN list_concat(
                   CASE WHEN has_id THEN [cid] ELSE []::JSON[] END,
                   CASE WHEN list_type = 'ARRAY' THEN json_extract(cid_list, '$[*]')
                        WHEN has_list THEN [cid_list] ELSE []::JSON[] END) END AS id_values,
               to_keys, to_values
        FROM lists"""
    )


def _pairs(con: duckdb.DuckDBPyConnection, create: bool, payloads: bool) -> None:
    """``targets`` (created, or added to): readable campaign ids x readable ``to`` values per element (with
    the payloads, or none)."""
    con.execute(
        """CREATE OR REPLACE TEMP VIEW tl_ids AS
        WITH found AS (
            SELECT line, el, unnest(id_values) AS v, generate_subscripts(id_values, 1) AS pos
            FROM tl_chk WHERE len(id_values) > 0)
        SELECT line, el, min(pos) AS pos, tl_text(v) AS campaign_id FROM found
        WHERE tl_readable(v) GROUP BY line, el, tl_text(v)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW tl_tos AS
        WITH kinds AS (
            SELECT line, el, unnest(to_keys) AS kind, unnest(to_values) AS v, generate_subscripts(to_keys,
                1) AS kpos
            FROM tl_chk WHERE len(to_keys) > 0),
        items AS (
            SELECT line, el, kind, kpos,
                   unnest(CASE WHEN json_type(v) = 'ARRAY' THEN json_extract(v, '$[*]') ELSE [v] END) AS x,
                   generate_subscripts(CASE WHEN json_type(v) = 'ARRAY' THEN json_extract(v, '$[*]')
                                            ELSE [v] END, 1) AS vpos
            FROM kinds)
        SELECT line, el, kpos * {PAIR_STRIDE} + vpos AS pos, kind, tl_text(x) AS value FROM items
            WHERE tl_readable(x)"""
    )
    into = "CREATE OR REPLACE TEMP TABLE targets AS" if create else "INSERT INTO targets"
    keep = "true" if payloads else "false"
    con.execute(
        f"""{into}
        WITH pairs AS (
            SELECT c.line, c.el, i.pos AS ipos, t.pos AS tpos, i.campaign_id, t.kind, t.value
            FROM tl_chk c JOIN tl_ids i USING (line, el) JOIN tl_tos t USING (line, el)),
        has AS (SELECT DISTINCT line, el FROM pairs),
        rows AS (
            SELECT c.line, c.request_id, c.received_at, p.campaign_id, p.kind, p.value,
                   CASE WHEN {keep} AND c.invalid IS NULL THEN c.payload END AS payload,
                   c.invalid, c.el, p.ipos, p.tpos
            FROM tl_chk c JOIN pairs p USING (line, el)
            UNION ALL
            SELECT c.line, c.request_id, c.received_at, NULL, NULL, NULL, NULL, c.invalid, c.el, 0, 0
            FROM tl_chk c ANTI JOIN has USING (line, el))
        SELECT line, request_id, received_at, campaign_id, kind, value, payload, invalid, el, ipos, tpos
        FROM rows"""
    )


def _open(con: duckdb.DuckDBPyConnection, source: str | Path | pl.DataFrame) -> pl.DataFrame | Path:
    """The batch as ``tl_rows`` (a table: returned, to close) or ``tl_lines`` (JSON Lines: the path)."""
    if isinstance(source, pl.DataFrame):
        _open_table(con, source)
        return source
    path = input_file(source, "trigger batch")
    if path.suffix.lower() == ".parquet":
        _open_table(con, path)
        return path
    if path.suffix.lower() == ".csv":
        frame = read_trigger_table(path)
        _open_table(con, frame)
        return frame
    _open_lines(con, path)
    return path


def load_targets(
    con: duckdb.DuckDBPyConnection,
    source: str | Path | pl.DataFrame,
    settings: Settings,
    at: datetime | None,
    *,
    fast: bool = True,
    payloads: bool = True,
) -> int:
    """Fill the temp table ``targets``; return the number of requests (non-blank lines).

    ``fast`` reads ordinary lines in one parse each (:mod:`.duck_triggers_fast`) and only the others with the
    generic reading below; ``fast=False`` reads every line the generic way (the tests compare the two).
    ``payloads=False`` checks every payload (rule 1) but keeps none: the ``payload`` column is NULL (a
    simulation that renders nothing; a payload can be most of a line's size).
    """
    con.execute("SET TimeZone = 'UTC'")
    con.execute(_MACROS)
    opened = _open(con, source)
    lines = isinstance(opened, Path) and opened.suffix.lower() != ".parquet"
    relation = "tl_lines" if lines else "tl_rows"
    ordinary = 0
    if fast:
        ordinary = fast_targets(con, "lines" if lines else "table", settings, at, payloads=payloads)
        relation = "tl_odd"
    if lines:
        _raw_lines(con, relation)
        _jsonl_requests(con, at)
        con.execute("DROP VIEW tl_lines; DROP TABLE tl_src; DROP TABLE tl_raw")
    else:
        _table_requests(con, relation, at)
        _close_table(con, opened)
    con.execute("DROP TABLE IF EXISTS tl_odd")
    row = con.execute("SELECT count(*) FROM tl_req").fetchone()
    assert row is not None
    # each stage is dropped once the next holds what it needs: at 10M lines each one is gigabytes; stages read
    # once (tl_el, tl_ids, tl_tos) are views, never copies
    _elements(con)
    con.execute("DROP TABLE tl_req")
    _problems(con, settings)
    con.execute("DROP VIEW tl_el; DROP TABLE tl_line")
    _pairs(con, create=not fast, payloads=payloads)
    con.execute("DROP VIEW tl_ids; DROP VIEW tl_tos; DROP TABLE tl_chk")
    return ordinary + int(row[0])
