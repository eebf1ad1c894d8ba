"""Trigger-batch loading alone: lines/s of ``load_targets`` (the temp table ``targets``), fast and generic.

The batches are bench_simulate's (a Parquet file with ``id, received_at, body``, kept in its work folder) and
the same lines as JSON Lines envelopes (written once next to it). Each measurement runs in a fresh process so
its peak memory (max RSS) is its own; the ratio is generic time / fast time in the same run. CPU seconds
(both threads) are printed too: on a machine shared with other work they move less than wall time.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_simulate import SIZES, generate  # noqa: E402

FORMATS = ("parquet", "jsonl")


def batch(folder: Path, size: str, fmt: str) -> Path:
    """The bench batch of ``size`` lines as Parquet, or as JSON Lines envelopes (written on first use)."""
    parquet = generate(folder, 1_000_000, 20_000_000, SIZES[size])["triggers"]
    if fmt == "parquet":
        return parquet
    jsonl = parquet.with_suffix(".jsonl")
    if not jsonl.exists():
        from triggerlab.duck import connect

        con = connect()
        con.execute("SET enable_progress_bar = false")
        started = time.perf_counter()
        con.execute(
            f"COPY (SELECT id, received_at, body::JSON AS body FROM read_parquet('{parquet}'))"
            f" TO '{jsonl}' (FORMAT json)"
        )
        con.close()
        print(f"  wrote {jsonl.name} in {time.perf_counter() - started:.1f} s", flush=True)
    return jsonl


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_one(path: Path, fast: bool) -> None:
    """One measurement in this process; prints one JSON line."""
    from triggerlab.duck import connect
    from triggerlab.engine.duck_triggers import load_targets
    from triggerlab.settings import Settings

    con = connect()
    started, cpu = time.perf_counter(), _cpu()
    requests = load_targets(con, path, Settings(), None, fast=fast)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    row = con.execute("SELECT count(*) FROM targets").fetchone()
    assert row is not None
    con.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"requests": requests, "targets": row[0], "seconds": seconds, "cpu": cpu, "peak_mb": peak}
    print(json.dumps(result))


def measure(path: Path, fast: bool) -> dict[str, float]:
    flag = "--fast" if fast else "--generic"
    out = subprocess.run(
        [sys.executable, __file__, "--one", str(path), flag], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1m,10m", help="comma-separated: 10k, 100k, 1m, 10m")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "triggerlab-bench"))
    parser.add_argument("--no-generic", action="store_true", help="skip the generic reading (slow at 10m)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--fast", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--generic", action="store_true", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()  # run_all.py passes every benchmark's options to all
    if args.one:
        run_one(Path(args.one), fast=args.fast)
        return 0
    print(
        f"{'lines':>6} {'format':>8} {'path':>8} {'seconds':>8} {'lines/s':>10} {'cpu s':>7} {'peak MB':>8}"
        f" {'ratio':>6} {'cpu ratio':>9}"
    )
    for size in args.sizes.split(","):
        for fmt in FORMATS:
            path = batch(Path(args.workdir), size, fmt)
            fast = measure(path, fast=True)
            rows = [("fast", fast)]
            if not args.no_generic:
                generic = measure(path, fast=False)
                assert generic["targets"] == fast["targets"] and generic["requests"] == fast["requests"]
                rows.append(("generic", generic))
            for name, result in rows:
                print(
                    f"{size:>6} {fmt:>8} {name:>8} {result['seconds']:8.2f}"
                    f" {result['requests'] / result['seconds']:10,.0f} {result['cpu']:7.2f}"
                    f" {result['peak_mb']:8,.0f} {result['seconds'] / fast['seconds']:6.2f}"
                    f" {result['cpu'] / fast['cpu']:9.2f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
