from __future__ import annotations

import argparse
import sys

from triggerlab.errors import CampaignError
from triggerlab.workspace import DEFAULT_WORKSPACE, publish


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "publish", help="validate, store in the workspace, and write the campaign id into the file"
    )
    p.add_argument("campaigns", nargs="+", metavar="CAMPAIGN")
    p.add_argument("--workspace", default=DEFAULT_WORKSPACE, help="workspace DuckDB file (%(default)s)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    refused = 0
    for path in args.campaigns:
        try:
            published = publish(path, workspace=args.workspace)
        except CampaignError as exc:
            refused += 1
            print(exc, file=sys.stderr)
            continue
        print(f"{path}: published {published.name!r} as campaign {published.id} version {published.version}")
    return 1 if refused else 0
