"""Benchmark: SimulationResult on a large synthetic outcome (default 5M rows); prints rows/s per step.

The outcome is seeded and shaped like a real run: two campaigns with a goal, 1M users, every status, a tenth of
the deliveries delayed, goal events for a third of the users (one revenue value in a thousand not a number).
``python benchmarks/bench_results.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime

import polars as pl

from triggerlab.campaign import Campaign
from triggerlab.frames import GOAL_EVENTS_SCHEMA, HISTORY_ALLOTTED_SCHEMA, OUTCOMES_SCHEMA
from triggerlab.results import SimulationResult
from triggerlab.statuses import STATUSES

USERS = 1_000_000
START = datetime(2026, 11, 1, tzinfo=UTC)
# rough status mix of a busy run: most rows sent, a control group, some capped and delayed
WEIGHTS = [1, 1, 1, 2, 10, 2, 10, 2, 1, 1, 1, 1, 2, 5, 60]


def campaigns() -> list[Campaign]:
    return [
        Campaign.model_validate(
            {
                "id": campaign_id,
                "name": f"Campaign {campaign_id}",
                "channel": "push",
                "goal": {"event": "Charged", "within": "1d", "revenue_property": "Amount"},
                "control_group": 10,
                "message": {"title": "Hi", "body": "There"},
            }
        )
        for campaign_id in ("1", "2")
    ]


def outcomes(rows: int) -> pl.DataFrame:
    statuses = pl.Series([s for s, w in zip(STATUSES, WEIGHTS, strict=True) for _ in range(w)])
    index = pl.int_range(rows, dtype=pl.Int64)
    received = pl.lit(START) + pl.duration(seconds=(index * 7919) % (30 * 86400))
    delivered = pl.col("status").is_in(["sent", "expired", "not_reeligible", "frequency_capped"])
    delay = pl.when(index % 10 == 0).then(pl.duration(hours=9)).otherwise(pl.duration(hours=0))
    frame = (
        pl.DataFrame({"line": pl.int_range(rows, dtype=pl.Int64, eager=True) + 1})
        .with_columns(
            request_id=pl.col("line").cast(pl.String),
            recipient=pl.lit(0, dtype=pl.Int64),
            campaign_id=pl.when(index % 2 == 0).then(pl.lit("1")).otherwise(pl.lit("2")),
            identity=pl.format("u{}", (index * 104729) % USERS),
            received_at=received.dt.replace_time_zone("UTC").dt.cast_time_unit("us"),
            status=statuses.sample(rows, with_replacement=True, seed=7),
            reason=pl.lit(None, dtype=pl.String),
            bucket=(index * 31) % 100,
        )
        .with_columns(
            delivery_at=pl.when(delivered).then(pl.col("received_at") + delay),
            delayed=pl.when(delivered).then(index % 10 == 0),
        )
        .with_columns(
            delivery_local=pl.col("delivery_at")
            .dt.convert_time_zone("Asia/Kolkata")
            .dt.to_string("%Y-%m-%dT%H:%M:%S%:z"),
            missing_keys=pl.lit(None, dtype=pl.List(pl.String)),
            converted=pl.lit(None, dtype=pl.Boolean),
        )
    )
    return frame.select(list(OUTCOMES_SCHEMA)).cast(dict(OUTCOMES_SCHEMA))


def goal_events(rows: int) -> pl.DataFrame:
    count = rows // 3
    index = pl.int_range(count, dtype=pl.Int64)
    return (
        pl.DataFrame({"i": pl.int_range(count, dtype=pl.Int64, eager=True)})
        .select(
            campaign_id=pl.when(index % 2 == 0).then(pl.lit("1")).otherwise(pl.lit("2")),
            identity=pl.format("u{}", (index * 104729) % USERS),
            ts=(pl.lit(START) + pl.duration(seconds=(index * 7919) % (30 * 86400) + 3600))
            .dt.replace_time_zone("UTC")
            .dt.cast_time_unit("us"),
            revenue=pl.when(index % 1000 == 0)
            .then(pl.lit("n/a"))
            .otherwise(((index % 5000) / 100).cast(pl.String)),
        )
        .cast(dict(GOAL_EVENTS_SCHEMA))
    )


def timed(name: str, rows: int, step: Callable[[], object]) -> None:
    """Wall time and rows/s, plus process CPU time: on a shared machine CPU time varies less than wall time."""
    began, cpu = time.perf_counter(), time.process_time()
    step()
    seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu
    print(
        f"{name:<28} {seconds:8.2f} s {rows / seconds:>14,.0f} rows/s   cpu {cpu_seconds:7.2f} s", flush=True
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    rows = parser.parse_args().rows
    began = time.perf_counter()
    frame, events = outcomes(rows), goal_events(rows)
    print(
        f"generated {rows:,} outcome rows and {events.height:,} goal events in {time.perf_counter() - began:.1f} s"
    )

    def build() -> SimulationResult:
        return SimulationResult(
            outcomes=frame,
            campaigns=campaigns(),
            requests=rows,
            goal_events=events,
            history_allotted=pl.DataFrame(schema=HISTORY_ALLOTTED_SCHEMA),
        )

    timed("funnel(by_campaign=True)", rows, lambda: build().funnel(by_campaign=True))
    timed("timeline('1h')", rows, lambda: build().timeline("1h"))
    timed("uplift()", rows, lambda: build().uplift())
    timed("summary()", rows, lambda: build().summary())
    with tempfile.TemporaryDirectory() as folder:
        timed("write() parquet + report", rows, lambda: build().write(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
