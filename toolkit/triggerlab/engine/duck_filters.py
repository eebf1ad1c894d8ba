"""Audience filters as DuckDB SQL: the comparisons of :mod:`triggerlab.engine.values`, spelled in SQL.

Numbers are compared as ``DECIMAL(38, 10)`` (exact for values with at most 10 decimals and 28 integer digits;
the reference uses Python's exact decimals). Event filters count and sum a user's events in each row's
look-back window: by a join when it pairs few events per row, else with running totals in one sorted pass.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb
import polars as pl

from triggerlab.audience import Aggregate, EventFilter, PropertyFilter
from triggerlab.durations import parse_duration
from triggerlab.engine.values import WHITESPACE, as_number, as_text

__all__ = [
    "PAIRS_PER_ROW",
    "event_filter_table",
    "pair_count",
    "property_sql",
    "quote",
    "quote_name",
    "row_count",
]

_WS = "[" + "".join(f"\\x{{{ord(ch):x}}}" for ch in WHITESPACE) + "]"
_DEC = "DECIMAL(38, 10)"

#: a join may pair each row with this many events of its user on average; past that, the sorted pass
PAIRS_PER_ROW = 16

#: the value columns an event filter can sum (for ``sum`` and ``avg``) and the totals they give
_VALUES = (("v_sum", "total"), ("v_avg", "average_total"))


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _trimmed(expr: str) -> str:
    return f"regexp_replace({expr}, '^{_WS}+|{_WS}+$', '', 'g')"


def _iso_sql(expr: str, zone: str | None) -> str:
    """A time as Python's ``datetime.isoformat()`` writes it: microseconds only when not zero, and with a
    zone, the value in that zone (as polars gives it to Python) and its offset as ``+HH:MM``."""
    local = expr if zone is None else f"timezone({quote(zone)}, {expr})"
    text = (
        f"strftime({local}, '%Y-%m-%dT%H:%M:%S')"
        f" || CASE WHEN strftime({local}, '%f') = '000000' THEN '' ELSE '.' || strftime({local}, '%f') END"
    )
    if zone is None:
        return text
    off = f"abs((epoch_us({local}) - epoch_us(timezone('UTC', {expr}))) // 1000000)"
    sign = f"CASE WHEN epoch_us({local}) < epoch_us(timezone('UTC', {expr})) THEN '-' ELSE '+' END"
    return (
        f"{text} || {sign} || lpad(CAST({off} // 3600 AS VARCHAR), 2, '0')"
        f" || ':' || lpad(CAST({off} % 3600 // 60 AS VARCHAR), 2, '0')"
        f" || CASE WHEN {off} % 60 = 0 THEN '' ELSE ':' || lpad(CAST({off} % 60 AS VARCHAR), 2, '0') END"
    )


def text_sql(expr: str, dtype: pl.DataType | None) -> str:
    """The text a column compares as (values.as_text, on the value polars gives Python)."""
    if dtype == pl.Boolean:
        return f"CASE WHEN {expr} THEN 'true' ELSE 'false' END"
    if isinstance(dtype, pl.Datetime):
        return _iso_sql(expr, dtype.time_zone)
    if dtype == pl.Time:
        # DuckDB writes 10:00:00.1, Python 10:00:00.100000
        text = f"CAST({expr} AS VARCHAR)"
        return f"CASE WHEN contains({text}, '.') THEN rpad({text}, 15, '0') ELSE {text} END"
    if dtype == pl.Float32:
        # Python reads a float32 as the double it is exactly (0.1 is 0.10000000149011612)
        return f"CAST(CAST({expr} AS DOUBLE) AS VARCHAR)"
    return f"CAST({expr} AS VARCHAR)"


def number_sql(expr: str, dtype: pl.DataType | None) -> str:
    """The number a column stands for, or NULL (values.as_number)."""
    if dtype is not None and dtype.is_numeric():
        return f"TRY_CAST({expr} AS {_DEC})"
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        trimmed = _trimmed(f"CAST({expr} AS VARCHAR)")
        return (
            f"CASE WHEN regexp_full_match({trimmed}, '-?[0-9]+(\\.[0-9]+)?')"
            f" THEN TRY_CAST({trimmed} AS {_DEC}) END"
        )
    return "NULL"


def _number_literal(value: Decimal) -> str:
    return f"CAST('{value}' AS {_DEC})"


def _equals(expr: str, dtype: pl.DataType | None, expected: Any) -> str:
    number = as_number(expected)
    text = f"{text_sql(expr, dtype)} = {quote(as_text(expected))}"
    if number is None:
        return text
    return f"coalesce({number_sql(expr, dtype)} = {_number_literal(number)}, {text})"


def _order(expr: str, dtype: pl.DataType | None, expected: Any, op: str) -> str:
    symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
    number = as_number(expected)
    text = f"{text_sql(expr, dtype)} {symbol} {quote(as_text(expected))}"
    if number is None:
        return text
    return f"coalesce({number_sql(expr, dtype)} {symbol} {_number_literal(number)}, {text})"


def property_sql(rule: PropertyFilter, expr: str | None, dtype: pl.DataType | None) -> str:
    """A boolean (never NULL) SQL expression for one property condition on column ``expr``.

    ``expr`` None: the table has no such column, so the property is never set.
    """
    unset = "true" if rule.op in ("not_equals", "not_in", "not_exists") else "false"
    if expr is None:
        return unset
    options = rule.value if isinstance(rule.value, list) else [rule.value]
    if rule.op == "exists":
        body = "true"
    elif rule.op == "not_exists":
        body = "false"
    elif rule.op in ("equals", "in"):
        body = " OR ".join(f"({_equals(expr, dtype, option)})" for option in options)
    elif rule.op in ("not_equals", "not_in"):
        body = "NOT (" + " OR ".join(f"({_equals(expr, dtype, option)})" for option in options) + ")"
    elif rule.op == "contains":
        body = f"contains({text_sql(expr, dtype)}, {quote(as_text(rule.value))})"
    else:
        body = _order(expr, dtype, rule.value, rule.op)
    return f"(CASE WHEN {expr} IS NULL THEN {unset} ELSE ({body}) END)"


def _bounds(aggregate: Aggregate, total: str, count: str, average: bool) -> list[str]:
    """Bounds on a sum, or on an average written as ``total op bound * count`` (exact; 0 with no events)."""
    checks = []
    for key, symbol in (("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<="), ("equals", "=")):
        bound = getattr(aggregate, key)
        if bound is None:
            continue
        literal = _number_literal(Decimal(repr(bound)))
        if average:
            checks.append(
                f"(CASE WHEN {count} = 0 THEN 0 {symbol} {literal}"
                f" ELSE {total} {symbol} {literal} * {count} END)"
            )
        else:
            checks.append(f"({total} {symbol} {literal})")
    return checks


def _count_checks(rule: EventFilter, count: str) -> list[str]:
    if rule.at_least is None and rule.at_most is None and rule.exactly is None:
        return [f"{count} >= 1"]
    checks = []
    if rule.at_least is not None:
        checks.append(f"{count} >= {rule.at_least}")
    if rule.at_most is not None:
        checks.append(f"{count} <= {rule.at_most}")
    if rule.exactly is not None:
        checks.append(f"{count} = {rule.exactly}")
    return checks


def _interval(text: str) -> str:
    duration = parse_duration(text)
    if duration.is_months:
        return f"INTERVAL {duration.amount} MONTH"
    return f"INTERVAL {duration.seconds} SECOND"


def event_filter_table(
    con: duckdb.DuckDBPyConnection, name: str, rule: EventFilter, rows: str, event_schema: pl.Schema
) -> None:
    """Create temp table ``name(rid, ok)``: does each row of ``rows(rid, identity, received_at)`` pass.

    The counts and sums come from a join of each row with its user's matching events when that makes few
    pairs (the usual case: a few rows and events per user), else from one sorted pass per user, which costs
    the same however many rows and events one user has.
    """

    def column(prop: str) -> tuple[str | None, pl.DataType | None]:
        return (quote_name(prop), event_schema[prop]) if prop in event_schema else (None, None)

    where = [f"event = {quote(rule.event)}", "ts IS NOT NULL"]
    for condition in rule.where:
        where.append(property_sql(condition, *column(condition.property)))
    # the values summed: only for an aggregate the filter has (a filter that only counts sums nothing)
    values = {}
    for label, aggregate in (("v_sum", rule.sum), ("v_avg", rule.avg)):
        if aggregate is not None:
            expr, dtype = column(aggregate.property)
            values[label] = (
                f"coalesce({number_sql(expr, dtype)}, 0)" if expr is not None else f"CAST(0 AS {_DEC})"
            )
    summed = "".join(f", {value} AS {label}" for label, value in values.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_rows AS SELECT rid, identity, received_at FROM {rows}")
    # each event carries its user's number of rows: their sum is how many pairs a join of the two makes
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {name}_ev AS
        SELECT e.*, u.n AS rows_of_user
        FROM (SELECT identity, ts{summed} FROM events WHERE {" AND ".join(where)}) e
        JOIN (SELECT identity, count(*) AS n FROM {name}_rows GROUP BY identity) u
            ON u.identity = e.identity"""
    )
    back = None if rule.within is None else _interval(rule.within)
    if pair_count(con, f"{name}_ev") <= PAIRS_PER_ROW * row_count(con, f"{name}_rows"):
        _joined_totals(con, name, back, list(values))
    else:
        _sorted_totals(con, name, back, list(values))
    checks = _count_checks(rule, "n")
    if rule.sum is not None:
        checks += _bounds(rule.sum, "total", "n", average=False)
    if rule.avg is not None:
        checks += _bounds(rule.avg, "average_total", "n", average=True)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT rid, {"" if rule.did else "NOT "}({" AND ".join(checks)}) AS ok FROM {name}_n"""
    )
    con.execute(f"DROP TABLE {name}_rows; DROP TABLE {name}_ev; DROP TABLE {name}_n")


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def pair_count(con: duckdb.DuckDBPyConnection, events: str) -> int:
    """How many (row, event of the same user) pairs a join of the rows with ``events`` makes, each event
    carrying its user's number of rows (``rows_of_user``)."""
    row = con.execute(f"SELECT coalesce(sum(rows_of_user), 0) FROM {events}").fetchone()
    assert row is not None
    return int(row[0])


