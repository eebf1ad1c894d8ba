"""Audience filters as data: user-property filters and past-behaviour (event) filters.

How they are evaluated (operator typing, look-back windows, unset properties) is settled by
spec/semantics.md "Audience (rule 5)"; the engines implement it, this module only describes and checks.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from triggerlab._model import Model, Whole, broken, show
from triggerlab.durations import parse_duration

__all__ = [
    "EVENT_FILTER_KEYS",
    "OPERATORS",
    "Aggregate",
    "Audience",
    "EventFilter",
    "Filter",
    "PropertyFilter",
    "Scalar",
]

Operator = Literal[
    "equals", "not_equals", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "exists", "not_exists"
]
OPERATORS: tuple[str, ...] = get_args(Operator)
Scalar = str | int | float | bool
_LIST_OPS = {"in", "not_in"}
_NO_VALUE_OPS = {"exists", "not_exists"}


class PropertyFilter(Model):
    """``{property: Customer Type, op: equals, value: Gold}``; ``in``/``not_in`` take a list."""

    property: str = Field(min_length=1)
    op: Operator
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _value_fits_operator(self) -> PropertyFilter:
        if self.op in _NO_VALUE_OPS:
            if self.value is not None:
                broken(f"operator {self.op} takes no value (got {show(self.value)})")
        elif self.op in _LIST_OPS:
            if not isinstance(self.value, list) or not self.value:
                broken(f"operator {self.op} needs a non-empty list of values (got {show(self.value)})")
        elif self.value is None or isinstance(self.value, list):
            broken(f"operator {self.op} needs a single value (got {show(self.value)})")
        return self


class Aggregate(Model):
    """A bound on the sum or average of an event property: ``{property: Amount, gte: 100}``."""

    property: str = Field(min_length=1)
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    equals: float | None = None

    @model_validator(mode="after")
    def _has_bound(self) -> Aggregate:
        if all(getattr(self, k) is None for k in ("gt", "gte", "lt", "lte", "equals")):
            broken("needs at least one bound: gt, gte, lt, lte or equals")
        return self


class EventFilter(Model):
    """Past behaviour: did (or did not) do ``event``, with counts, aggregates and a look-back window."""

    event: str = Field(min_length=1)
    did: bool = True
    at_least: Whole | None = Field(default=None, ge=0)
    at_most: Whole | None = Field(default=None, ge=0)
    exactly: Whole | None = Field(default=None, ge=0)
    within: str | None = None
    where: list[PropertyFilter] = Field(default_factory=list)
    sum: Aggregate | None = None
    avg: Aggregate | None = None

    @field_validator("within", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value is None:
            return None
        try:
            return str(parse_duration(value))
        except ValueError as exc:
            broken(str(exc))


EVENT_FILTER_KEYS: tuple[str, ...] = tuple(EventFilter.model_fields)


def _filter_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "EventFilter" if "event" in value else "PropertyFilter"
    return type(value).__name__


Filter = Annotated[
    Annotated[PropertyFilter, Tag("PropertyFilter")] | Annotated[EventFilter, Tag("EventFilter")],
    Discriminator(_filter_kind),
]


class Audience(Model):
    """Who qualifies beyond the trigger itself: ``all`` or ``any`` of the filters (none: everyone)."""

    match: Literal["all", "any"] = "all"
    filters: list[Filter] = Field(default_factory=list)
