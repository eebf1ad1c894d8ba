"""The fast path of :mod:`.duck_triggers`: ordinary lines parsed once, odd lines set aside for the generic reading.

DuckDB re-parses a JSON document on every JSON function call, so the generic reading (a dozen calls per line)
costs microseconds per line. Here each line is parsed once, by one ``json_extract`` with a list of paths, and
a line is *ordinary* when cheap string checks on the extracted parts prove that the generic reading would find
a valid request whose targets are the ones computed here. Every other line (``d`` lists, envelopes whose body
is a string, escaped strings, floats, invalid requests: anything unproven) is *odd* and keeps its source
columns for the generic reading.

What the proof rests on (spec/semantics.md "Requests and rows"; tests/test_triggers_fast.py checks it against
the generic reading on random batches):

- ``try(json_extract(..))`` accepts the same texts as the generic ``try_cast(.. AS JSON)`` (the same reader;
  ``NaN`` and ``Infinity``, which it would read, make a line odd), and gives the same compact text: a part is
  NULL exactly when its key is absent (a JSON null is the text ``null``).
- The first character of compact JSON text is its type; a string free of ``\\`` is the text between its
  quotes; an integer of at most 18 digits reads the same in every engine. Nothing else is *plain*.
- ``to`` is read again, small: ``json_keys`` for the kinds in key order (and any unknown or repeated kind) and
  ``json_transform`` for the value lists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import duckdb

from triggerlab.settings import Settings
from triggerlab.triggers import TO_KINDS

__all__ = ["TABLE_COLUMNS", "fast_targets"]

#: the source columns of a table batch (and of its odd lines) for the generic reading
TABLE_COLUMNS = ("line", "id", "received", "body")
#: the same of a JSON Lines batch
LINE_COLUMNS = ("line", "raw")

#: the request keys, in the order of the parts below
_KEYS = ("d", "to", "campaign_id", "campaign_id_list", "ExternalTrigger")

_MACROS = r"""
CREATE OR REPLACE TEMP MACRO tl_plain(x) AS
    CASE WHEN x[1] = '"' THEN CASE WHEN NOT contains(x, '\') THEN x[2:-2] END
         WHEN regexp_full_match(x, '0|-?[1-9][0-9]{0,17}') THEN x END;
CREATE OR REPLACE TEMP MACRO tl_parts(t, paths) AS
    CASE WHEN NOT (contains(t, 'NaN') OR contains(t, 'Infinity')) THEN try(json_extract(t, paths)) END;
"""


def _paths(prefix: str) -> list[str]:
    return [f"$.{prefix}{key}" for key in _KEYS]


def _table_source(at: datetime | None) -> tuple[str, dict[str, object]]:
    """Lines of a table batch (``tl_rows``): id and time are columns already, the body one JSON document."""
    query = f"""SELECT {", ".join(TABLE_COLUMNS)},
               coalesce(id, line::VARCHAR) AS request_id,
               coalesce(try_cast(received AS TIMESTAMPTZ), $at) AS received_at,
               tl_parts(body, {_paths("")})::VARCHAR[] AS parts
        FROM tl_rows"""
    return query, {"at": at}


def _lines_source(at: datetime | None) -> tuple[str, dict[str, object]]:
    """Lines of a JSON Lines batch (``tl_lines``): an envelope with an object body, or a bare request."""
    paths = ["$.body", "$.id", "$.received_at", *_paths(""), *_paths("body.")]
    query = f"""WITH parsed AS (
            SELECT line, raw, tl_parts(raw, {paths})::VARCHAR[] AS e FROM tl_lines)
        SELECT line, raw,
               CASE WHEN e[1] IS NULL OR e[2] IS NULL THEN line::VARCHAR ELSE tl_plain(e[2]) END AS request_id,
               CASE WHEN e[1] IS NULL OR e[3] IS NULL OR e[3][1] <> '"' THEN $at
                    WHEN NOT contains(e[3], '\\') THEN coalesce(try_cast(e[3][2:-2] AS TIMESTAMPTZ), $at)
               END AS received_at,
               CASE WHEN e[1] IS NULL THEN e[4:8] WHEN e[1][1] = '{{' THEN e[9:13] END AS parts
        FROM parsed"""
    return query, {"at": at}


def _classified(source: str, odd: tuple[str, ...], settings: Settings) -> str:
    """Each line of ``source`` with its plain campaign ids, ``to`` kinds and values, payload and ``ordinary``;
    and the source columns ``odd`` on the other lines, for the generic reading.

    A ``to`` free of ``\\`` whose every value is a list of strings (no other token after ``:``, ``[`` or
    ``,``; a string may only trip the check, never pass a wrong value) is typed as lists of VARCHAR, exactly
    its strings. Lambdas run only for ``campaign_id_list``.
    """
    strict = "true" if settings.payload_values == "strict" else "false"
    lists = "{" + ",".join(f'"{kind}":["VARCHAR"]' for kind in TO_KINDS) + "}"
    sizes = " + ".join(f"len(coalesce(vals.{kind}, []))" for kind in TO_KINDS)
    known = " + ".join(f"(vals.{kind} IS NOT NULL)::INTEGER" for kind in TO_KINDS)
    keep = ", ".join(f"CASE WHEN NOT ordinary THEN {name} END AS {name}" for name in odd[1:])
    return f"""WITH src AS ({source}),
        split AS (
            SELECT *, coalesce(parts[5], '{{}}') AS payload,
                   CASE WHEN parts[4][1] = '[' THEN json_transform(parts[4], '["JSON"]')::VARCHAR[] END AS listed,
                   coalesce(parts[2][1] = '{{' AND NOT contains(parts[2], '\\')
                       AND NOT regexp_matches(parts[2], '[\\[,][^"\\]]|:[^\\[]'), false) AS simple_to
            FROM src),
        typed AS (
            SELECT *,
                   CASE WHEN parts[4] IS NULL THEN [CASE WHEN parts[3] <> '""' THEN tl_plain(parts[3]) END]
                        ELSE list_transform(list_concat(
                            CASE WHEN parts[3] IS NULL THEN []::VARCHAR[] ELSE [parts[3]] END, listed),
                            lambda x: CASE WHEN x <> '""' THEN tl_plain(x) END) END AS id_texts,
                   CASE WHEN simple_to THEN json_keys(parts[2]) END AS kinds,
                   CASE WHEN simple_to THEN json_transform(parts[2], '{lists}') END AS vals
            FROM split),
        checked AS (
            SELECT *,
                   coalesce(request_id IS NOT NULL AND received_at IS NOT NULL AND parts[1] IS NULL
                       AND (parts[4] IS NULL OR listed IS NOT NULL)
                       AND len(id_texts) > 0 AND list_count(id_texts) = len(id_texts)
                       AND simple_to AND len(kinds) = {known}
                       AND {sizes} > 0
                       AND payload[1] = '{{' AND strlen(payload) <= {settings.max_payload_bytes}
                       AND NOT ({strict} AND regexp_matches(payload, '[:\\[,][-0-9tfn]')), false) AS ordinary
            FROM typed)
        SELECT line, request_id, received_at, payload, id_texts, kinds, vals, ordinary, {keep}
        FROM checked"""


def fast_targets(
    con: duckdb.DuckDBPyConnection, shape: Literal["table", "lines"], settings: Settings, at: datetime | None
) -> int:
    """``targets`` from the ordinary lines of ``tl_rows`` (a table batch) or ``tl_lines`` (JSON Lines), and
    ``tl_odd`` with the source columns of the other lines; returns the number of ordinary lines."""
    con.execute(_MACROS)
    query, params = _table_source(at) if shape == "table" else _lines_source(at)
    odd = TABLE_COLUMNS if shape == "table" else LINE_COLUMNS
    con.execute(f"CREATE OR REPLACE TEMP TABLE tl_fast AS {_classified(query, odd, settings)}", params)
    values = "CASE kind " + " ".join(f"WHEN '{kind}' THEN vals.{kind}" for kind in TO_KINDS) + " END"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE targets AS
        WITH ids AS (
            SELECT line, request_id, received_at, payload, id_texts, kinds, vals,
                   unnest(id_texts) AS campaign_id, generate_subscripts(id_texts, 1) AS ipos
            FROM tl_fast WHERE ordinary),
        by_kind AS (
            SELECT *, unnest(kinds) AS kind, generate_subscripts(kinds, 1) AS kpos
            FROM ids WHERE list_position(id_texts, campaign_id) = ipos),
        by_value AS (
            SELECT *, unnest({values}) AS value, generate_subscripts({values}, 1) AS vpos FROM by_kind)
        SELECT line::BIGINT AS line, request_id, received_at, campaign_id, kind, value, payload::JSON AS payload,
               NULL::VARCHAR AS invalid, 0::BIGINT AS el, ipos::BIGINT AS ipos, kpos * 1000000 + vpos AS tpos
        FROM by_value"""
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE tl_odd AS SELECT {', '.join(odd)} FROM tl_fast WHERE NOT ordinary"
    )
    row = con.execute("SELECT count(*) FROM tl_fast WHERE ordinary").fetchone()
    con.execute("DROP TABLE tl_fast")
    assert row is not None
    return int(row[0])
