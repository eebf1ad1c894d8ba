from __future__ import annotations

import argparse
import sys

from triggerlab.validation import validate_file


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("validate", help="check campaign files; exit 1 listing every finding")
    p.add_argument("campaigns", nargs="+", metavar="CAMPAIGN", help="campaign file (.yaml or .json)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.campaigns:
        findings = validate_file(path)
        if findings:
            failed += 1
            for finding in findings:
                text = str(finding)
                print(text if finding.source else f"{path}: {text}")
        else:
            print(f"{path}: ok")
    if failed:
        print(f"{failed} of {len(args.campaigns)} campaign file(s) have findings", file=sys.stderr)
    return 1 if failed else 0
