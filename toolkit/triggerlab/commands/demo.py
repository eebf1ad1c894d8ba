from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from triggerlab.errors import InputError
from triggerlab.files import load_campaign
from triggerlab.validation import check_campaign
from triggerlab.workspace import Workspace

#: the repository's sample data (an editable install runs from the source tree)
SAMPLE_DATA = Path(__file__).resolve().parents[3] / "sample_data"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="the main job on the shipped sample data")
    p.add_argument("--data", type=Path, default=SAMPLE_DATA, help="sample data folder (%(default)s)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    campaigns_dir = args.data / "campaigns"
    paths = sorted(campaigns_dir.glob("*.yaml"))
    if not paths:
        raise InputError(f"{campaigns_dir}: no sample campaigns here; pass --data DIR")
    with tempfile.TemporaryDirectory() as tmp, Workspace(Path(tmp) / "demo.duckdb") as ws:
        for path in paths:
            campaign = load_campaign(path)
            check_campaign(campaign, source=str(path))
            published = ws.publish(campaign)
            print(f"{path.name}: valid; published {published.name!r} as campaign {published.id}")
    return 0