def _joined_totals(con: duckdb.DuckDBPyConnection, name: str, back: str | None, summed: list[str]) -> None:
    """``{name}_n(rid, n, total, average_total)`` by pairing each row with its user's events (``back``: the
    look-back window as an SQL interval, or None; ``summed``: the value columns of ``{name}_ev``)."""
    window = "" if back is None else f"AND e.ts >= r.received_at - {back}"
    totals = ", ".join(
        f"coalesce(sum(e.{v}), 0) AS {alias}" if v in summed else f"NULL::{_DEC} AS {alias}"
        for v, alias in _VALUES
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {name}_n AS
        SELECT r.rid, count(e.ts) AS n, {totals}
        FROM {name}_rows r LEFT JOIN {name}_ev e
            ON e.identity = r.identity AND e.ts < r.received_at {window}
        GROUP BY r.rid"""
    )


def _sorted_totals(con: duckdb.DuckDBPyConnection, name: str, back: str | None, summed: list[str]) -> None:
    """``{name}_n(rid, n, total, average_total)`` in one sorted pass per user, whatever the user's counts.

    The user's events and two marks per row (the trigger time and, with a window, its start) in time order,
    marks before events at the same instant: a running total at a mark counts the events strictly before
    it, so the window holds the total at the trigger minus the one at its start.
    """
    zeros = "".join(f", CAST(0 AS {_DEC})" for _ in summed)
    marks = [f"SELECT identity, received_at, 0, rid, 1, 0{zeros} FROM {name}_rows"]
    if back is not None:
        marks.append(f"SELECT identity, received_at - {back}, 0, rid, -1, 0{zeros} FROM {name}_rows")
    values = "".join(f", {v}" for v in summed)
    running = "".join(f", sum({v}) OVER w AS c_{v}" for v in summed)
    totals = ", ".join(
        f"sum(side * c_{v}) AS {alias}" if v in summed else f"NULL::{_DEC} AS {alias}" for v, alias in _VALUES
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {name}_n AS
        WITH stream AS (
            SELECT identity, ts, 1 AS k, NULL::BIGINT AS rid, 0 AS side, 1 AS n{values} FROM {name}_ev
            UNION ALL {" UNION ALL ".join(marks)}),
        running AS (
            SELECT rid, side, sum(n) OVER w AS c_n{running}
            FROM stream
            WINDOW w AS (PARTITION BY identity ORDER BY ts NULLS FIRST, k ROWS UNBOUNDED PRECEDING))
        SELECT rid, sum(side * c_n) AS n, {totals}
        FROM running WHERE rid IS NOT NULL GROUP BY rid"""
    )
