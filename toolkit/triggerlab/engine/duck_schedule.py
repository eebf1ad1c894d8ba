"""Rules 10-11 in DuckDB: DND delivery times, expiry, and local wall-clock times from Python's zone data.

Offsets come from the temp table ``tz_offsets(zone, since, off)`` built from zoneinfo by
:func:`triggerlab.engine.clock.transitions` and read as spans (``tz_ranges``: an as-of lookup as a hash join
on the zone), so DuckDB and the reference agree on every offset. The DND time is
:func:`triggerlab.engine.clock.dnd_delivery` unrolled: the wall clock reaches the window's end, unless an
offset change comes first, and then the same question is asked once more from that change.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from triggerlab.engine.clock import transitions
from triggerlab.engine.common import EXPIRED_END
from triggerlab.engine.duck_filters import quote_name

__all__ = ["build_offsets", "delivery_local_sql", "schedule_table"]

_MACROS = """
CREATE OR REPLACE TEMP MACRO dnd_inside(t, s, e) AS
    CASE WHEN s = e THEN false WHEN s < e THEN t >= s AND t < e ELSE t >= s OR t < e END;
CREATE OR REPLACE TEMP MACRO dnd_reach(wall, e) AS
    CASE WHEN wall::DATE + e <= wall THEN wall::DATE + e + INTERVAL 1 DAY ELSE wall::DATE + e END;
