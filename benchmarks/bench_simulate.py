"""Simulation throughput: synthetic batches of 100k, 1M and 10M recipients against 1M profiles and 20M events.

All rules are on: schedules, audience filters on properties and past events, system and campaign control groups,
a targeting cap, DND with delay and discard, max_delay, min_gap, calendar and rolling frequency caps with prior
history, and goals. Each size runs in its own process so its peak memory (ru_maxrss) is its own; sizes below
10M run ``--rounds`` times (default 3) and print the fastest run.

The reference engine runs on the first 10k and on all 100k trigger rows of the 100k batch (``--reference-rows``),
with the tables cut to those rows' users (it turns tables into Python dicts; the other users cannot change a
decision). DESIGN's ratio is the DuckDB engine's rows/s at 100k over the reference's at 100k rows; the 10k figure
shows how the reference slows as a batch grows (rules 12-13 scan every earlier delivery for each row; its 100k run
takes 6-8 minutes). When both engines ran the same 100k rows their outcome frames must be equal, row for row
(``missing_keys`` aside, see _same_outcomes), or the run fails.

    python benchmarks/bench_simulate.py                  # 100k, 1M, 10M
    python benchmarks/bench_simulate.py --sizes 100k --reference-rows 10k  # a quick run
    python benchmarks/bench_simulate.py --profiles 100000 --events 2000000 --sizes 100k,1m
    python benchmarks/bench_simulate.py --sizes 10m --reference-rows 10k --stages  # where the time goes

``--stages`` also prints, for each DuckDB run kept, the SQL statements that took the most CPU (user + system,
all threads), each with what runs in Python after it until the next statement (a transfer to polars, the
per-user pass of rules 12-13; after the last one: the final sort and building the result). Loading the input
files comes before the first statement and is not listed.

Data is generated once per shape into --workdir (default: a folder in the system temp dir) and reused.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000, "10m": 10_000_000}
ZONES = ["Asia/Kolkata", "America/New_York", "Europe/London", "Australia/Sydney", "UTC", "Not/AZone"]

SETTINGS = {
    "timezone": "Asia/Kolkata",
    "system_control_group": 3,
    "frequency_caps": [
        {"channel": "push", "limit": 3, "per": "day", "window": "calendar"},
        {"limit": 10, "per": "week", "window": "rolling"},
    ],
}


def _campaigns() -> list[dict[str, object]]:
    return [
        {
            "id": "9000000001",
            "name": "Milestone",
            "channel": "push",
            "goal": {"event": "Steps Logged", "within": "2d"},
            "audience": {
                "filters": [
                    {"property": "plan", "op": "not_equals", "value": "churned"},
                    {"event": "App Launched", "at_least": 2, "within": "7d"},
                ]
            },
            "control_group": 10,
            "targeting_cap": 400_000,
            "message": {
                "title": "Milestone reached",
                "body": "Well done {{ Profile.name | default: 'champ' }}: {{ ExternalTrigger.steps }} steps",
            },
            "schedule": {"start": "2026-11-01T00:00:00", "end": "2026-12-01T00:00:00"},
            "delivery": {
                "dnd": {"start": "21:00", "end": "08:00", "action": "delay"},
                "max_delay": "12h",
                "min_gap": "1d",
            },
        },
        {
            "id": "9000000002",
            "name": "Order confirmation",
            "channel": "email",
            "goal": {"event": "Charged", "within": "1d", "revenue_property": "Amount"},
            "audience": {"filters": [{"property": "score", "op": "gte", "value": 20}]},
            "control_group": 5,
            "apply_system_control": False,
            "message": {
                "from_email": "orders@shop.example",
                "subject": "Your order is confirmed",
                "text": "Order {{ ExternalTrigger.order }} for {{ Profile.name | default: 'you' }}",
            },
            "delivery": {"apply_global_limits": False},
        },
        {
            "id": "9000000003",
            "name": "Upgrade",
            "channel": "webhook",
            "audience": {
                "match": "any",
                "filters": [
                    {"event": "Charged", "within": "30d", "sum": {"property": "Amount", "gte": 100}},
                    {"property": "plan", "op": "in", "value": ["pro", "team"]},
                ],
            },
            "message": {
                "url": "https://crm.example/hook",
                "content_type": "text",
                "body": "user={{ Profile.identity }} steps={{ ExternalTrigger.steps }}",
            },
            "delivery": {"dnd": {"start": "23:00", "end": "06:00", "action": "discard"}},
        },
    ]


def generate(folder: Path, profiles: int, events: int, recipients: int) -> dict[str, Path]:
    """Write profiles, events, history and a trigger batch as Parquet (kept for later runs)."""
    from triggerlab.duck import connect

    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "profiles": folder / f"profiles_{profiles}.parquet",
        "events": folder / f"events_{profiles}_{events}.parquet",
        "history": folder / f"history_{profiles}.parquet",
        "triggers": folder / f"triggers_{profiles}_{recipients}.parquet",
    }
    con = connect()
    con.execute("SET TimeZone = 'UTC'")
    zones = "[" + ", ".join(f"'{z}'" for z in ZONES) + "]"
    queries = {
        "profiles": f"""SELECT 'u' || range AS identity, 'u' || range || '@mail.example' AS email,
                CASE WHEN range % 7 = 0 THEN NULL ELSE 'User ' || range END AS name,
                {zones}[(range % {len(ZONES)}) + 1] AS timezone,
                ['free', 'pro', 'team', 'churned'][(hash(range) % 4)::BIGINT + 1] AS plan,
                ((hash(range * 3) % 50))::VARCHAR AS score
            FROM range({profiles})""",
        "events": f"""SELECT 'u' || (hash(range) % {profiles}) AS identity,
                ['App Launched', 'App Launched', 'Charged', 'Steps Logged'][(hash(range * 7) % 4)::BIGINT + 1] AS event,
                TIMESTAMPTZ '2026-10-01 00:00:00+00' + to_seconds((hash(range * 13) % (75 * 86400))::BIGINT) AS ts,
                ((hash(range * 17) % 20000) / 100.0)::DOUBLE AS Amount
            FROM range({events})""",
        "history": f"""SELECT 'u' || (hash(range * 5) % {profiles}) AS identity,
                ['push', 'email', 'webhook'][(range % 3)::BIGINT + 1] AS channel,
                ['9000000001', '9000000002', '8000000000'][(hash(range) % 3)::BIGINT + 1] AS campaign_id,
                TIMESTAMPTZ '2026-10-25 00:00:00+00' + to_seconds((hash(range * 11) % (14 * 86400))::BIGINT) AS sent_at
            FROM range({profiles // 2})""",
        "triggers": f"""SELECT 't' || range AS id,
                strftime(TIMESTAMPTZ '2026-11-01 00:00:00+00' + to_seconds((hash(range * 19) % (28 * 86400))::BIGINT),
                         '%Y-%m-%dT%H:%M:%SZ') AS received_at,
                '{{"to":{{"identity":["u' || (hash(range * 23) % {profiles}) || '"]}},"campaign_id":"'
                    || ['9000000001', '9000000002', '9000000003'][(range % 3)::BIGINT + 1]
                    || '","ExternalTrigger":{{"steps":"' || (hash(range) % 30000) || '","order":"A' || range || '"}}}}'
                    AS body
            FROM range({recipients})""",
    }
    for name, query in queries.items():
        if not paths[name].exists():
            started = time.perf_counter()
            con.execute(f"COPY ({query}) TO '{paths[name]}' (FORMAT parquet)")
            print(f"  generated {paths[name].name} in {time.perf_counter() - started:.1f} s", flush=True)
    con.close()
    return paths


def run_one(args: argparse.Namespace) -> None:
    """One measurement in this process; prints one JSON line."""
    import polars as pl

    from triggerlab import Campaign, Settings, simulate

    paths = generate(Path(args.workdir), args.profiles, args.events, SIZES[args.one])
    campaigns = [Campaign.model_validate(c) for c in _campaigns()]
    settings = Settings.model_validate(SETTINGS)
    tables: dict[str, Path | pl.DataFrame] = dict(paths)
    if args.engine == "reference":
        # The reference turns tables into Python dicts; only the subsample's users can matter to its rows, so
        # the tables are cut to them (same decisions, memory that fits).
        triggers = pl.read_parquet(paths["triggers"]).head(int(args.reference_rows))
        users = triggers.select(pl.col("body").str.extract(r'"identity":\["([^"]+)"', 1).alias("identity"))
        for name in ("profiles", "events", "history"):
            tables[name] = pl.read_parquet(paths[name]).join(users.unique(), on="identity", how="semi")
        tables["triggers"] = triggers
    stages = _StageClock() if args.stages else None
    if stages is not None:
        _trace_duck(stages)
    started = time.perf_counter()
    result = simulate(
        campaigns,
        triggers=tables["triggers"],
        profiles=tables["profiles"],
        events=tables["events"],
        history=tables["history"],
        settings=settings,
        engine=args.engine,
        progress=False,
        memory_limit=args.memory_limit if args.engine == "duck" else None,
    )
    seconds = time.perf_counter() - started
    if stages is not None:
        stages.stop()
    if args.save:
        result.outcomes.write_parquet(args.save)
    rows = result.outcomes.height
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    sent = int(result.outcomes["status"].eq("sent").sum())
    print(
        json.dumps(
            {
                "size": args.one,
                "engine": args.engine,
                "rows": rows,
                "seconds": seconds,
                "rows_per_s": rows / seconds,
                "peak_gb": peak,
                "sent": sent,
                "stages": [] if stages is None else stages.top(STAGES_SHOWN),
            }
        )
    )


#: how many statements ``--stages`` lists (the rest are summed on one line)
STAGES_SHOWN = 14


class _StageClock:
    """CPU and wall time from each traced SQL statement to the next (or to the end of the run)."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float, float]] = []

    @staticmethod
    def _cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def __call__(self, statement: str) -> None:
        self.marks.append((" ".join(statement.split())[:72], time.perf_counter(), self._cpu()))

    def stop(self) -> None:
        self("(end)")

    def top(self, count: int) -> list[tuple[str, float, float]]:
        """The ``count`` costliest spans (label, wall, CPU), then one line for the rest."""
        spans = [
            (label, after_at - at, after_cpu - cpu)
            for (label, at, cpu), (_, after_at, after_cpu) in zip(self.marks, self.marks[1:], strict=False)
        ]
        spans.sort(key=lambda span: -span[2])
        shown, rest = spans[:count], spans[count:]
        if rest:
            shown.append(
                (f"({len(rest)} other statements)", sum(s[1] for s in rest), sum(s[2] for s in rest))
            )
        return shown


def _trace_duck(clock: _StageClock) -> None:
    """Make the DuckDB engine's connection report every statement to ``clock``: the connection is the one
    place every statement of a run passes through (the engine's stage modules each run theirs on it)."""
    from triggerlab.engine import duck

    names = vars(duck)  # the engine's own name for the connect it imported
    opened = names["connect"]

    def traced(*args: Any, **kwargs: Any) -> Any:
        return _Traced(opened(*args, **kwargs), clock)

    names["connect"] = traced


class _Traced:
    """A DuckDB connection that reports each ``execute`` and ``sql`` before running it."""

    def __init__(self, con: Any, clock: _StageClock) -> None:
        self._con, self._clock = con, clock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._clock(query)
        return self._con.execute(query, *args, **kwargs)

    def sql(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._clock(query)
        return self._con.sql(query, *args, **kwargs)


def _outcomes_path(args: argparse.Namespace, engine: str, rows: int) -> Path:
    return Path(args.workdir) / f"outcomes_{engine}_{args.profiles}_{rows}.parquet"


def _measure(args: argparse.Namespace, size: str, engine: str, reference_rows: int = 0) -> dict[str, Any]:
    rows = reference_rows or SIZES[size]
    command = [
        sys.executable,
        __file__,
        "--one",
        size,
        "--engine",
        engine,
        "--workdir",
        args.workdir,
        "--profiles",
        str(args.profiles),
        "--events",
        str(args.events),
        "--reference-rows",
        str(reference_rows),
        "--memory-limit",
        args.memory_limit,
    ]
    if rows == SIZES["100k"]:  # the size both engines run: their outcomes are compared
        command += ["--save", str(_outcomes_path(args, engine, rows))]
    if args.stages and engine == "duck":
        command += ["--stages"]
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    if out.returncode:
        print(out.stdout, out.stderr, file=sys.stderr)
        raise SystemExit(out.returncode)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    for line in out.stdout.splitlines():
        if not line.startswith("{"):
            print(line)
    measured: dict[str, Any] = json.loads(lines[-1])
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100k,1m,10m", help="comma-separated: 10k, 100k, 1m, 10m")
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument(
        "--reference-rows",
        default="10k,100k",
        help="comma-separated: the first N rows of the 100k batch the reference engine runs on (10k, 100k)",
    )
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "triggerlab-bench"))
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB memory_limit (it spills past it)")
    parser.add_argument("--rounds", type=int, default=3, help="DuckDB runs per size below 10m (best kept)")
    parser.add_argument(
        "--stages",
        action="store_true",
        help="also print the statements that took the most CPU in each run kept",
    )
    parser.add_argument("--one", choices=sorted(SIZES), help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="duck", help=argparse.SUPPRESS)
    parser.add_argument("--save", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args)
        return 0
    for name, values, allowed in (
        ("--sizes", args.sizes, SIZES),
        ("--reference-rows", args.reference_rows, ("10k", "100k")),
    ):
        unknown = [value for value in values.split(",") if value not in allowed]
        if unknown:
            parser.error(f"{name}: unknown {', '.join(unknown)} (choose from {', '.join(allowed)})")
    if args.rounds < 1:
        parser.error("--rounds: at least 1")
    print(f"{'size':>6} {'engine':>9} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'peak GB':>8} {'sent':>9}")
    measured = {}
    for size in args.sizes.split(","):
        # the best of a few runs below 10M (a first run reads files the page cache does not hold yet);
        # peak memory is the highest of them
        runs = [_measure(args, size, "duck") for _ in range(1 if size == "10m" else args.rounds)]
        row = min(runs, key=lambda run: run["seconds"])
        row["peak_gb"] = max(run["peak_gb"] for run in runs)
        measured[size] = row
        print(
            f"{size:>6} {'duck':>9} {row['rows']:>10,} {row['seconds']:>8.2f} {row['rows_per_s']:>10,.0f}"
            f" {row['peak_gb']:>8.2f} {row['sent']:>9,}",
            flush=True,
        )
        if args.stages:
            _print_stages(row)
    if "100k" not in measured:
        return 0
    for label in args.reference_rows.split(","):
        ref = _measure(args, "100k", "reference", SIZES[label])
        print(
            f"{label:>6} {'reference':>9} {ref['rows']:>10,} {ref['seconds']:>8.2f} {ref['rows_per_s']:>10,.0f}"
            f" {ref['peak_gb']:>8.2f} {ref['sent']:>9,}",
            flush=True,
        )
        ratio = measured["100k"]["rows_per_s"] / ref["rows_per_s"]
        design = " (DESIGN's measure: >= 100x)" if label == "100k" else ""
        print(f"duck at 100k / reference at {label} rows: {ratio:.0f}x{design}", flush=True)
        if label == "100k" and not _same_outcomes(args):
            return 1
    return 0


def _print_stages(row: dict[str, Any]) -> None:
    stages = row["stages"]
    total = sum(cpu for _, _, cpu in stages) or 1.0
    print(
        f"{'':>6} {'wall s':>9} {'CPU s':>10} {'of CPU':>8}  statement (and what runs after it until the next)"
    )
    for label, wall, cpu in stages:
        print(f"{'':>6} {wall:>9.2f} {cpu:>10.2f} {cpu / total:>8.0%}  {label}")
    print(
        f"{'':>6} {sum(w for _, w, _ in stages):>9.2f} {total:>10.2f} {'':>8}  from the first statement on",
        flush=True,
    )


def _same_outcomes(args: argparse.Namespace) -> bool:
    """Both engines' outcomes of the same 100k rows, compared row for row (prints what differs).

    ``missing_keys`` is left out, as in the differential test's static mode: the reference renders every row,
    DuckDB only the rows of campaigns whose messages can fail rule 9 (the others' ``missing_keys`` is null)."""
    import polars as pl
    from polars.testing import assert_frame_equal

    rows = SIZES["100k"]
    duck = pl.read_parquet(_outcomes_path(args, "duck", rows)).drop("missing_keys")
    reference = pl.read_parquet(_outcomes_path(args, "reference", rows)).drop("missing_keys")
    try:
        assert_frame_equal(duck, reference)
    except AssertionError as difference:
        print(f"outcomes of both engines at 100k rows differ: {difference}", file=sys.stderr)
        return False
    print(f"outcomes of both engines at 100k rows: identical ({duck.height:,} rows, {duck.width} columns)")
    return True


if __name__ == "__main__":
    sys.exit(main())
