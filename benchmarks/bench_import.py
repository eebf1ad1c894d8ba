"""Benchmark: how long ``import triggerlab`` takes in a fresh interpreter (target in DESIGN: under 0.3 s).

Each round starts two fresh interpreters, interleaved so a busy machine slows both alike: a bare one (the
baseline: the interpreter's own start-up) and one that imports triggerlab. The import's cost is the
difference of the medians; ``-X importtime`` gives the same figure measured inside the interpreter, and
the heavy modules that must stay out of the import are listed if any slipped in. Asserts nothing about time.

    python benchmarks/bench_import.py --rounds 15
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time

HEAVY = ("ipywidgets", "httpx", "jupyter", "duckdb", "polars", "liquid", "aiohttp")
PROBE = (
    "import sys, triggerlab; "
    f"print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
)


def _seconds(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - started


def _importtime() -> float:
    """The cumulative import time of triggerlab as ``-X importtime`` reports it, in seconds."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import triggerlab"],
        check=True,
        capture_output=True,
        text=True,
    )
    line = [row for row in done.stderr.splitlines() if row.rstrip().endswith("| triggerlab")][-1]
    match = re.search(r"\|\s*(\d+)\s*\|", line)
    assert match is not None, line
    return int(match.group(1)) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=15)
    args, _ = parser.parse_known_args()
    bare, loaded, inside = [], [], []
    for _ in range(args.rounds):
        bare.append(_seconds("pass"))
        loaded.append(_seconds("import triggerlab"))
        inside.append(_importtime())
    heavy = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True, text=True)
    base, with_import = statistics.median(bare), statistics.median(loaded)
    print(f"import      bare interpreter start       {base * 1000:8.1f} ms  (median of {args.rounds})")
    print(f"import      start + import triggerlab    {with_import * 1000:8.1f} ms")
    print(
        f"import      import triggerlab alone      {(with_import - base) * 1000:8.1f} ms  (target < 300 ms)"
    )
    print(f"import      -X importtime, cumulative    {statistics.median(inside) * 1000:8.1f} ms")
    print(f"import      ratio start+import / bare     {with_import / base:8.2f}")
    print(f"import      heavy modules imported: {heavy.stdout.strip() or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
