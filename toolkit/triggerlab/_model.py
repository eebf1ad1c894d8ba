"""The base every document model shares, and the one way rules report a broken value."""

from __future__ import annotations

import json
from typing import Annotated, Any, NoReturn

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

__all__ = ["Model", "Whole", "broken", "show"]


class Model(BaseModel):
    """Strict about unknown keys (a typo is an error, not a silently ignored field)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


#: the longest value ``show`` writes whole; a longer one (a whole file read as one text) is cut
_SHOWN = 120


def show(value: Any) -> str:
    """A value as the user wrote it, for ``(got ...)``: JSON text, dates and times in ISO form, cut after
    ``_SHOWN`` characters with its full length (a message stays one readable line)."""
    if hasattr(value, "isoformat"):
        text = str(value.isoformat())
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    if len(text) <= _SHOWN:
        return text
    return f"{text[:_SHOWN]}... ({len(text):,} characters)"


def broken(message: str) -> NoReturn:
    """Raise a rule violation whose text is shown as is after the field path."""
    raise PydanticCustomError("triggerlab", message)


def _not_a_bool(value: Any) -> Any:
    # pydantic reads true as 1: a later range check would then report "(got 1)" for what the user wrote
    if isinstance(value, bool):
        broken(f"must be a whole number (got {show(value)})")
    return value


#: a whole number field: ``true``/``false`` are refused as what they are, not read as 1 and 0
Whole = Annotated[int, BeforeValidator(_not_a_bool)]
