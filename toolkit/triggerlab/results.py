"""What a simulation forecasts: one row per recipient, and the funnel, timeline, uplift and summary of them.

:func:`triggerlab.simulate` builds a :class:`SimulationResult`; every figure here is computed from its
frames, so two engines that agree row for row give the same summary and report.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from triggerlab.campaign import Campaign
from triggerlab.conversion import campaign_uplift, non_numeric_warnings
from triggerlab.durations import parse_duration
from triggerlab.errors import InputError, SimulationError
from triggerlab.frames import (
    GOAL_EVENTS_SCHEMA,
    HISTORY_ALLOTTED_SCHEMA,
    MESSAGES_SCHEMA,
    OUTCOMES_SCHEMA,
    UPLIFT_SCHEMA,
    check_frame,
    empty,
)
from triggerlab.settings import Settings
from triggerlab.stats import Uplift
from triggerlab.statuses import ALLOTTED_STATUSES, STATUSES

if TYPE_CHECKING:
    from triggerlab.charts import Charts

__all__ = ["SimulationResult"]

#: ``funnel(by_campaign=True)``: the column for rows of no simulated campaign (unknown or unreadable ids)
OTHER = "other"


class SimulationResult:
    """The forecast of one simulation.

    ``outcomes`` has one row per recipient (columns in :data:`triggerlab.frames.OUTCOMES_SCHEMA`);
    ``goal_events`` and ``history_allotted`` feed uplift and allotment; ``messages`` holds rendered messages
    when the simulation rendered some. Built by :func:`triggerlab.simulate`.
    """

    def __init__(
        self,
        *,
        outcomes: pl.DataFrame,
        campaigns: Sequence[Campaign],
        settings: Settings | None = None,
        requests: int,
        warnings: Sequence[str] = (),
        goal_events: pl.DataFrame | None = None,
        history_allotted: pl.DataFrame | None = None,
        messages: pl.DataFrame | None = None,
    ) -> None:
        self.outcomes = check_frame("outcomes", outcomes, OUTCOMES_SCHEMA)
        unnamed = [c.name for c in campaigns if c.id is None]
        if unnamed:
            raise SimulationError(f"every simulated campaign needs an id (no id: {', '.join(unnamed)})")
        self.campaigns = list(campaigns)
        self.settings = settings or Settings()
        self.requests = requests
        self.goal_events = check_frame(
            "goal_events",
            empty(GOAL_EVENTS_SCHEMA) if goal_events is None else goal_events,
            GOAL_EVENTS_SCHEMA,
        )
        self.history_allotted = check_frame(
            "history_allotted",
            empty(HISTORY_ALLOTTED_SCHEMA) if history_allotted is None else history_allotted,
            HISTORY_ALLOTTED_SCHEMA,
        )
        self.messages = None if messages is None else check_frame("messages", messages, MESSAGES_SCHEMA)
        self._engine_warnings = list(warnings)
        unknown = sorted({status for _, status in self._tally} - set(STATUSES))
        if unknown:
            raise SimulationError(f"outcomes hold statuses that are not in STATUSES: {', '.join(unknown)}")

    def __repr__(self) -> str:
        return (
            f"<SimulationResult requests={self.requests} recipients={self.outcomes.height}"
            f" sent={self._status_counts()['sent']} campaigns={len(self.campaigns)}>"
        )

    @property
    def campaign_ids(self) -> list[str]:
        return [c.id for c in self.campaigns if c.id is not None]

    # ---- counts -------------------------------------------------------------------------------------

    @cached_property
    def _tally(self) -> dict[tuple[str | None, str], int]:
        """Rows per (campaign id, status): every count of the funnel and the summary comes from here."""
        return {
            (cid, status): n
            for cid, status, n in self.outcomes.group_by("campaign_id", "status").len().iter_rows()
        }

    def _status_counts(self, campaign_id: str | None = None, *, other: bool = False) -> dict[str, int]:
        """Rows per status in rule order: all rows, one campaign's, or (``other``) no simulated campaign's."""
        known = set(self.campaign_ids)
        counts = dict.fromkeys(STATUSES, 0)
        for (cid, status), n in self._tally.items():
            if (cid not in known) if other else (campaign_id is None or cid == campaign_id):
                counts[status] += n
        return counts

    @cached_property
    def _sent_pairs(self) -> pl.DataFrame:
        return self.outcomes.filter(pl.col("status") == "sent").select("campaign_id", "identity").unique()

    @cached_property
    def _run_allotted(self) -> pl.DataFrame:
        """Distinct (campaign, user) pairs of rows of this run that passed rule 8."""
        run = self.outcomes.filter(pl.col("status").is_in(sorted(ALLOTTED_STATUSES)))
        return run.select("campaign_id", "identity").unique()

    @cached_property
    def _allotted_pairs(self) -> pl.DataFrame:
        """Distinct (campaign, user) pairs allotted: this run's, plus the history's users."""
        return pl.concat([self._run_allotted, self.history_allotted]).unique()

    def allotted_not_delivered(self) -> pl.DataFrame:
        """Users first allotted by rows of this run that got no ``sent`` row: ``campaign_id``, ``identity``.

        History users are allotted before the run, so they are never counted here (spec/semantics.md,
        "Edges"). Sorted by campaign id, then identity.
        """
        return (
            self._run_allotted.join(self.history_allotted, on=["campaign_id", "identity"], how="anti")
            .join(self._sent_pairs, on=["campaign_id", "identity"], how="anti")
            .sort("campaign_id", "identity")
        )

    @staticmethod
    def _count_for(pairs: pl.DataFrame, campaign_id: str) -> int:
        return pairs.filter(pl.col("campaign_id") == campaign_id).height

    # ---- tables -------------------------------------------------------------------------------------

    def funnel(self, *, by_campaign: bool = False) -> pl.DataFrame:
        """Rows per status in rule order, zeros included.

        ``status``, ``count`` and ``share`` (of all recipient rows; null when there are none). With
        ``by_campaign=True``: ``status``, one count column per simulated campaign id, ``other`` (rows of no
        simulated campaign: unknown or unreadable ids) and ``total``.
        """
        statuses = pl.Series("status", STATUSES, dtype=pl.String)
        if not by_campaign:
            counts = list(self._status_counts().values())
            total = self.outcomes.height
            return pl.DataFrame(
                {
                    "status": statuses,
                    "count": pl.Series(counts, dtype=pl.Int64),
                    "share": pl.Series([c / total if total else None for c in counts], dtype=pl.Float64),
                }
            )
        known = self.campaign_ids
        columns: dict[str, pl.Series] = {"status": statuses}
        for campaign_id in known:
            columns[campaign_id] = pl.Series(list(self._status_counts(campaign_id).values()), dtype=pl.Int64)
        columns[OTHER] = pl.Series(list(self._status_counts(other=True).values()), dtype=pl.Int64)
        columns["total"] = pl.Series(list(self._status_counts().values()), dtype=pl.Int64)
        return pl.DataFrame(columns)

    def reasons(self) -> pl.DataFrame:
        """Rows per (status, reason): ``status``, ``reason``, ``count``; rule order, then most frequent."""
        order = {status: index for index, status in enumerate(STATUSES)}
        return (
            self.outcomes.group_by("status", "reason")
            .agg(pl.len().cast(pl.Int64).alias("count"))
            .with_columns(pl.col("status").replace_strict(order, return_dtype=pl.Int64).alias("_rule"))
            .sort(["_rule", "count", "reason"], descending=[False, True, False], nulls_last=True)
            .drop("_rule")
        )

    def timeline(self, every: str = "1h", *, local: bool = False) -> pl.DataFrame:
        """Deliveries of ``sent`` rows per period: ``period``, ``campaign_id``, ``sent``, ``delayed``.

        ``every`` is a duration in minutes, hours, days or weeks (``1h``, ``1d``; weeks start on Monday).
        ``period`` is the UTC start of the period, or with ``local=True`` the start in each user's local
        wall-clock time (a naive datetime, from ``delivery_local``). Only periods with deliveries appear.
        """
        try:
            step = parse_duration(every)
        except ValueError as exc:
            raise InputError(f"every {exc}") from None
        if step.unit not in ("m", "h", "d", "w") or step.amount == 0:
            raise InputError(
                f"every must be a positive number of minutes, hours, days or weeks (got {every!r})"
            )
        sent = self.outcomes.filter(pl.col("status") == "sent")
        when = (
            pl.col("delivery_local")
            .str.slice(0, 19)
            .str.replace(" ", "T", literal=True)
            .str.to_datetime("%Y-%m-%dT%H:%M:%S", time_unit="us")
            if local
            else pl.col("delivery_at")
        )
        return (
            sent.group_by(when.dt.truncate(str(step)).alias("period"), "campaign_id")
            .agg(
                pl.len().cast(pl.Int64).alias("sent"), pl.col("delayed").sum().cast(pl.Int64).alias("delayed")
            )
            .sort("period", "campaign_id")
        )

    @cached_property
    def _uplift(self) -> dict[str, Uplift]:
        return campaign_uplift(self.outcomes, self.goal_events, self.campaigns)

    def uplift(self) -> pl.DataFrame:
        """One row per campaign with a goal: ``campaign_id`` and every key of the JSON ``uplift`` object."""
        rows = [{"campaign_id": key, **value.as_dict()} for key, value in self._uplift.items()]
        return pl.DataFrame(rows, schema=UPLIFT_SCHEMA, orient="row") if rows else empty(UPLIFT_SCHEMA)

    # ---- summary ------------------------------------------------------------------------------------

    @property
    def warnings(self) -> list[str]:
        """The engine's warnings (invalid time zones...), then non-numeric revenue per campaign."""
        return self._engine_warnings + non_numeric_warnings(self._uplift, self.campaigns)

    def summary(self) -> dict[str, Any]:
        """The JSON summary ``triggerlab simulate --json`` prints (spec/semantics.md, "Outcome columns")."""
        # A copy: the caller may change it; the report and the notebook view reuse the computed one.
        return copy.deepcopy(self._summary)

    @cached_property
    def _summary(self) -> dict[str, Any]:
        refused = self.allotted_not_delivered()
        return {
            "requests": self.requests,
            "recipients": self.outcomes.height,
            "statuses": self._status_counts(),
            "users_sent": self._sent_pairs.height,
            "users_allotted": self._allotted_pairs.height,
            "uplift": {key: value.as_dict() for key, value in self._uplift.items()},
            "campaigns": {
                campaign_id: {
                    "statuses": self._status_counts(campaign_id),
                    "users_sent": self._count_for(self._sent_pairs, campaign_id),
                    "users_allotted": self._count_for(self._allotted_pairs, campaign_id),
                    "allotted_not_delivered": self._count_for(refused, campaign_id),
                }
                for campaign_id in self.campaign_ids
            },
            "warnings": self.warnings,
        }

    # ---- views --------------------------------------------------------------------------------------

    @cached_property
    def charts(self) -> Charts:
        """Altair charts of this result: ``funnel``, ``timeline`` and ``uplift`` (None without a goal)."""
        from triggerlab.charts import build_charts

        return build_charts(self)

    def _repr_html_(self) -> str:
        from triggerlab.report import compact_html

        return compact_html(self)

    def write(self, out_dir: str | Path) -> Path:
        """Write ``outcomes.parquet`` and a self-contained ``report.html`` (charts as inline SVG) to a folder.

        The folder is created when missing; returns its path.
        """
        from triggerlab.report import report_html

        folder = Path(out_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the output folder {folder}: {exc.strerror}") from None
        self.outcomes.write_parquet(folder / "outcomes.parquet")
        (folder / "report.html").write_text(report_html(self), encoding="utf-8")
        return folder
