"""Benchmark: ``triggerlab check`` on a large trigger batch, lines/s of ``check_batch`` for both engines.

The batch is N JSON Lines envelopes (default 1,000,000, written once in SQL to a temporary folder) for the
sample order confirmation (the looped ``productDetails`` payload, about 400 B): one line in 97 has a number
leaf (an invalid request under ``payload_values: strict``), one in 101 lacks a required key (a payload
finding), one in 211 has a body that is not JSON. The duck engine checks the whole batch; the reference
engine (every line read into Python) the first ``--slice`` lines. Each measurement runs in a fresh process so
its peak memory (max RSS) is its own; CPU seconds are printed too (on a shared machine they move less than
wall time). The findings of the slice are compared between the engines.

``python benchmarks/bench_check.py [--lines N] [--slice N]``.
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

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGN = ROOT / "sample_data" / "campaigns" / "order_confirmation.yaml"

BATCH_SQL = """
SELECT 'r' || i AS id, '2026-11-01T10:00:00Z' AS received_at,
    CASE WHEN i % 211 = 0 THEN to_json('{oops') ELSE json_object(
        'campaign_id', '1695721550', 'to', json_object('identity', ['u' || (i % 50000)]),
        'ExternalTrigger', json('{"productDetails":[' || list_reduce(list_transform(range(1 + i % 3), lambda k:
            '{' || CASE WHEN i % 101 = 0 THEN '' ELSE '"productName":"Product ' || k || '",' END
               || '"productID":' || CASE WHEN i % 97 = 0 THEN (i % 1000)::VARCHAR ELSE '"SKU-' || i || '"' END
               || ',"imageURL":"https://cdn.shop.example/' || k || '.png","pricingDetails":['
               || '{"name":"Cost","value":"$' || (i % 90) || '.20"},{"name":"Shipping Fee","value":"$4.99"}]}'),
            lambda a, b: a || ',' || b) || ']}')) END AS body
FROM range({n}) t(i)
"""


def write_batch(folder: Path, lines: int) -> Path:
    from triggerlab.duck import connect

    path = folder / f"batch_{lines}.jsonl"
    con = connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"COPY ({BATCH_SQL.replace('{n}', str(lines))}) TO '{path}' (FORMAT json)")
    con.close()
    return path


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_one(path: Path, engine: str) -> None:
    """One measurement in this process; prints one JSON line (the findings as text for comparison)."""
    from triggerlab import check_batch, load_campaign

    campaign = load_campaign(CAMPAIGN)
    started, cpu = time.perf_counter(), _cpu()
    findings = check_batch(campaign, path, engine=engine)  # type: ignore[arg-type]
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    digest = [str(finding) for finding in findings]
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak, "findings": digest}))


def measure(path: Path, engine: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", str(path), engine], check=True, capture_output=True, text=True
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def report(label: str, lines: int, result: dict[str, object]) -> None:
    seconds, cpu, peak = float(result["seconds"]), float(result["cpu"]), float(result["peak_mb"])  # type: ignore[arg-type]
    found = len(result["findings"])  # type: ignore[arg-type]
    print(
        f"check  {label:<10} {lines:>10,} lines  {seconds:7.2f} s  {lines / seconds:>12,.0f} lines/s"
        f"  cpu {cpu:6.2f} s  peak {peak:,.0f} MiB  findings {found:,}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--slice", type=int, default=20_000)
    parser.add_argument("--one", nargs=2, metavar=("PATH", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(Path(args.one[0]), args.one[1])
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        full = write_batch(Path(tmp), args.lines)
        part = write_batch(Path(tmp), args.slice)
        print(f"batch: {full.stat().st_size / args.lines:,.0f} B per line", flush=True)
        duck = measure(full, "duck")
        report("duck", args.lines, duck)
        duck_slice = measure(part, "duck")
        report("duck", args.slice, duck_slice)
        reference = measure(part, "reference")
        report("reference", args.slice, reference)
        assert duck_slice["findings"] == reference["findings"], "the engines disagree on the slice"
        ratio = (args.lines / float(duck["seconds"])) / (args.slice / float(reference["seconds"]))  # type: ignore[arg-type]
        print(f"check  ratio duck / reference (lines/s): {ratio:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
