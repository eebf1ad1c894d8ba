"""The fast path of :mod:`.duck_triggers`: ordinary lines read with one parse each, odd lines set aside.

DuckDB re-parses a JSON document on every JSON function call, so the generic reading (a dozen calls per line)
costs microseconds per line. Here each line is parsed once, by one ``json_extract`` with a list of paths, and
a line is *ordinary* when cheap string checks on the extracted parts prove that the generic reading would find
a valid request whose targets are the ones computed here. Every other line (``d`` lists, envelopes whose body
is a string, escaped strings, floats, invalid requests: anything unproven) is *odd* and keeps its source
columns for the generic reading.

What the proof rests on (tests/test_triggers_fast.py checks it against the generic reading on random batches):

- ``try(json_extract(..))`` accepts the same texts as the generic ``try_cast(.. AS JSON)`` (the same reader;
  ``NaN`` and ``Infinity``, which it would read, make a line odd) and gives the same compact text; a part is
  NULL exactly when its key is absent (a JSON null is the text ``null``).
- The first character of compact JSON text is its type; a string free of ``\\`` is the text between its
  quotes; an integer of at most 18 digits reads the same in every engine. Nothing else is *plain*.
- The common ``to``, one kind with one string value, is read by string functions (what a regular expression
  would capture, at a fraction of its cost). Any other ``to`` free of ``\\`` in which nothing but ``"``
  follows ``,`` or ``[`` (or ``]``) and nothing but ``[`` follows ``:`` maps kinds to lists of strings (a
  string holding such characters only makes the line odd): then ``json_keys`` gives the kinds in key order
  (and any unknown or repeated one) and ``json_transform`` their lists.

``targets`` is built in place: the common line (one campaign id, one kind, one value) is its final row at
once; a line with several pairs or an odd line is a placeholder row carrying what the next step needs, then
deleted, and the helper columns dropped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import duckdb

from triggerlab.settings import Settings
from triggerlab.triggers import TO_KINDS

__all__ = ["FIRST_TPOS", "INSTANT_MACRO", "LINE_COLUMNS", "PAIR_STRIDE", "TABLE_COLUMNS", "fast_targets"]

#: a pair's position in its request (``tpos``): the kind's position times this, plus the value's
PAIR_STRIDE = 1_000_000
#: the ``tpos`` of a request's first pair (kind 1, value 1)
FIRST_TPOS = PAIR_STRIDE + 1

#: the source columns of a table batch (and of its odd lines) for the generic reading
TABLE_COLUMNS = ("line", "id", "received", "body")
#: the same of a JSON Lines batch
LINE_COLUMNS = ("line", "raw")

#: the request keys, in the order of the parts read
_KEYS = ("d", "to", "campaign_id", "campaign_id_list", "ExternalTrigger")

#: integers that read the same in every engine (wider ones may not fit DuckDB's integer types)
_INTEGER = "0|-?[1-9][0-9]{0,17}"

_LISTS = "{" + ",".join(f'"{kind}":["VARCHAR"]' for kind in TO_KINDS) + "}"

#: the ``received_at`` texts DuckDB casts: ISO-8601 extended dates and times that Python's
#: ``fromisoformat`` reads the same; DuckDB's cast alone also reads texts Python refuses (white space
#: around, `` UTC``, one-digit fields), which take ``--at`` in the reference
_ISO_INSTANT = (
    "[0-9]{4}-(0[1-9]|1[0-2])-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,6})?)?"
    "(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?"
)
#: ``tl_instant``: a received_at text as an instant, NULL for any text Python would not read as the same one
#: (a typed time column is cast as it is)
INSTANT_MACRO = f"""
CREATE OR REPLACE TEMP MACRO tl_instant(x) AS
    CASE WHEN typeof(x) <> 'VARCHAR' OR regexp_full_match(x::VARCHAR, '{_ISO_INSTANT}')
         THEN try_cast(x AS TIMESTAMPTZ) END;
