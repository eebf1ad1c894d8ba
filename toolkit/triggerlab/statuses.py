"""The 15 outcome statuses of the decision pipeline, in rule order (DESIGN.md, "One decision engine").

Every recipient row gets exactly one status: the first rule that stops it, or ``sent``. Rule 9 has two
statuses (``render_error`` and ``aborted``), so 15 statuses map onto 14 rules.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ALLOTTED_STATUSES", "RULES", "STATUSES"]

#: status -> the number of the rule that gives it (DESIGN.md's rule table)
RULES: Final[dict[str, int]] = {
    "invalid_request": 1,
    "unknown_campaign": 2,
    "campaign_inactive": 3,
    "unknown_user": 4,
    "not_in_segment": 5,
    "system_control": 6,
    "control": 7,
    "target_capped": 8,
    "render_error": 9,
    "aborted": 9,
    "dnd_discarded": 10,
    "expired": 11,
    "not_reeligible": 12,
    "frequency_capped": 13,
    "sent": 14,
}

#: every status, in rule order (the order of funnels and of the JSON summary's ``statuses``)
STATUSES: Final[tuple[str, ...]] = tuple(RULES)

#: statuses of rows that passed rule 8 (targeting cap): their user is allotted to the campaign
ALLOTTED_STATUSES: Final[frozenset[str]] = frozenset(status for status, rule in RULES.items() if rule > 8)
