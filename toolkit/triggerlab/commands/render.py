"""``triggerlab render CAMPAIGN --profile JSON|FILE --payload JSON|FILE``: one message, as sent."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from triggerlab.errors import InputError
from triggerlab.files import load_campaign, load_settings
from triggerlab.templates.payload import validate_payload
from triggerlab.templates.render import RenderedMessage, render
from triggerlab.validation import check_campaign


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "render",
        help="render a campaign's message for one profile and payload; exit 1 when it aborts or fails",
    )
    p.add_argument("campaign", metavar="CAMPAIGN", help="campaign file (.yaml or .json)")
    p.add_argument(
        "--profile", default="{}", metavar="JSON|FILE", help="the profile's set columns (JSON object)"
    )
    p.add_argument("--payload", default="{}", metavar="JSON|FILE", help="the ExternalTrigger object (JSON)")
    p.add_argument("--settings", metavar="FILE", help="workspace settings (triggerlab.yaml)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(run=run)


def read_json_object(text: str, flag: str) -> dict[str, Any]:
    """A JSON object given inline or as a file path."""
    source = text
    if not text.lstrip().startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise InputError(f"{flag}: not a JSON object and not a file: {text}")
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{flag}: cannot read {text}: {exc}") from None
    try:
        value = json.loads(source)
    except ValueError as exc:
        raise InputError(f"{flag}: not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InputError(f"{flag}: must be a JSON object (got {type(value).__name__})")
    return value


def _print_human(result: RenderedMessage) -> None:
    status = result.status if result.reason is None else f"{result.status} ({result.reason})"
    print(f"status: {status}")
    for name, value in result.fields.items():
        if isinstance(value, str) and "\n" not in value:
            print(f"message.{name}: {value}")
        elif isinstance(value, str):
            print(f"message.{name}:")
            print("\n".join(f"  {line}" for line in value.splitlines()))
        else:
            print(f"message.{name}: {json.dumps(value, ensure_ascii=False)}")
    for key in result.missing_keys:
        print(f"missing key: {key}")
    for key in result.defaults_used:
        print(f"default used: {key}")


def run(args: argparse.Namespace) -> int:
    campaign = load_campaign(args.campaign)
    check_campaign(campaign, source=args.campaign)
    settings = load_settings(args.settings)
    profile = read_json_object(args.profile, "--profile")
    payload = read_json_object(args.payload, "--payload")
    result = render(campaign, profile, payload, settings=settings)
    findings = validate_payload(campaign, payload, settings=settings)
    if args.json:
        out = {
            "status": result.status,
            "reason": result.reason,
            "fields": result.fields,
            "missing_keys": list(result.missing_keys),
            "defaults_used": list(result.defaults_used),
            "payload_findings": [str(f) for f in findings],
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        _print_human(result)
        for finding in findings:
            print(f"payload: {finding}")
    return 0 if result.ok else 1
