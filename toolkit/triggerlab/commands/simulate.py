from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from triggerlab.simulation import simulate

if TYPE_CHECKING:
    from triggerlab.results import SimulationResult


def print_funnel(result: SimulationResult) -> None:
    """The funnel as a terminal table, then the warnings."""
    print(f"{result.requests} requests, {result.outcomes.height} recipient rows")
    for status, count, share in result.funnel().iter_rows():
        print(f"{status:<18} {count:>10}  {'' if share is None else f'{share:7.2%}'}")
    for warning in result.warnings:
        print(f"warning: {warning}")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="forecast a trigger batch against profiles, events and history (funnel, --json, --out)",
    )
    p.add_argument(
        "campaigns", nargs="+", metavar="CAMPAIGN", help="campaign file (.yaml or .json) with an id"
    )
    p.add_argument("--triggers", required=True, metavar="F", help="trigger batch: JSON Lines, Parquet or CSV")
    p.add_argument("--profiles", required=True, metavar="F", help="profile table (CSV, Parquet, JSON Lines)")
    p.add_argument("--events", metavar="F", help="event table: identity, event, ts, properties as columns")
    p.add_argument("--history", metavar="F", help="prior deliveries: identity, channel, campaign_id, sent_at")
    p.add_argument("--settings", metavar="F", help="workspace settings (triggerlab.yaml)")
    p.add_argument("--at", metavar="ISO", help="time of bare requests (lines without an envelope)")
    p.add_argument("--render", choices=("static", "sample", "all"), default="static", help="default: static")
    p.add_argument("--engine", choices=("duck", "reference"), default="duck", help="default: duck")
    p.add_argument("--out", metavar="DIR", help="write outcomes.parquet and report.html to this folder")
    p.add_argument("--json", action="store_true", help="print the JSON summary instead of the funnel")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    result = simulate(
        args.campaigns,
        triggers=args.triggers,
        profiles=args.profiles,
        events=args.events,
        history=args.history,
        settings=args.settings,
        at=args.at,
        render=args.render,
        engine=args.engine,
        progress=not args.json,
    )
    if args.out:
        result.write(args.out)
    if args.json:
        print(json.dumps(result.summary(), indent=2, ensure_ascii=False))
        return 0
    print_funnel(result)
    if args.out:
        print(f"wrote {args.out}/outcomes.parquet and {args.out}/report.html")
    return 0
