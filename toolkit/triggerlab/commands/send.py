from __future__ import annotations

import argparse
import json
from typing import Any

from triggerlab.workspace import DEFAULT_WORKSPACE

_VIAS = ("clevertap", "webhook", "smtp", "whatsapp", "fcm")
#: CLI option (dest) -> transport keyword, for the transports that take it
_OPTIONS: dict[str, dict[str, str]] = {
    "clevertap": {"region": "region", "base_url": "base_url", "timeout": "timeout"},
    "webhook": {"allow_network": "allow_networks", "timeout": "timeout"},
    "smtp": {
        "smtp_host": "host",
        "smtp_port": "port",
        "smtp_security": "security",
        "smtp_user_env": "username_env",
        "smtp_password_env": "password_env",
        "smtp_connections": "connections",
        "timeout": "timeout",
    },
    "whatsapp": {
        "whatsapp_phone_number_id": "phone_number_id",
        "token_env": "token_env",
        "base_url": "base_url",
        "timeout": "timeout",
    },
    "fcm": {
        "fcm_project": "project_id",
        "token_env": "token_env",
        "base_url": "base_url",
        "timeout": "timeout",
    },
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "send",
        help="deliver a campaign's messages for a trigger batch (a dry run unless --live)",
        description="Decide and deliver. Without --live nothing is sent and the workspace is not written.",
    )
    p.add_argument("campaigns", nargs="+", metavar="CAMPAIGN", help="published campaign file(s)")
    p.add_argument("--triggers", required=True, metavar="FILE", help="trigger batch (JSONL, Parquet, CSV)")
    p.add_argument("--via", required=True, choices=_VIAS, help="transport")
    p.add_argument("--live", action="store_true", help="really send (default: dry run)")
    p.add_argument("--workspace", default=DEFAULT_WORKSPACE, help="workspace DuckDB file (%(default)s)")
    p.add_argument("--rate", type=float, metavar="N", help="at most N attempts per second")
    p.add_argument(
        "--concurrency", type=int, default=16, metavar="N", help="messages in flight (%(default)s)"
    )
    p.add_argument("--max-attempts", type=int, default=6, metavar="N", help="tries per message and run")
    p.add_argument("--profiles", metavar="FILE", help="profiles table (direct channels)")
    p.add_argument("--events", metavar="FILE", help="events table (direct channels)")
    p.add_argument("--settings", metavar="FILE", help="workspace settings (default: the workspace's)")
    p.add_argument("--at", metavar="TIME", help="received_at for bare requests (ISO-8601)")
    p.add_argument("--address-column", metavar="COL", help="profile column with the channel address")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    t = p.add_argument_group("transport options")
    t.add_argument("--base-url", help="provider base URL (clevertap, whatsapp, fcm)")
    t.add_argument("--region", help="CleverTap region: eu1 in1 sg1 us1 aps3 mec1")
    t.add_argument("--timeout", type=float, help="seconds per request")
    t.add_argument(
        "--allow-network", action="append", metavar="CIDR", help="webhook: allow a private network"
    )
    t.add_argument("--smtp-host")
    t.add_argument("--smtp-port", type=int)
    t.add_argument("--smtp-security", choices=("none", "starttls", "ssl"))
    t.add_argument("--smtp-user-env", metavar="NAME", help="environment variable holding the SMTP user")
    t.add_argument("--smtp-password-env", metavar="NAME", help="environment variable holding the password")
    t.add_argument("--smtp-connections", type=int, metavar="N")
    t.add_argument("--whatsapp-phone-number-id", metavar="ID")
    t.add_argument("--fcm-project", metavar="ID")
    t.add_argument("--token-env", metavar="NAME", help="environment variable holding the provider token")
    p.set_defaults(run=run)


def _transport_options(args: argparse.Namespace) -> dict[str, Any]:
    given = {dest: getattr(args, dest) for dest in _OPTIONS[args.via] if getattr(args, dest) is not None}
    return {_OPTIONS[args.via][dest]: value for dest, value in given.items()}


def run(args: argparse.Namespace) -> int:
    from triggerlab.delivery.api import send
    from triggerlab.delivery.pacing import RetryPolicy

    summary = send(
        args.campaigns,
        triggers=args.triggers,
        via=args.via,
        live=args.live,
        transport_options=_transport_options(args),
        profiles=args.profiles,
        events=args.events,
        settings=args.settings,
        at=args.at,
        workspace=args.workspace,
        rate=args.rate,
        concurrency=args.concurrency,
        retry=RetryPolicy(max_attempts=args.max_attempts),
        address_column=args.address_column,
        progress=not args.no_progress,
    )
    print(json.dumps(summary.as_dict()) if args.json else summary)
    return 1 if summary.failed or summary.dead else 0
