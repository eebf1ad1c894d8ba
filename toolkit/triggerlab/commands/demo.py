from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from triggerlab.commands.simulate import print_funnel
from triggerlab.errors import InputError
from triggerlab.files import load_campaign
from triggerlab.simulation import simulate
from triggerlab.validation import check_campaign
from triggerlab.workspace import Workspace

#: the repository's sample data (an editable install runs from the source tree)
SAMPLE_DATA = Path(__file__).resolve().parents[3] / "sample_data"
FORECAST = "order_confirmation.yaml"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo", help="validate and publish the sample campaigns, then forecast the order confirmation"
    )
    p.add_argument("--data", type=Path, default=SAMPLE_DATA, help="sample data folder (%(default)s)")
    p.add_argument("--out", type=Path, help="also write outcomes.parquet and report.html here")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    data: Path = args.data
    paths = sorted((data / "campaigns").glob("*.yaml"))
    if not paths or not (data / "triggers.jsonl").exists():
        raise InputError(f"{data}: no sample campaigns and triggers here; pass --data DIR")
    print("== 1. validate and publish the sample campaigns (in a scratch workspace)")
    with tempfile.TemporaryDirectory() as tmp, Workspace(Path(tmp) / "demo.duckdb") as ws:
        for path in paths:
            campaign = load_campaign(path)
            check_campaign(campaign, source=str(path))
            published = ws.publish(campaign)
            print(f"{path.name}: valid; published {published.name!r} as campaign {published.id}")
    print(f"\n== 2. forecast {FORECAST} over the sample trigger batch")
    result = simulate(
        [data / "campaigns" / FORECAST],
        triggers=data / "triggers.jsonl",
        profiles=data / "profiles.csv",
        events=data / "events.parquet",
        history=data / "history.csv",
        settings=data / "triggerlab.yaml",
    )
    print_funnel(result)
    print("(requests naming the other sample campaigns are unknown_campaign here: only this one was given)")
    for row in result.uplift().iter_rows(named=True):
        print(f"\nuplift of campaign {row['campaign_id']}: {_uplift_line(row)}")
    if args.out:
        result.write(args.out)
        print(f"\nwrote {args.out}/outcomes.parquet and {args.out}/report.html")
    return 0


def _uplift_line(row: dict[str, Any]) -> str:
    test, control = row["rate_test"], row["rate_control"]
    line = f"sent {row['users_test']} users"
    line += "" if test is None else f", {test:.2%} converted"
    line += f"; control {row['users_control']} users"
    line += "" if control is None else f", {control:.2%} converted"
    if row["ci95"] and row["uplift_abs"] is not None:
        low, high = row["ci95"]
        line += (
            f"; uplift {row['uplift_abs']:+.2%} (95% CI {low:+.2%} to {high:+.2%}, p = {row['p_value']:.3f})"
        )
    return line