CREATE OR REPLACE TEMP MACRO wall_at(instant, off) AS instant::TIMESTAMP + to_seconds(off);
CREATE OR REPLACE TEMP MACRO instant_at(wall, off) AS (wall - to_seconds(off))::TIMESTAMPTZ;
"""


def build_offsets(con: duckdb.DuckDBPyConnection, zones: list[str], first: date, last: date) -> None:
    """``tz_offsets(zone, since, off)``: each zone's offset (seconds) from ``since`` on."""
    con.execute(_MACROS)
    rows = transitions(zones, first - timedelta(days=2), last + timedelta(days=40))
    con.execute("CREATE OR REPLACE TEMP TABLE tz_offsets (zone VARCHAR, since TIMESTAMPTZ, off INTEGER)")
    if rows:
        con.executemany("INSERT INTO tz_offsets VALUES (?, ?, ?)", rows)
    # Each offset as a span [since, until) with the change that ends it: looked up with a hash join on the
    # zone (a few spans each), not an as-of join, which sorts every row. A first span per zone before its
    # first entry (off NULL) keeps as-of semantics for earlier instants.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE tz_ranges AS
        WITH spans AS (
            SELECT zone, since, off FROM tz_offsets
            UNION ALL
            SELECT zone, '-infinity'::TIMESTAMPTZ, NULL FROM tz_offsets GROUP BY zone),
        written AS (SELECT *, {_suffix_sql("off")} AS suffix FROM spans)
        SELECT zone, since, lead(since) OVER w AS change,
               coalesce(lead(since) OVER w, 'infinity'::TIMESTAMPTZ) AS until,
               coalesce(lead(since, 2) OVER w, 'infinity'::TIMESTAMPTZ) AS next_until,
               off, lead(off) OVER w AS next_off, suffix, lead(suffix) OVER w AS next_suffix
        FROM written WINDOW w AS (PARTITION BY zone ORDER BY since)"""
    )


def schedule_table(con: duckdb.DuckDBPyConnection, rows: str) -> None:
    """``sched`` for ``rows(rid, received_at, zone, campaign_id, ...)`` reaching rule 10: every column of
    ``rows`` (the later stages read them here, not from a copy of every row), ``delivery_at``, ``status``
    and ``reason``; campaign settings come from ``camps``. Also the zone's offset at ``delivery_at``
    (``off_d``) and its ``+HH:MM`` text (``suffix_d``): the span lookup that found the delivery time knows
    its offset, so neither rule 12 nor the outcomes look it up again (10M rows: 0.75 s less).

    The delivery time lies in the span of the trigger time, or at or after the change that ends it; in the
    span that change opens unless a second change comes first (no zone changes twice within a day, but
    the spans can say so): those rows look their offset up afterwards."""
    names = con.execute(f"SELECT column_name FROM (DESCRIBE {rows})").fetchall()
    kept = ", ".join(quote_name(name) for (name,) in names)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE sched AS
        WITH base AS (
            SELECT r.*, c.dnd_start::TIME AS dnd_start, c.dnd_end::TIME AS dnd_end,
                c.dnd_discard, c.sched_end, c.max_delay_s,
                   c.max_delay_mo, c.reason_dnd, c.reason_delay, c.dnd_start IS NOT NULL AS has_dnd,
                   o.off AS off_r, o.change, o.next_off AS off_c, o.next_until AS until_c,
                   o.suffix AS suffix_r, o.next_suffix AS suffix_c
            FROM {rows} r JOIN camps c USING (campaign_id)
            LEFT JOIN tz_ranges o
                ON o.zone = r.zone AND r.received_at >= o.since AND r.received_at < o.until),
        inside AS (
            SELECT *, has_dnd AND dnd_inside(wall_at(received_at, off_r)::TIME, dnd_start, dnd_end) AS held
            FROM base),
        first_reach AS (
            -- only for rows inside the window (written once, so it is not computed for every row)
            SELECT *,
                   CASE WHEN held THEN instant_at(dnd_reach(wall_at(received_at, off_r), dnd_end), off_r) END
                       AS reach
            FROM inside),
        timed AS (
            SELECT *,
                   CASE WHEN NOT held THEN received_at
                        WHEN change IS NULL OR change > reach THEN reach
                        WHEN NOT dnd_inside(wall_at(change, off_c)::TIME, dnd_start, dnd_end) THEN change
                        ELSE instant_at(dnd_reach(wall_at(change, off_c), dnd_end), off_c) END AS delivery_at
            FROM first_reach),
        placed AS (
            -- the span holding the delivery time: the trigger's, or the next one (NULL: a second change)
            SELECT *, CASE WHEN delivery_at < coalesce(change, 'infinity'::TIMESTAMPTZ) THEN 'r'
                           WHEN delivery_at < until_c THEN 'c' END AS span
            FROM timed),
        kept AS (
            SELECT *, has_dnd AND dnd_discard AND delivery_at <> received_at AS discarded,
                   CASE span WHEN 'r' THEN off_r WHEN 'c' THEN off_c END AS off_at,
                   CASE span WHEN 'r' THEN suffix_r WHEN 'c' THEN suffix_c END AS suffix_at
            FROM placed)
        SELECT {kept},
               CASE WHEN discarded THEN NULL ELSE delivery_at END AS delivery_at,
               CASE WHEN NOT discarded THEN off_at END AS off_d,
               CASE WHEN NOT discarded THEN suffix_at END AS suffix_d,
               CASE WHEN discarded THEN 'dnd_discarded'
                    WHEN sched_end IS NOT NULL AND delivery_at >= sched_end THEN 'expired'
                    WHEN max_delay_s IS NOT NULL AND delivery_at > received_at + to_seconds(max_delay_s)
                        THEN 'expired'
                    WHEN max_delay_mo IS NOT NULL AND delivery_at > received_at + to_months(max_delay_mo)
                        THEN 'expired' END AS status,
               CASE WHEN discarded THEN reason_dnd
                    WHEN sched_end IS NOT NULL AND delivery_at >= sched_end THEN $end_reason
                    WHEN delivery_at > received_at + to_seconds(coalesce(max_delay_s, 0))
                         AND max_delay_s IS NOT NULL THEN reason_delay
                    WHEN max_delay_mo IS NOT NULL AND delivery_at > received_at + to_months(max_delay_mo)
                        THEN reason_delay END AS reason
        FROM kept""",
        {"end_reason": EXPIRED_END},
    )
    # the rare rows whose delivery time is past a second change: their offset looked up in the spans
    con.execute(
        """UPDATE sched SET off_d = o.off, suffix_d = o.suffix FROM tz_ranges o
        WHERE sched.delivery_at IS NOT NULL AND sched.off_d IS NULL AND o.zone = sched.zone
            AND sched.delivery_at >= o.since AND sched.delivery_at < o.until AND o.off IS NOT NULL"""
    )


def _suffix_sql(off: str) -> str:
    """The ``+HH:MM`` (``+HH:MM:SS``) text of offset ``off`` (seconds), as Python's isoformat writes it."""
    sign = f"CASE WHEN {off} < 0 THEN '-' ELSE '+' END"
    size = f"abs({off})"
    seconds = f"CASE WHEN {size} % 60 <> 0 THEN ':' || lpad(({size} % 60)::VARCHAR, 2, '0') ELSE '' END"
    return (
        f"{sign} || lpad(({size} // 3600)::VARCHAR, 2, '0') || ':'"
        f" || lpad((({size} % 3600) // 60)::VARCHAR, 2, '0') || {seconds}"
    )


def delivery_local_sql(instant: str, off: str, suffix: str) -> str:
    """ISO text of ``instant`` on the wall clock of offset ``off`` (seconds), as Python's isoformat has it;
    ``suffix`` is the offset's text (``tz_ranges.suffix``: written once per span, not once per row)."""
    wall = f"wall_at({instant}, {off})"
    micro = f"microsecond({wall}) % 1000000"
    return (
        f"strftime({wall}, '%Y-%m-%dT%H:%M:%S')"
        f" || CASE WHEN {micro} <> 0 THEN '.' || lpad(({micro})::VARCHAR, 6, '0') ELSE '' END"
        f" || {suffix}"
    )
