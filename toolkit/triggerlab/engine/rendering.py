"""Rule 9 through the templates package's contract: render one row, or learn that no row can fail.

``triggerlab.templates`` owns the dialect; the engines only call :func:`render` and :func:`always_ok`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from triggerlab.campaign import Campaign
from triggerlab.settings import Settings

__all__ = ["Rendered", "always_ok", "fields_json", "render_row"]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A row's rule 9 outcome: ``status`` None when the message rendered."""

    status: str | None
    reason: str | None
    missing_keys: list[str]
    fields: dict[str, Any]


def render_row(
    campaign: Campaign, profile: dict[str, Any], payload: dict[str, Any], settings: Settings
) -> Rendered:
    from triggerlab.templates import render

    result = render(campaign, profile, payload, settings=settings)
    status = None if result.status == "ok" else result.status
    return Rendered(status, result.reason if status else None, list(result.missing_keys), dict(result.fields))


def always_ok(campaign: Campaign, settings: Settings) -> bool:
    """True when no row of the campaign can be ``aborted`` or ``render_error`` (no need to render)."""
    from triggerlab.templates import plan_rendering

    return bool(plan_rendering(campaign, settings).always_ok)


def fields_json(fields: dict[str, Any]) -> str:
    """The rendered fields as JSON text: non-ASCII text as it is, a lone surrogate (from a payload's
    ``"\\ud800"``, which Python's JSON reader accepts) escaped, so the text stays valid UTF-8 for polars."""
    text = json.dumps(fields, ensure_ascii=False, sort_keys=False)
    return _LONE_SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


#: a surrogate code point: in a Python string it can only be a lone one (a pair is one code point)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
