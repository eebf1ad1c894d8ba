from __future__ import annotations

import argparse
from pathlib import Path

from triggerlab.errors import InputError
from triggerlab.workspace import DEFAULT_WORKSPACE, Workspace


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("list", help="list the campaigns published in the workspace")
    p.add_argument("--workspace", default=DEFAULT_WORKSPACE, help="workspace DuckDB file (%(default)s)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not Path(args.workspace).exists():
        raise InputError(f"{args.workspace}: no workspace here yet; run `triggerlab publish CAMPAIGN` first")
    with Workspace(args.workspace, read_only=True) as ws:
        rows = ws.campaigns()
    print(f"{'id':<12}{'version':>8}  {'channel':<9} {'published (UTC)':<20} name")
    for r in rows:
        stamp = r.published_at.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{r.id:<12}{r.version:>8}  {r.channel:<9} {stamp:<20} {r.name}")
    print(f"{len(rows)} campaign(s)")
    return 0
