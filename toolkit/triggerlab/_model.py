"""The base every document model shares, and the one way rules report a broken value."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

__all__ = ["Model", "broken", "show"]


class Model(BaseModel):
    """Strict about unknown keys (a typo is an error, not a silently ignored field)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


def show(value: Any) -> str:
    """A value as the user wrote it, for ``(got ...)``: JSON text, dates and times in ISO form."""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def broken(message: str) -> NoReturn:
    """Raise a rule violation whose text is shown as is after the field path."""
    raise PydanticCustomError("triggerlab", message)
