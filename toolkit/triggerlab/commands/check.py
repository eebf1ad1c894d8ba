from __future__ import annotations

import argparse
import sys

from triggerlab.batch_check import check_batch
from triggerlab.files import load_campaign, load_settings
from triggerlab.validation import check_campaign


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check", help="check a trigger batch's requests and payloads against a campaign; exit 1 on findings"
    )
    p.add_argument("campaign", metavar="CAMPAIGN", help="campaign file (.yaml or .json)")
    p.add_argument(
        "--triggers", required=True, metavar="FILE", help="trigger batch: JSON Lines, Parquet or CSV"
    )
    p.add_argument("--settings", metavar="F", help="workspace settings (payload_values, max_payload_bytes)")
    p.add_argument("--at", metavar="ISO", help="time of bare requests (lines without an envelope)")
    p.add_argument("--engine", choices=("duck", "reference"), default="duck", help="default: duck")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    campaign = load_campaign(args.campaign)
    check_campaign(campaign, source=args.campaign)
    findings = check_batch(
        campaign, args.triggers, settings=load_settings(args.settings), at=args.at, engine=args.engine
    )
    for finding in findings:
        print(finding)
    if findings:
        lines = len({finding.line for finding in findings})
        print(f"{len(findings)} finding(s) on {lines} line(s) of {args.triggers}", file=sys.stderr)
        return 1
    print(f"{args.triggers}: ok")
    return 0
