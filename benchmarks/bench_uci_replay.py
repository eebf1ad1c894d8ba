"""Benchmark: simulate the UCI Online Retail replay (18,536 real invoices, two campaigns) and print rows/s."""

from __future__ import annotations

import sys

from uci_replay import main

if __name__ == "__main__":
    sys.exit(main())
