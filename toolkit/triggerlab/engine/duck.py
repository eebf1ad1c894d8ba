"""The DuckDB engine: DESIGN.md's 14 rules as set-based SQL, row for row the reference's decisions.

Stages, each a temp table: ``targets`` (requests, :mod:`.duck_triggers`) -> ``rows`` (profiles matched,
recipient numbers) -> ``s1`` (rules 1-7, audience SQL from :mod:`.duck_filters`) -> ``allot`` (rule 8) ->
rendered rows (rule 9, :mod:`.duck_render`) -> ``sched`` (rules 10-11, :mod:`.duck_schedule`) -> the
per-user pass of rules 12-13 (:mod:`.duck_deliver`) -> outcomes (:mod:`.duck_outcomes`). Only the first
stages copy every row: from rule 8 on, a stage holds the rows the one before left open (rule 8 updates its
few capped rows in ``s1``; ``s3`` is a view of ``s1`` when nothing is rendered; rules 12-13 write their few
non-sent rows into ``sched``), and the outcomes join them once. DuckDB is opened through
:func:`triggerlab.duck.connect`; its session zone is UTC and every wall clock comes from Python's zone data.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from triggerlab.audience import EventFilter, PropertyFilter
from triggerlab.campaign import Campaign
from triggerlab.duck import connect
from triggerlab.engine import common
from triggerlab.engine.clock import valid_zone
from triggerlab.engine.duck_camps import campaign_rows
from triggerlab.engine.duck_certain import certainty_table
from triggerlab.engine.duck_deliver import deliver
from triggerlab.engine.duck_events import NEARLY_ALL, event_spans, relevant_events
from triggerlab.engine.duck_filters import event_filter_table, property_sql, quote, quote_name
from triggerlab.engine.duck_goal import conversion_table
from triggerlab.engine.duck_outcomes import FINAL_REASON, FINAL_STATUS, RECIPIENT, conform, sorted_by_rid
from triggerlab.engine.duck_render import render_rows, renders_any
from triggerlab.engine.duck_schedule import build_offsets, delivery_local_sql, schedule_table
from triggerlab.engine.duck_triggers import load_targets
from triggerlab.engine.duck_triggers_fast import FIRST_TPOS
from triggerlab.engine.inputs import SAMPLE_SIZE, EngineInputs, EngineOutput, zone_warnings
from triggerlab.frames import MESSAGES_SCHEMA, OUTCOMES_SCHEMA
from triggerlab.statuses import STATUSES
from triggerlab.triggers import TO_KINDS

__all__ = ["run_duck"]


class DuckEngine:
    def __init__(
        self,
        inputs: EngineInputs,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
    ) -> None:
        self.inputs = inputs
        self.con = connect(threads=threads)
        # DuckDB spills to ``.tmp`` in the working directory by default: a user's project folder
        self.spill = Path(tempfile.mkdtemp(prefix="triggerlab-duck-"))
        self.con.execute(f"SET temp_directory = {quote(str(self.spill))}")
        if memory_limit is not None:
            # past the limit DuckDB spills to its temp directory instead of growing
            self.con.execute("SET memory_limit = $limit", {"limit": memory_limit})
        #: every zone a row can be in: the valid zones of the profiles, and the workspace's
        self.zones = {inputs.settings.timezone}
        if "timezone" in inputs.profiles.columns:
            named = inputs.profiles["timezone"].drop_nulls().unique().to_list()
            self.zones |= {zone for zone in named if valid_zone(zone)}
        #: whether rule 9 renders any row: if not, the payloads are checked but no stage keeps them
        self.payloads = renders_any(inputs)
        #: (first, last) trigger time of each campaign's rows with a profile (set by relevant_events)
        self.received: dict[str, tuple[datetime, datetime]] = {}
        self._arrow: dict[str, object] = {}
        self._filters: list[str] = []
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"CREATE TYPE tl_status AS ENUM ({', '.join(quote(s) for s in STATUSES)})")
        profiles = inputs.profiles.with_row_index("__pidx").with_columns(pl.col("__pidx").cast(pl.Int64))
        self.profile_schema = inputs.profiles.schema
        self._view("prof", profiles)
        self._view("history", inputs.history)
        self._table("camps", campaign_rows(inputs))

    def _view(self, name: str, frame: pl.DataFrame) -> None:
        """Big inputs are read in place (Arrow, zero copy), not copied into DuckDB."""
        # the newest Arrow layout is polars' own (string views): older layouts copy every string
        self._arrow[name] = frame.to_arrow(compat_level=pl.CompatLevel.newest())
        self.con.register(name, self._arrow[name])

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.spill, ignore_errors=True)

    def release(self, name: str) -> None:
        """Unregister an input read in place and let its frame go."""
        self.con.unregister(name)
        del self._arrow[name]

    def _table(self, name: str, frame: pl.DataFrame) -> None:
        self.con.register(f"{name}_frame", frame.to_arrow(compat_level=pl.CompatLevel.newest()))
        self.sql(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_frame")
        self.con.unregister(f"{name}_frame")

    def drop(self, *tables: str) -> None:
        """Free a stage's tables once the next stage holds what it needs (peak memory: the largest stage)."""
        for table in tables:
            self.sql(f"DROP TABLE IF EXISTS {table}")

    def narrow(self, table: str, *kept: str) -> None:
        """Drop every column of ``table`` but ``kept`` once no later stage reads them (DuckDB frees the
        columns at once, with no copy of the rest)."""
        columns = self.sql(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()
        for (name,) in columns:
            if name not in kept:
                self.sql(f"ALTER TABLE {table} DROP COLUMN {quote_name(name)}")

    def drop_views(self, *views: str) -> None:
        """Stages read once are views (no copy of every row): dropped before the tables they read."""
        for view in views:
            self.sql(f"DROP VIEW IF EXISTS {view}")

    def filter_tables(self) -> list[str]:
        return list(self._filters)

    def sql(self, statement: str, params: dict[str, object] | None = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(statement, params or {})

    def frame(self, query: str, params: dict[str, object] | None = None) -> pl.DataFrame:
        frame: pl.DataFrame = self.con.sql(query, params=params or {}).pl()
        return frame

    # ---- rows: targets x matching profiles ------------------------------------------------------------

    def _buckets_per_profile(self, known: list[str], kinds: int, rows: int) -> bool:
        """Whether each profile key computes its bucket in every campaign (one md5 per key and campaign)
        rather than each of the ``rows`` its own (one md5 per row): when the keys times the campaigns are
        fewer (10M rows of 3 campaigns over 1M profiles: 3M md5s instead of 10M, 0.6 s of 0.9)."""
        if not known or len(known) > _BUCKET_COLUMNS:
            return False
        return len(known) * kinds * self.inputs.profiles.height < rows

    def rows(self) -> None:
        # the valid targets by kind of key: the kinds to join on, and how many rows there are
        counted = dict(
            self.sql("SELECT kind, count(*) FROM targets WHERE invalid IS NULL GROUP BY kind").fetchall()
        )
        kinds = [k for k in TO_KINDS if k in self.profile_schema and k in counted] or ["identity"]
        zone_expr = "NULL"
        if "timezone" in self.profile_schema:
            zone_expr = f"CASE WHEN list_contains({_list(sorted(self.zones))}, timezone) THEN timezone END"
        # each key carries the profile's identity, zone and system bucket (a user's, whatever the campaign:
        # one md5 per profile, not per row), so the batch joins the profiles once
        identity = "CAST(identity AS VARCHAR)"
        system = _BUCKET.format(salt=quote(common.SYSTEM_SALT), identity=identity)
        known = sorted(self.inputs.campaigns)
        per_profile = self._buckets_per_profile(known, len(kinds), sum(counted.values()))
        campaign_buckets = "".join(
            f", {_BUCKET.format(salt=quote(cid), identity=identity)}::UTINYINT AS p_b{index}"
            for index, cid in enumerate(known if per_profile else [])
        )
        keys = " UNION ALL ".join(
            f"SELECT '{k}' AS kind, CAST({quote_name(k)} AS VARCHAR) AS value, __pidx AS pidx,"
            f" {identity} AS p_identity, {zone_expr} AS p_zone, {system}::UTINYINT AS p_sys"
            f"{campaign_buckets} FROM prof"
            f" WHERE {quote_name(k)} IS NOT NULL"
            for k in kinds
        )
        self.sql(f"CREATE OR REPLACE TEMP TABLE tl_keys AS {keys}")
        # a row's campaign bucket (rows with a known campaign and a profile): read from its key's column for
        # the campaign, or an md5 of its own
        if per_profile:
            bucket = (
                "CASE t.campaign_id "
                + " ".join(f"WHEN {quote(cid)} THEN k.p_b{index}" for index, cid in enumerate(known))
                + " END"
            )
        else:
            bucket = (
                f"CASE WHEN k.pidx IS NOT NULL AND list_contains({_list(known)}, t.campaign_id) THEN "
                f"{_BUCKET.format(salt='t.campaign_id', identity='k.p_identity')}::UTINYINT END"
            )
        # with one kind of key, the join is on the value alone (a string key less to hash and compare)
        same = (
            f"t.kind = {quote(kinds[0])} AND {{k}}.value = t.value"
            if len(kinds) == 1
            else "{k}.kind = t.kind AND {k}.value = t.value"
        )
        # a line can have several recipients only if it has a row besides its first possible one (several
        # pairs, or a request of a ``d`` list) or its key belongs to several profiles: a small superset of the
        # lines with several recipients, found without grouping the whole batch (a line in it with one
        # recipient is numbered 0 all the same)
        self.sql(
            f"""CREATE OR REPLACE TEMP TABLE tl_multi AS
            SELECT DISTINCT line FROM targets WHERE (el, ipos, tpos) IS DISTINCT FROM (0, 1, {FIRST_TPOS})
            UNION
            SELECT DISTINCT t.line FROM targets t
            SEMI JOIN (SELECT kind, value FROM tl_keys GROUP BY ALL HAVING count(*) > 1) d
                ON t.invalid IS NULL AND {same.format(k="d")}"""
        )
        # the payloads are carried only when rule 9 will read some (the widest column of every row)
        payload = "payload" if self.payloads else "NULL::VARCHAR AS payload"
        columns = f"line, request_id, received_at, campaign_id, kind, value, {payload}, invalid"
        matched = f"""SELECT t.*, k.pidx, coalesce(k.p_identity, t.value) AS identity,
                   coalesce(k.p_zone, $ws) AS zone, k.p_sys AS sys_bucket, {bucket} AS bucket
            FROM {{targets}} t
            LEFT JOIN tl_keys k ON t.invalid IS NULL AND {same.format(k="k")}"""
        single = matched.format(targets=f"(SELECT {columns} FROM targets ANTI JOIN tl_multi USING (line))")
        several = matched.format(targets="(FROM targets SEMI JOIN tl_multi USING (line))")
        # the key's kind and value only name an unknown user (the others' identity is their profile's)
        kept = (
            "request_id, received_at, campaign_id, CASE WHEN pidx IS NULL THEN kind END AS kind,"
            f" CASE WHEN pidx IS NULL THEN value END AS value, {payload}, invalid"
        )
        # no line or recipient: the rid holds both
        self.sql(
            f"""CREATE OR REPLACE TEMP TABLE rows AS
            SELECT line << 32 AS rid, {kept}, pidx, identity, zone, sys_bucket, bucket
            FROM ({single})
            UNION ALL
            SELECT (line << 32) + recipient AS rid, * EXCLUDE (line, recipient) FROM (
                SELECT line, {kept}, pidx,
                       row_number() OVER (PARTITION BY line ORDER BY el, ipos, tpos, pidx) - 1 AS recipient,
                       identity, zone, sys_bucket, bucket
                FROM ({several}))""",
            {"ws": self.inputs.settings.timezone},
        )
        self.drop("tl_keys", "tl_multi")

    def relevant_events(self) -> None:
        """``events``: only what the audience filters and goals can read (:mod:`.duck_events`)."""
        self.received = received = {
            cid: (first.astimezone(UTC), last.astimezone(UTC))
            for cid, first, last in self.sql(
                """SELECT campaign_id, min(received_at), max(received_at) FROM rows
                WHERE pidx IS NOT NULL GROUP BY campaign_id"""
            ).fetchall()
        }
        population = self.inputs.profiles.height
        # the users are listed only when the batch may name few enough of them for the list to cut anything
        # (an estimate of their number decides: it only chooses how the events are cut, never what is kept)
        ((estimate,),) = self.sql("SELECT approx_count_distinct(pidx) FROM rows").fetchall()
        identities = (
            None
            if estimate >= NEARLY_ALL * population
            else self.frame("SELECT DISTINCT identity FROM rows WHERE pidx IS NOT NULL")["identity"]
        )
        spans = event_spans(self.inputs.campaigns, received)
        cut = relevant_events(self.inputs.events, identities, population, spans, self.inputs.campaigns)
        self._view("events", cut)

    # ---- rules 1-7 ------------------------------------------------------------------------------------

    def _segment(self, cid: str, campaign: Campaign) -> str:
        """``SELECT rid, ok`` for the candidates of one campaign with filters.

        Property conditions are cheap and come first; event filters are evaluated only for rows they can still
        decide (under ``all``, rows whose property conditions hold; under ``any``, rows whose do not).
        """
        every = campaign.audience.match == "all"
        glue = " AND " if every else " OR "
        properties = [
            property_sql(
                rule,
                f"p.{quote_name(rule.property)}" if rule.property in self.profile_schema else None,
                self.profile_schema.get(rule.property),
            )
            for rule in campaign.audience.filters
            if isinstance(rule, PropertyFilter)
        ]
        settled = glue.join(properties) if properties else ("true" if every else "false")
        open_rows = (
            f"(SELECT s.* FROM seg_cand s JOIN prof p ON p.__pidx = s.pidx"
            f" WHERE s.campaign_id = {quote(cid)} AND {'' if every else 'NOT '}({settled}))"
        )
        joins, terms = [], list(properties)
        for rule in campaign.audience.filters:
            if isinstance(rule, EventFilter):
                name = f"ef_{len(self._filters)}"
                self._filters.append(name)
                event_filter_table(self.con, name, rule, open_rows, self.inputs.events.schema)
                joins.append(f"LEFT JOIN {name} ON {name}.rid = s.rid")
                terms.append(f"coalesce({name}.ok, false)")
        return (
            f"SELECT s.rid, ({glue.join(terms)}) AS ok FROM seg_cand s JOIN prof p ON p.__pidx = s.pidx "
            f"{' '.join(joins)} WHERE s.campaign_id = {quote(cid)}"
        )

    def stateless(self) -> None:
        # the candidates of the campaigns with an audience (the others' rows are all in their segment)
        filtered = [cid for cid, c in self.inputs.campaigns.items() if c.audience.filters]
        self.sql(
            """CREATE OR REPLACE TEMP TABLE seg_cand AS
            SELECT r.rid, r.campaign_id, r.identity, r.received_at, r.pidx FROM rows r
                JOIN camps c USING (campaign_id)
            WHERE r.invalid IS NULL AND r.pidx IS NOT NULL AND list_contains($filtered, r.campaign_id)
              AND (c.sched_start IS NULL OR r.received_at >= c.sched_start)
              AND (c.sched_end IS NULL OR r.received_at < c.sched_end)""",
            {"filtered": filtered},
        )
        parts = [self._segment(cid, self.inputs.campaigns[cid]) for cid in filtered]
        segment = (
            " UNION ALL ".join(parts)
            if parts
            else "SELECT NULL::BIGINT AS rid, NULL::BOOLEAN AS ok WHERE false"
        )
        # only the rows out of their segment: the table s1 joins by rid is no larger than it must be
        self.sql(f"CREATE OR REPLACE TEMP TABLE seg AS SELECT rid FROM ({segment}) WHERE NOT ok")
        self.sql(
            """CREATE OR REPLACE TEMP TABLE s1 AS
            WITH b AS (
                -- the buckets come with the rows (rows: the system's per profile, the campaign's too when
                -- there are fewer profiles than rows)
                SELECT r.*, c.campaign_id IS NOT NULL AS known, c.sched_start, c.sched_end, c.control_group,
                       c.system, g.rid IS NULL AS in_segment
                FROM rows r LEFT JOIN camps c ON r.invalid IS NULL AND c.campaign_id = r.campaign_id
                LEFT JOIN seg g ON g.rid = r.rid)
            SELECT rid, request_id, received_at, campaign_id, identity, zone, pidx,
                bucket,
                   -- a status is one byte per row (most rows' reason is one of a few texts, filled in at
                   -- the end: see FINAL_REASON)
                   CAST(CASE WHEN invalid IS NOT NULL THEN 'invalid_request'
                        WHEN NOT known THEN 'unknown_campaign'
                        WHEN sched_start IS NOT NULL AND received_at < sched_start THEN 'campaign_inactive'
                        WHEN sched_end IS NOT NULL AND received_at >= sched_end THEN 'campaign_inactive'
                        WHEN pidx IS NULL THEN 'unknown_user'
                        WHEN NOT in_segment THEN 'not_in_segment'
                        WHEN system AND sys_bucket < $system THEN 'system_control'
                        WHEN bucket < control_group THEN 'control' END AS tl_status) AS status,
                   CASE WHEN invalid IS NOT NULL THEN invalid
                        WHEN NOT known
                            THEN 'campaign ' || campaign_id || ' is not among the simulated campaigns'
                        WHEN sched_start IS NOT NULL AND received_at < sched_start THEN $early
                        WHEN sched_end IS NOT NULL AND received_at >= sched_end THEN $late
                        WHEN pidx IS NULL THEN 'no profile has ' || kind || ' ' || value END AS reason
            FROM b""",
            {
                "system": self.inputs.settings.system_control_group,
                "early": common.INACTIVE_EARLY,
                "late": common.INACTIVE_LATE,
            },
        )

    # ---- rule 8 ---------------------------------------------------------------------------------------

    def allot(self) -> None:
        self.sql(
            """CREATE OR REPLACE TEMP TABLE allot AS
            -- only campaigns with a targeting cap allot (the others' rows are never numbered or sorted)
            WITH capped AS (SELECT campaign_id FROM camps WHERE cap IS NOT NULL),
            known AS (SELECT DISTINCT campaign_id, identity FROM history
                      WHERE campaign_id IN (SELECT campaign_id FROM capped)),
            known_n AS (SELECT campaign_id, count(*) AS n FROM known GROUP BY campaign_id),
            -- each user's first row (a struct compares field by field): a hash aggregate, not a sort
            firsts AS (
                SELECT campaign_id, identity, first.received_at, first.rid FROM (
                    SELECT campaign_id, identity, min({'received_at': received_at, 'rid': rid}) AS first
                    FROM s1 WHERE status IS NULL AND campaign_id IN (SELECT campaign_id FROM capped)
                    GROUP BY campaign_id, identity)),
            fresh AS (
                SELECT f.*, row_number() OVER (PARTITION BY f.campaign_id ORDER BY received_at, rid) AS k
                FROM firsts f ANTI JOIN known USING (campaign_id, identity))
            SELECT f.campaign_id, f.identity, c.reason_capped FROM fresh f JOIN camps c USING (campaign_id)
            LEFT JOIN known_n n USING (campaign_id)
            WHERE c.cap IS NOT NULL AND coalesce(n.n, 0) + f.k > c.cap"""
        )
        # the few capped rows are updated in place: a view joining the allotment to every row was read three
        # times (rules 9-10, goals, outcomes), each a probe of every row on two texts (0.3 s at 10M rows)
        self.sql(
            """UPDATE s1 SET status = 'target_capped', reason = a.reason_capped FROM allot a
            WHERE s1.status IS NULL AND s1.campaign_id = a.campaign_id AND s1.identity = a.identity"""
        )

    # ---- rules 9-11 -----------------------------------------------------------------------------------

    def render(self, progress: bool) -> None:
        """Rule 9: ``s3``, every row with its status after rules 1-9 (the base of the outcomes)."""
        # payloads stay in ``rows`` until here: only the rows rendered read them, no stage copies them
        self.sql(
            """CREATE OR REPLACE TEMP VIEW at9 AS
            SELECT s.*, r.payload FROM s1 s JOIN rows r USING (rid) WHERE s.status IS NULL"""
        )
        rendered = render_rows(self.con, "at9", self.inputs, progress)
        self.drop_views("at9")
        self.drop("rows")
        if rendered.is_empty():
            # nothing rendered (every campaign always renders, static mode): rule 9 changes no row, so s3 is
            # s1 itself, not a copy of every row
            self.sql(
                """CREATE OR REPLACE TEMP VIEW s3 AS
                SELECT *, NULL::VARCHAR[] AS missing_keys, NULL::VARCHAR AS fields FROM s1"""
            )
            return
        self._table("rendered", rendered)
        self.sql(
            """CREATE OR REPLACE TEMP TABLE s3 AS
            SELECT s.* REPLACE (coalesce(s.status, r.r_status) AS status,
                                CASE WHEN s.status IS NULL THEN r.r_reason ELSE s.reason END AS reason),
                   r.missing_keys, r.fields
            FROM s1 s LEFT JOIN rendered r USING (rid)"""
        )
        self.drop("s1", "allot", "rendered")

    def schedule(self) -> None:
        """Rules 10-11: ``sched`` holds the rows reaching rule 10 with what rules 12-13 read of them.

        Offsets cover every instant a row or the history can need: the rows reaching rule 10 have a profile
        and a campaign, so their trigger times are within ``received``; their zones are within ``zones``.
        """
        instants = [t for span in self.received.values() for t in span]
        sent_at = self.inputs.history["sent_at"].drop_nulls()
        if not sent_at.is_empty():
            instants += [sent_at.min(), sent_at.max()]  # type: ignore[list-item]
        if instants:
            build_offsets(self.con, sorted(self.zones), min(instants).date(), max(instants).date())
        else:
            build_offsets(self.con, [], datetime(2000, 1, 1).date(), datetime(2000, 1, 1).date())
        self.sql(
            """CREATE OR REPLACE TEMP VIEW at10 AS
            SELECT rid, received_at, zone, campaign_id, identity FROM s3
            WHERE status IS NULL"""
        )
        schedule_table(self.con, "at10")

    # ---- rules 12-13 ----------------------------------------------------------------------------------

    def deliver(self) -> None:
        """Rules 12-13: rows certainly sent by an over-count (SQL), the rest user by user (Python); those not
        sent get their status and reason in ``sched``."""
        self.sql(
            """CREATE OR REPLACE TEMP TABLE c12 AS
            SELECT s.rid, s.identity, s.zone, s.campaign_id, c.channel, s.delivery_at AS moment,
                s.received_at, wall_at(s.delivery_at, s.off_d) AS wall
            FROM sched s JOIN camps c USING (campaign_id)
            WHERE s.status IS NULL AND s.off_d IS NOT NULL"""
        )
        self.sql(
            """CREATE OR REPLACE TEMP TABLE h12 AS
            WITH users AS (SELECT identity, any_value(zone) AS zone, max(moment) AS last
                FROM c12 GROUP BY identity)
            SELECT h.identity, h.campaign_id, h.channel, h.sent_at AS moment, wall_at(h.sent_at,
                o.off) AS wall
            FROM history h JOIN users u ON u.identity = h.identity AND h.sent_at <= u.last
            JOIN tz_ranges o ON o.zone = u.zone AND h.sent_at >= o.since AND h.sent_at < o.until
                AND o.off IS NOT NULL"""
        )
        certainty_table(
            self.con, "c12", "h12", self.inputs.campaigns, self.inputs.settings, offsets="tz_ranges"
        )
        self.sql(
            """CREATE OR REPLACE TEMP TABLE unsure AS
            SELECT DISTINCT c.identity FROM c12 c JOIN certain USING (rid) WHERE NOT certain.ok"""
        )
        # every row of those users, in order: the certain ones are sent (whatever came before them) but are
        # deliveries the others must count
        waiting = self.frame(
            """SELECT c.rid, c.identity, c.campaign_id, c.moment AS delivery_at, c.wall, k.ok AS sure
            FROM c12 c SEMI JOIN unsure USING (identity) JOIN certain k USING (rid)
            ORDER BY c.moment, c.received_at, c.rid"""
        )
        history = self.frame(
            """SELECT identity, moment AS sent_at, wall, channel, campaign_id FROM h12 SEMI
                JOIN unsure USING (identity)
            ORDER BY moment"""
        )
        decided = deliver(waiting, history, self.inputs.campaigns, self.inputs.settings)
        # the few rows not sent get their status in ``sched``; a row reaching rule 12 that keeps no status
        # there is sent (no table of every row's final status)
        self._table("decided_pass", decided.filter(pl.col("status") != "sent"))
        self.sql(
            """UPDATE sched SET status = p.status, reason = p.reason FROM decided_pass p
            WHERE sched.rid = p.rid"""
        )

    # ---- outcomes -------------------------------------------------------------------------------------

    def outcomes(self) -> pl.DataFrame:
        """One row per recipient with its ``rid``, unsorted: a sort of every wide row in DuckDB spills at 10M
        rows; :func:`run_duck` sorts by ``rid`` (the order of line, recipient) in polars instead."""
        # the rows of the two groups: control rows are decided by rule 7, sent rows by rules 12-13
        self.sql(
            """CREATE OR REPLACE TEMP TABLE grouped AS
            SELECT s.rid, s.identity, c.goal_event, s.received_at,
                   CASE WHEN c.goal_mo IS NOT NULL THEN s.received_at + to_months(c.goal_mo)
                        ELSE s.received_at + to_seconds(c.goal_s) END AS closes
            FROM (SELECT rid, identity, campaign_id, received_at FROM s3 WHERE status = 'control'
                  UNION ALL
                  SELECT rid, identity, campaign_id, received_at FROM sched WHERE status IS NULL) s
            JOIN camps c USING (campaign_id)
            WHERE c.goal_event IS NOT NULL"""
        )
        conversion_table(self.con, "grouped")
        self.drop("grouped")
        self.narrow("sched", "rid", "delivery_at", "off_d", "suffix_d", "status", "reason")
        self.release("events")
        # the delivery offset and its text come from rule 10's span lookup (no lookup of every row here)
        local = delivery_local_sql("t.delivery_at", "t.off_d", "t.suffix_d")
        # ``conv`` lists the rows that convert; the others of the two groups of a campaign with a goal do not
        goals = sorted(cid for cid, campaign in self.inputs.campaigns.items() if campaign.goal is not None)
        frame = self.frame(
            f"""SELECT f.rid, f.request_id, f.campaign_id, f.identity, f.received_at,
                   {FINAL_STATUS} AS status, {FINAL_REASON} AS reason, f.bucket, t.delivery_at,
                   CASE WHEN t.off_d IS NOT NULL THEN {local} END AS delivery_local,
                   CASE WHEN t.delivery_at IS NOT NULL THEN t.delivery_at > f.received_at END AS delayed,
                   f.missing_keys,
                   CASE WHEN v.rid IS NOT NULL THEN true
                        WHEN list_contains({_list(goals)}, f.campaign_id)
                             AND (f.status = 'control' OR (f.status IS NULL AND t.status IS NULL)) THEN false
                   END AS converted
            FROM s3 f LEFT JOIN sched t USING (rid) LEFT JOIN conv v USING (rid)"""
        )
        self.drop("conv")
        return frame

    def messages(self) -> pl.DataFrame | None:
        if self.inputs.render == "static":
            return None
        return self.frame(
            f"""SELECT f.request_id, f.rid & {RECIPIENT} AS recipient, f.campaign_id, f.identity,
                   {FINAL_STATUS} AS status, t.delivery_at, f.fields
            FROM (SELECT *, row_number() OVER (PARTITION BY campaign_id ORDER BY rid) AS nth FROM s3
                  WHERE fields IS NOT NULL) f
            LEFT JOIN sched t USING (rid)
            WHERE $all OR nth <= $size ORDER BY f.rid""",
            {"all": self.inputs.render == "all", "size": SAMPLE_SIZE},
        )


#: a user's bucket (0-99) for a salt: a campaign id, or the system control group's
_BUCKET = "((md5_number({salt} || '|' || {identity}) >> 64)::UBIGINT % 100)::BIGINT"

#: the most campaigns whose buckets the profile keys carry, a column each (see _buckets_per_profile)
_BUCKET_COLUMNS = 16


def _list(values: list[str]) -> str:
    return "[" + ", ".join(quote(v) for v in values) + "]::VARCHAR[]"


def run_duck(
    source: str | Path | pl.DataFrame,
    inputs: EngineInputs,
    *,
    at: datetime | None = None,
    progress: bool = False,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> tuple[int, EngineOutput]:
    """Decide every row of a batch with DuckDB; returns (requests, output).

    ``memory_limit`` (DuckDB's setting, like ``"4GB"``) bounds DuckDB's own memory; it spills past it.
    """
    engine = DuckEngine(inputs, threads=threads, memory_limit=memory_limit)
    try:
        requests = load_targets(engine.con, source, inputs.settings, at, payloads=engine.payloads)
        engine.rows()
        engine.drop("targets")
        engine.relevant_events()
        engine.stateless()
        engine.drop("seg_cand", "seg", *engine.filter_tables())
        engine.allot()
        engine.render(progress)
        engine.schedule()
        engine.drop_views("at10")
        engine.deliver()
        engine.drop("c12", "h12", "certain", "unsure", "decided_pass")
        messages = engine.messages()
        unsorted = engine.outcomes().get_columns()
    finally:
        engine.close()
    # sorted once DuckDB has let go of its tables, so the two never hold memory at the same time
    outcomes = conform(sorted_by_rid(unsorted), OUTCOMES_SCHEMA)
    output = EngineOutput(
        outcomes,
        None if messages is None else conform(messages, MESSAGES_SCHEMA),
        zone_warnings(inputs.profiles, inputs.settings),
    )
    return requests, output
