"""A small hand-written simulation outcome shared by the results and report tests.

Campaign 100 (push, goal Purchased within 1d, revenue Amount) and campaign 200 (email, no goal). Twelve
recipient rows from eleven requests, one for each interesting case:

| line | campaign | user | status           | note                                                     |
|------|----------|------|------------------|----------------------------------------------------------|
| 1    | 100      | u1   | sent             | Kolkata user; recipient 0 of request r1                  |
| 1    | 100      | u2   | control          | recipient 1 of request r1                                |
| 2    | 100      | u3   | sent             | received 22:00, delayed to 09:00 the next day (UTC user) |
| 3    |          |      | invalid_request  | unreadable line                                          |
| 4    | 999      | u1   | unknown_campaign |                                                          |
| 5    | 200      | u4   | frequency_capped | allotted, never delivered                                |
| 6    | 200      | u5   | sent             | New York user                                            |
| 7    | 100      | u1   | sent             | u1's second row; its goal window overlaps line 1's       |
| 8    | 100      | u6   | control          | never converts                                           |
| 9    | 100      | u7   | target_capped    |                                                          |
| 10   | 200      | u8   | render_error     | allotted, never delivered                                |
| 11   | 200      | u9   | expired          | allotted in the history already                          |

History allotments: (200, u9), (200, u10), (100, u11).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl

from triggerlab.campaign import Campaign
from triggerlab.frames import GOAL_EVENTS_SCHEMA, HISTORY_ALLOTTED_SCHEMA, OUTCOMES_SCHEMA
from triggerlab.results import SimulationResult
from triggerlab.settings import Settings

ENGINE_WARNING = "profile u5: time zone 'Mars/Olympus' is not valid; using the workspace zone UTC"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


CAMPAIGNS = [
    Campaign.model_validate(
        {
            "id": "100",
            "name": "Purchase nudge <push>",
            "channel": "push",
            "goal": {"event": "Purchased", "within": "1d", "revenue_property": "Amount"},
            "control_group": 50,
            "message": {"title": "Hi", "body": "There"},
        }
    ),
    Campaign.model_validate(
        {
            "id": "200",
            "name": "Receipt",
            "channel": "email",
            "message": {"from_email": "shop@example.com", "subject": "Your receipt"},
        }
    ),
]


def _row(
    line: int,
    campaign: str,
    user: str,
    status: str,
    reason: str | None = None,
    *,
    request: str | None = None,
    recipient: int = 0,
    received: datetime | None = None,
    delivery: tuple[datetime, str, bool] | None = None,
    rendered: bool = False,
    converted: bool | None = None,
) -> dict[str, Any]:
    delivery_at, delivery_local, delayed = delivery or (None, None, None)
    return {
        "request_id": request or f"r{line}",
        "line": line,
        "recipient": recipient,
        "campaign_id": campaign,
        "identity": user,
        "received_at": received,
        "status": status,
        "reason": reason,
        "bucket": 42 if user and campaign in ("100", "200") else None,
        "delivery_at": delivery_at,
        "delivery_local": delivery_local,
        "delayed": delayed,
        "missing_keys": [] if rendered else None,
        "converted": converted,
    }


ROWS = [
    _row(
        1, "100", "u1", "sent", received=at(1, 10),
        delivery=(at(1, 10), "2026-11-01T15:30:00+05:30", False), rendered=True, converted=True,
    ),
    _row(1, "100", "u2", "control", "in the campaign control group", recipient=1, received=at(1, 10),
         converted=True),
    _row(
        2, "100", "u3", "sent", received=at(1, 22),
        delivery=(at(2, 9), "2026-11-02T09:00:00+00:00", True), rendered=True, converted=True,
    ),
    _row(3, "", "", "invalid_request", "the line is not a JSON object", request="3"),
    _row(4, "999", "u1", "unknown_campaign", "campaign 999 is not among the campaigns simulated",
         received=at(1, 11)),
    _row(
        5, "200", "u4", "frequency_capped", "email cap 1 per day is full", received=at(1, 10, 15),
        delivery=(at(1, 10, 15), "2026-11-01T15:45:00+05:30", False), rendered=True,
    ),
    _row(
        6, "200", "u5", "sent", received=at(1, 10, 30),
        delivery=(at(1, 10, 30), "2026-11-01T05:30:00-05:00", False), rendered=True,
    ),
    _row(
        7, "100", "u1", "sent", received=at(1, 20),
        delivery=(at(1, 20), "2026-11-02T01:30:00+05:30", False), rendered=True, converted=True,
    ),
    _row(8, "100", "u6", "control", "in the campaign control group", received=at(1, 10), converted=False),
    _row(9, "100", "u7", "target_capped", "targeting cap of 100 users reached", received=at(1, 12)),
    _row(10, "200", "u8", "render_error", "subject: Liquid error", received=at(1, 13), rendered=True),
    _row(
        11, "200", "u9", "expired", "delivery after schedule.end", received=at(1, 14),
        delivery=(at(1, 14), "2026-11-01T14:00:00+00:00", False), rendered=True,
    ),
]  # fmt: skip

GOAL_EVENTS = [
    ("100", "u1", at(1, 10), "1000"),  # at received_at exactly: outside (received_at, +1d]
    ("100", "u1", at(1, 12), "10.5"),
    ("100", "u1", at(2, 9), "\u00a020 "),  # inside both u1 windows: counted once; NBSP trimmed
    ("100", "u3", at(2, 22), "abc"),  # at received_at + 1d exactly: inside; not a number
    ("100", "u2", at(1, 11), "5"),
    ("100", "u2", at(1, 12), None),  # unset revenue: 0, not reported
    ("100", "u6", at(3, 0), "7"),  # after u6's window
]

HISTORY = [("200", "u9"), ("200", "u10"), ("100", "u11")]


def outcomes() -> pl.DataFrame:
    return pl.DataFrame(ROWS, schema=OUTCOMES_SCHEMA, orient="row")


def result(**changes: Any) -> SimulationResult:
    arguments: dict[str, Any] = {
        "outcomes": outcomes(),
        "campaigns": CAMPAIGNS,
        "settings": Settings(timezone="UTC"),
        "requests": 11,
        "warnings": [ENGINE_WARNING],
        "goal_events": pl.DataFrame(GOAL_EVENTS, schema=GOAL_EVENTS_SCHEMA, orient="row"),
        "history_allotted": pl.DataFrame(HISTORY, schema=HISTORY_ALLOTTED_SCHEMA, orient="row"),
    }
    return SimulationResult(**(arguments | changes))
