from __future__ import annotations

import argparse
import json
from typing import Any

from triggerlab.campaign import Campaign
from triggerlab.errors import InputError
from triggerlab.files import load_campaign
from triggerlab.settings import Settings
from triggerlab.validation import check_campaign


def _payload(args: argparse.Namespace) -> dict[str, Any]:
    if not args.campaign:
        raise InputError("schema payload needs a campaign file: triggerlab schema payload CAMPAIGN")
    from triggerlab.templates.schema import payload_schema

    campaign = load_campaign(args.campaign)
    check_campaign(campaign, source=args.campaign)
    return payload_schema(campaign)


#: what ``triggerlab schema`` can print: name -> function(args) giving the JSON Schema
SCHEMAS: dict[str, Any] = {
    "campaign": lambda args: Campaign.model_json_schema(),
    "settings": lambda args: Settings.model_json_schema(),
    "payload": _payload,
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("schema", help="print a JSON Schema: campaign, settings, or payload CAMPAIGN")
    p.add_argument("kind", choices=sorted(SCHEMAS), help="which schema")
    p.add_argument("campaign", nargs="?", metavar="CAMPAIGN", help="campaign file (for payload)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.kind != "payload" and args.campaign:
        raise InputError(f"schema {args.kind} takes no campaign file (got {args.campaign})")
    print(json.dumps(SCHEMAS[args.kind](args), indent=2, ensure_ascii=False))
    return 0
