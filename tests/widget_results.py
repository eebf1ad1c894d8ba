"""A small SimulationResult built by hand (no simulator), for the report widget's tests and browser test."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from triggerlab.files import load_campaign
from triggerlab.frames import GOAL_EVENTS_SCHEMA, MESSAGES_SCHEMA, OUTCOMES_SCHEMA
from triggerlab.results import SimulationResult

CAMPAIGNS = Path(__file__).resolve().parents[1] / "sample_data" / "campaigns"
PUSH = "1750575722"
EMAIL = "1695721550"


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 2, hour, minute, tzinfo=UTC)


# request, line, recipient, campaign, identity, received hour, status, reason, delivery hour, delayed
_ROWS = [
    ("t1", 1, 1, PUSH, "u1", 8, "sent", None, 8, False),
    ("t2", 2, 1, PUSH, "u2", 8, "sent", None, 9, False),
    ("t3", 3, 1, PUSH, "u3", 9, "control", None, None, None),
    ("t4", 4, 1, PUSH, "u4", 10, "not_in_segment", "App Launched at_least 3", None, None),
    ("t5", 5, 1, EMAIL, "u5", 10, "sent", None, 10, False),
    ("t6", 6, 1, EMAIL, "u6", 22, "sent", None, 3, True),
    ("t7", 7, 1, "999", "u7", 11, "unknown_campaign", None, None, None),
    ("t8", 8, 1, EMAIL, "u8", 12, "render_error", "message.html: boom", None, None),
]


def small_result() -> SimulationResult:
    rows = []
    for request, line, recipient, campaign, identity, hour, status, reason, delivery, delayed in _ROWS:
        at = None if delivery is None else _at(delivery) if delivery >= hour else _at(delivery).replace(day=3)
        rows.append(
            {
                "request_id": request,
                "line": line,
                "recipient": recipient,
                "campaign_id": campaign,
                "identity": identity,
                "received_at": _at(hour),
                "status": status,
                "reason": reason,
                "bucket": 50,
                "delivery_at": at,
                "delivery_local": None if at is None else at.isoformat(),
                "delayed": delayed,
                "missing_keys": [],
                "converted": status in ("sent", "control") and identity in ("u1", "u3"),
            }
        )
    outcomes = pl.DataFrame(rows, schema=OUTCOMES_SCHEMA)
    goal_events = pl.DataFrame(
        [
            {"campaign_id": PUSH, "identity": "u1", "ts": _at(12), "revenue": None},
            {"campaign_id": PUSH, "identity": "u3", "ts": _at(13), "revenue": None},
        ],
        schema=GOAL_EVENTS_SCHEMA,
    )
    push = {
        "title": "12,000 steps! 🎉",
        "body": "Way to go, Asha.",
        "deep_link": "fitapp://progress/2026-11-02",
    }
    email = {
        "from_email": "orders@shoplane.example",
        "subject": "Your order",
        "html": "<p>Hey <b>Ravi</b></p>",
    }
    messages = pl.DataFrame(
        [
            {
                "request_id": "t1",
                "recipient": 1,
                "campaign_id": PUSH,
                "identity": "u1",
                "status": "sent",
                "delivery_at": _at(8),
                "fields": json.dumps(push),
            },
            {
                "request_id": "t5",
                "recipient": 1,
                "campaign_id": EMAIL,
                "identity": "u5",
                "status": "sent",
                "delivery_at": _at(10),
                "fields": json.dumps(email),
            },
        ],
        schema=MESSAGES_SCHEMA,
    )
    return SimulationResult(
        outcomes=outcomes,
        campaigns=[
            load_campaign(CAMPAIGNS / "fitness_milestone.yaml"),
            load_campaign(CAMPAIGNS / "order_confirmation.yaml"),
        ],
        requests=8,
        goal_events=goal_events,
        messages=messages,
    )
