"""How audience filters read values (spec/semantics.md "Audience" and "Edges"), in plain Python.

A value is *numeric* when it is a finite typed number (not a boolean, NaN or an infinity) or text matching
``-?\\d+(\\.\\d+)?`` once trimmed of Unicode white space (ASCII digits); numbers compare as exact decimals.
Everything else compares as text: booleans as ``true``/``false``, numbers (NaN as ``nan``) as their decimal
text, dates and times as Python's ISO text. The DuckDB engine builds the same comparisons in SQL
(:mod:`triggerlab.engine.duck_filters`).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from triggerlab.audience import PropertyFilter

__all__ = ["WHITESPACE", "as_number", "as_text", "matches", "trim"]

#: Unicode white space as ``str.strip()`` removes it, spelled once so SQL can use the same class
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def trim(text: str) -> str:
    return text.strip(WHITESPACE)


def as_number(value: Any) -> Decimal | None:
    """The exact decimal a value stands for, or None when it is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # NaN and the infinities are no decimal number (a DECIMAL cannot hold them): they compare as text
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(trimmed := trim(value)):
        return Decimal(trimmed)
    return None


def as_text(value: Any) -> str:
    """The text a value compares as when either side is not a number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _equals(actual: Any, expected: Any) -> bool:
    left, right = as_number(actual), as_number(expected)
    if left is not None and right is not None:
        return left == right
    return as_text(actual) == as_text(expected)


def _order(actual: Any, expected: Any) -> int:
    left, right = as_number(actual), as_number(expected)
    if left is not None and right is not None:
        return (left > right) - (left < right)
    a, b = as_text(actual), as_text(expected)
    return (a > b) - (a < b)


def matches(rule: PropertyFilter, actual: Any) -> bool:
    """One property condition on one value (None: the property is not set)."""
    op, expected = rule.op, rule.value
    if actual is None:
        return op in ("not_equals", "not_in", "not_exists")
    if op == "exists":
        return True
    if op == "not_exists":
        return False
    options = expected if isinstance(expected, list) else [expected]
    if op in ("equals", "in"):
        return any(_equals(actual, option) for option in options)
    if op in ("not_equals", "not_in"):
        return not any(_equals(actual, option) for option in options)
    if op == "contains":
        return as_text(expected) in as_text(actual)
    sign = _order(actual, expected)
    return {"gt": sign > 0, "gte": sign >= 0, "lt": sign < 0, "lte": sign <= 0}[op]