"""

#: ``tl_ids``: the plain texts of the campaign ids (NULL for any other); ``tl_vals``: the value lists of the
#: kinds of a ``to`` whose values are all strings (see _classified)
_MACROS = rf"""
CREATE OR REPLACE TEMP MACRO tl_plain(x) AS
    CASE WHEN x[1] = '"' THEN CASE WHEN NOT contains(x, '\') THEN substr(x, 2, length(x) - 2) END
         WHEN regexp_full_match(x, '{_INTEGER}') THEN x END;
CREATE OR REPLACE TEMP MACRO tl_parts(t, paths) AS
    CASE WHEN NOT (contains(t, 'NaN') OR contains(t, 'Infinity')) THEN try(json_extract(t, paths)) END;
CREATE OR REPLACE TEMP MACRO tl_listed(x) AS
    CASE WHEN x[1] = '[' THEN json_transform(x, '["JSON"]')::VARCHAR[] END;
CREATE OR REPLACE TEMP MACRO tl_ids(cid, listed) AS
    list_transform(list_concat(CASE WHEN cid IS NULL THEN []::VARCHAR[] ELSE [cid] END,
                               coalesce(tl_listed(listed), []::VARCHAR[])),
                   lambda x: CASE WHEN x <> '""' THEN tl_plain(x) END);
CREATE OR REPLACE TEMP MACRO tl_vals(t) AS json_transform(t, '{_LISTS}');
{INSTANT_MACRO}"""

#: the columns a placeholder row carries (the texts a line with several pairs is read again from), besides
#: the source columns of an odd line
_HELPERS = ("tl_route", "tl_to", "tl_cid", "tl_listed")


def _paths(prefix: str) -> list[str]:
    return [f"$.{prefix}{key}" for key in _KEYS]


def _table_source() -> str:
    """Lines of a table batch (``tl_rows``): id and time are columns already, the body one JSON document."""
    return f"""SELECT {", ".join(TABLE_COLUMNS)},
               coalesce(id, line::VARCHAR) AS request_id,
               coalesce(tl_instant(received), $at) AS received_at,
               tl_parts(body, {_paths("")}) AS parts
        FROM tl_rows"""


def _lines_source() -> str:
    """Lines of a JSON Lines batch (``tl_lines``): an envelope with an object body, or a bare request."""
    paths = ["$.body", "$.id", "$.received_at", *_paths(""), *_paths("body.")]
    return f"""SELECT line, raw,
               CASE WHEN e[1] IS NULL OR e[2] IS NULL THEN line::VARCHAR ELSE tl_plain(e[2]::VARCHAR)
               END AS request_id,
               CASE WHEN e[1] IS NULL OR e[3] IS NULL OR (e[3]::VARCHAR)[1] <> '"' THEN $at
                    WHEN NOT contains(e[3]::VARCHAR, '\\')
                    THEN coalesce(tl_instant((e[3]::VARCHAR)[2:-2]), $at)
               END AS received_at,
               CASE WHEN e[1] IS NULL THEN e[4:8] WHEN (e[1]::VARCHAR)[1] = '{{' THEN e[9:13] END AS parts
        FROM (SELECT line, raw, tl_parts(raw, {paths}) AS e FROM tl_lines)"""


def _single_to(t: str) -> str:
    """``{kind, value}`` of a compact ``to`` text that is one kind with one string value free of ``"`` and
    ``\\`` (``{'', ''}`` for any other text): what ``^\\{"(kind)":\\["([^"\\\\]*)"\\]\\}$`` extracts, with
    string functions, which cost a fraction of a regular expression's capture groups (``substr`` and
    ``length`` count characters as slices do, at a third of a slice's cost)."""
    cases = []
    for kind in TO_KINDS:
        prefix = '{"' + kind + '":["'
        value = f"substr({t}, {len(prefix) + 1}, length({t}) - {len(prefix) + 3})"
        # the value's closing quote is the first one after the prefix
        closing = f"""strpos(substr({t}, {len(prefix) + 1}), '"') = length({t}) - {len(prefix) + 2}"""
        one = f"{{'kind': '{kind}', 'value': {value}}}"
        cases.append(f"WHEN starts_with({t}, '{prefix}') AND {closing} THEN {one}")
    return f"""CASE WHEN {t} IS NULL THEN NULL
             WHEN NOT ends_with({t}, '"]}}') OR contains({t}, '\\') THEN {{'kind': '', 'value': ''}}
             {" ".join(cases)}
             ELSE {{'kind': '', 'value': ''}} END"""


def _classified(source: str, odd: tuple[str, ...], settings: Settings, payloads: bool) -> str:
    """One row per line of ``source``: ``tl_route`` NULL (a final row), 'multi' (with the texts its pairs
    are read from) or 'odd' (with the source columns ``odd``); ``payloads``: keep the payloads (else each
    is checked, then dropped)."""
    strict = "true" if settings.payload_values == "strict" else "false"
    sizes = " + ".join(f"len(coalesce(vals.{kind}, []))" for kind in TO_KINDS)
    known = " + ".join(f"(vals.{kind} IS NOT NULL)::INTEGER" for kind in TO_KINDS)
    keep = ", ".join(f"CASE WHEN tl_route = 'odd' THEN {name} END AS {name}" for name in odd[1:])
    single = _single_to("t")
    kept_payload = "true" if payloads else "false"
    return f"""WITH src AS ({source}),
        texts AS (
            SELECT *, parts[2]::VARCHAR AS t, parts[3]::VARCHAR AS cid, parts[4]::VARCHAR AS listed_text,
                   coalesce(parts[5], '{{}}'::JSON) AS payload
            FROM src),
        shaped AS (
            SELECT *,
                   {single} AS one,
                   CASE WHEN cid <> '""' THEN tl_plain(cid) END AS campaign_id,
                   coalesce(request_id IS NOT NULL AND received_at IS NOT NULL AND parts[1] IS NULL
                       AND starts_with(payload::VARCHAR, '{{')
                       AND strlen(payload::VARCHAR) <= {settings.max_payload_bytes}
                       AND NOT ({strict} AND regexp_matches(payload::VARCHAR, '[:\\[,][-0-9tfn]')), false)
                       AS common
            FROM texts),
        read AS (
            SELECT *, coalesce(one.kind <> '' AND listed_text IS NULL, false) AS single,
                   CASE WHEN one.kind = '' OR listed_text IS NOT NULL THEN coalesce(t[1] = '{{'
                       AND NOT contains(t, '\\') AND NOT regexp_matches(t, '[\\[,][^"\\]]|:[^\\[]'), false)
                   END AS simple_to
            FROM shaped),
        multi AS (
            SELECT *,
                   CASE WHEN simple_to THEN json_keys(t) END AS kinds,
                   CASE WHEN simple_to THEN tl_vals(t) END AS vals,
                   CASE WHEN simple_to THEN tl_ids(cid, listed_text) END AS id_texts
            FROM read),
        routed AS (
            SELECT *, one.kind AS kind, one.value AS value,
                   CASE WHEN NOT common THEN 'odd'
                        WHEN single THEN CASE WHEN campaign_id IS NOT NULL THEN NULL ELSE 'odd' END
                        WHEN simple_to AND (listed_text IS NULL OR tl_listed(listed_text) IS NOT NULL)
                             AND len(id_texts) > 0 AND list_count(id_texts) = len(id_texts)
                             AND len(kinds) = {known} AND {sizes} > 0 THEN 'multi'
                        ELSE 'odd' END AS tl_route
            FROM multi)
        SELECT line::BIGINT AS line, request_id, received_at,
               CASE WHEN tl_route IS NULL THEN campaign_id END AS campaign_id,
               CASE WHEN tl_route IS NULL THEN kind END AS kind,
               CASE WHEN tl_route IS NULL THEN value END AS value,
               CASE WHEN {kept_payload} AND tl_route IS DISTINCT FROM 'odd' THEN payload END AS payload,
               NULL::VARCHAR AS invalid, 0::BIGINT AS el, 1::BIGINT AS ipos, {FIRST_TPOS}::BIGINT AS tpos,
               tl_route,
               CASE WHEN tl_route = 'multi' THEN t END AS tl_to,
               CASE WHEN tl_route = 'multi' THEN cid END AS tl_cid,
               CASE WHEN tl_route = 'multi' THEN listed_text END AS tl_listed,
               {keep}
        FROM routed"""


def _expand_multi(con: duckdb.DuckDBPyConnection) -> None:
    """The rows of the lines with several pairs: ids de-duplicated by text (first position kept), kinds in
    key order, values in list order."""
    values = "CASE kind " + " ".join(f"WHEN '{kind}' THEN vals.{kind}" for kind in TO_KINDS) + " END"
    con.execute(
        f"""INSERT INTO targets (line, request_id, received_at, campaign_id, kind, value, payload,
                                 invalid, el, ipos, tpos)
        WITH multi AS (
            SELECT line, request_id, received_at, payload, tl_ids(tl_cid, tl_listed) AS ids,
                   json_keys(tl_to) AS kinds, tl_vals(tl_to) AS vals
            FROM targets WHERE tl_route = 'multi'),
        ids AS (SELECT *, unnest(ids) AS campaign_id, generate_subscripts(ids, 1) AS ipos FROM multi),
        by_kind AS (
            SELECT *, unnest(kinds) AS kind, generate_subscripts(kinds, 1) AS kpos
            FROM ids WHERE list_position(ids, campaign_id) = ipos),
        by_value AS (
            SELECT *, unnest({values}) AS value, generate_subscripts({values}, 1) AS vpos FROM by_kind)
        SELECT line, request_id, received_at, campaign_id, kind, value, payload, NULL, 0, ipos,
               kpos * {PAIR_STRIDE} + vpos
        FROM by_value"""
    )


def fast_targets(
    con: duckdb.DuckDBPyConnection,
    shape: Literal["table", "lines"],
    settings: Settings,
    at: datetime | None,
    *,
    payloads: bool = True,
) -> int:
    """``targets`` from the ordinary lines of ``tl_rows`` (a table batch) or ``tl_lines`` (JSON Lines), and
    ``tl_odd`` with the source columns of the other lines; returns the number of ordinary lines.
    ``payloads=False`` leaves the payload column NULL (each payload is still checked)."""
    con.execute(_MACROS)
    source = _table_source() if shape == "table" else _lines_source()
    odd = TABLE_COLUMNS if shape == "table" else LINE_COLUMNS
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE targets AS {_classified(source, odd, settings, payloads)}", {"at": at}
    )
    row = con.execute("SELECT count(*) FILTER (tl_route IS DISTINCT FROM 'odd') FROM targets").fetchone()
    assert row is not None
    _expand_multi(con)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE tl_odd AS SELECT {', '.join(odd)} FROM targets WHERE tl_route = 'odd'"
    )
    con.execute("DELETE FROM targets WHERE tl_route IS NOT NULL")
    for name in (*_HELPERS, *odd[1:]):
        con.execute(f"ALTER TABLE targets DROP COLUMN {name}")
    return int(row[0])
