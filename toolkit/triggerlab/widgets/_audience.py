"""The audience section: rows of user-property and past-behaviour filters that can be added and removed.

Each row edits one filter as the plain data the Campaign model reads (``{property, op, value}`` or
``{event, did, at_least, ..., where, sum, avg}``); the builder validates the whole campaign and hands the
findings back to the rows by path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import ipywidgets as w

from triggerlab.audience import OPERATORS
from triggerlab.widgets._field import Field, format_number, format_scalar, parse_scalar, parse_scalars
from triggerlab.widgets._summary import OP_LABELS

__all__ = ["AudienceSection", "EventRow", "PropertyRow"]

Changed = Callable[[], None]
_NO_VALUE_OPS = ("exists", "not_exists")
_LIST_OPS = ("in", "not_in")
_BOUNDS = ("gt", "gte", "lt", "lte", "equals")


class Row(Protocol):
    box: w.Box

    def dump(self) -> dict[str, Any]: ...

    def fields(self, prefix: str) -> dict[str, Field]: ...


def _text(placeholder: str, width: str, value: str = "") -> w.Text:
    return w.Text(value=value, placeholder=placeholder, continuous_update=True, layout=w.Layout(width=width))


def _remove_button(tooltip: str) -> w.Button:
    return w.Button(icon="trash", tooltip=tooltip, layout=w.Layout(width="34px"), button_style="")


class RowList:
    """A growing and shrinking list of rows in a VBox; paths follow the rows' current order."""

    def __init__(self, changed: Changed) -> None:
        self.rows: list[Row] = []
        self.box = w.VBox([])
        self._changed = changed

    def add(self, row: Row, remove: w.Button) -> None:
        self.rows.append(row)
        remove.on_click(lambda _button: self.remove(row))
        self.box.children = [r.box for r in self.rows]
        self._changed()

    def remove(self, row: Row) -> None:
        self.rows.remove(row)
        self.box.children = [r.box for r in self.rows]
        self._changed()

    def clear(self) -> None:
        self.rows = []
        self.box.children = []

    def dump(self) -> list[dict[str, Any]]:
        return [row.dump() for row in self.rows]

    def fields(self, prefix: str) -> dict[str, Field]:
        found: dict[str, Field] = {}
        for index, row in enumerate(self.rows):
            found.update(row.fields(f"{prefix}.{index}"))
        return found


class PropertyRow:
    """``<property> <operator> <value>``; ``in``/``not_in`` take comma-separated values."""

    def __init__(self, changed: Changed, data: dict[str, Any] | None = None, *, remove: w.Button) -> None:
        data = data or {}
        self.property = Field(
            None, _text("Property, e.g. Customer Type", "210px", str(data.get("property", "")))
        )
        options = [(OP_LABELS[op], op) for op in OPERATORS]
        self.op = Field(
            None, w.Dropdown(options=options, value=data.get("op", "equals"), layout=w.Layout(width="140px"))
        )
        self.value = Field(None, _text("Value", "220px", format_scalar(data.get("value"))))
        for field in (self.property, self.op, self.value):
            field.input.observe(lambda _change: changed(), names="value")
        self.op.input.observe(lambda _change: self._placeholder(), names="value")
        self._placeholder()
        self.box = w.HBox([self.property.box, self.op.box, self.value.box, remove])

    def _placeholder(self) -> None:
        op = self.op.input.value
        self.value.input.disabled = op in _NO_VALUE_OPS
        self.value.input.placeholder = (
            "a, b, c" if op in _LIST_OPS else "" if op in _NO_VALUE_OPS else "Value"
        )

    def dump(self) -> dict[str, Any]:
        op = self.op.input.value
        data: dict[str, Any] = {"property": self.property.input.value.strip(), "op": op}
        text = self.value.input.value
        if op in _LIST_OPS:
            data["value"] = parse_scalars(text)
        elif op not in _NO_VALUE_OPS:
            data["value"] = parse_scalar(text) if text.strip() else None
        return data

    def fields(self, prefix: str) -> dict[str, Field]:
        # the row's own rule (the value must fit the operator) shows on the value input
        return {
            prefix: self.value,
            f"{prefix}.property": self.property,
            f"{prefix}.op": self.op,
            f"{prefix}.value": self.value,
        }


class AggregateRow:
    """``sum|average of <property> <bounds>``, bounds written ``gte 100, lt 500``."""

    def __init__(self, changed: Changed, kind: str, data: dict[str, Any] | None, *, remove: w.Button) -> None:
        data = data or {}
        self.kind = w.Dropdown(
            options=[("sum of", "sum"), ("average of", "avg")], value=kind, layout=w.Layout(width="110px")
        )
        self.property = Field(
            None, _text("Event property, e.g. Amount", "200px", str(data.get("property", "")))
        )
        bounds = ", ".join(f"{k} {format_number(data[k])}" for k in _BOUNDS if data.get(k) is not None)
        self.bounds = Field(None, _text("gte 100, lt 500", "200px", bounds))
        for widget in (self.kind, self.property.input, self.bounds.input):
            widget.observe(lambda _change: changed(), names="value")
        self.box = w.HBox([self.kind, self.property.box, self.bounds.box, remove])

    def dump(self) -> dict[str, Any]:
        data: dict[str, Any] = {"property": self.property.input.value.strip()}
        for part in self.bounds.input.value.split(","):
            words = part.split()
            if len(words) == 2:
                data[words[0]] = parse_scalar(words[1])
            elif words:
                # not "<bound> <number>": let the model name what is wrong with it
                data[" ".join(words)] = None
        return data

    def fields(self, prefix: str) -> dict[str, Field]:
        return {f"{prefix}.property": self.property, prefix: self.bounds}


class EventRow:
    """Past behaviour: did / did not do an event, counts, a look-back window, conditions and aggregates."""

    def __init__(self, changed: Changed, data: dict[str, Any] | None = None, *, remove: w.Button) -> None:
        data = data or {}
        self._changed = changed
        self.did = w.Dropdown(
            options=[("did", True), ("did not do", False)],
            value=bool(data.get("did", True)),
            layout=w.Layout(width="110px"),
        )
        self.event = Field(None, _text("Event, e.g. Charged", "200px", str(data.get("event", ""))))
        self.within = Field(
            None, _text("in the last… (30d; blank: ever)", "220px", str(data.get("within") or ""))
        )
        self.counts = {
            key: Field(None, _text(label, "90px", "" if data.get(key) is None else str(data[key])))
            for key, label in (("at_least", "at least"), ("at_most", "at most"), ("exactly", "exactly"))
        }
        for widget in (
            self.did,
            self.event.input,
            self.within.input,
            *(f.input for f in self.counts.values()),
        ):
            widget.observe(lambda _change: changed(), names="value")
        self.where = RowList(changed)
        for condition in data.get("where") or []:
            self._add_where(condition)
        self.aggregates = RowList(changed)
        for kind in ("sum", "avg"):
            if data.get(kind) is not None:
                self._add_aggregate(kind, data[kind])
        add_where = w.Button(
            description="+ condition",
            tooltip="Only events whose properties match",
            layout=w.Layout(width="auto"),
        )
        add_where.on_click(lambda _b: self._add_where(None))
        add_aggregate = w.Button(
            description="+ sum / average", tooltip="Bound the sum or average of a property"
        )
        add_aggregate.on_click(lambda _b: self._add_aggregate("sum", None))
        counts = w.HBox(
            [w.HTML("<span class='tl-label'>times:&nbsp;</span>"), *(f.box for f in self.counts.values())]
        )
        self.box = w.VBox(
            [
                w.HBox([self.did, self.event.box, self.within.box, remove]),
                counts,
                self.where.box,
                self.aggregates.box,
                w.HBox([add_where, add_aggregate]),
            ]
        )
        self.box.add_class("tl-row")

    def _add_where(self, data: dict[str, Any] | None) -> None:
        remove = _remove_button("Remove this condition")
        self.where.add(PropertyRow(self._changed, data, remove=remove), remove)

    def _add_aggregate(self, kind: str, data: dict[str, Any] | None) -> None:
        remove = _remove_button("Remove this bound")
        self.aggregates.add(AggregateRow(self._changed, kind, data, remove=remove), remove)

    def dump(self) -> dict[str, Any]:
        data: dict[str, Any] = {"event": self.event.input.value.strip(), "did": self.did.value}
        for key, field in self.counts.items():
            text = field.input.value.strip()
            if text:
                data[key] = int(text) if text.isdigit() else text
        if self.within.input.value.strip():
            data["within"] = self.within.input.value.strip()
        if self.where.rows:
            data["where"] = self.where.dump()
        for row in self.aggregates.rows:
            assert isinstance(row, AggregateRow)
            data[row.kind.value] = row.dump()
        return data

    def fields(self, prefix: str) -> dict[str, Field]:
        found = {
            prefix: self.event,
            f"{prefix}.event": self.event,
            f"{prefix}.within": self.within,
            **{f"{prefix}.{key}": field for key, field in self.counts.items()},
            **self.where.fields(f"{prefix}.where"),
        }
        for row in self.aggregates.rows:
            assert isinstance(row, AggregateRow)
            found.update(row.fields(f"{prefix}.{row.kind.value}"))
        return found


class AudienceSection:
    """Match all or any of the filter rows; no rows: everyone the trigger names qualifies."""

    def __init__(self, changed: Changed) -> None:
        self._changed = changed
        self.match = w.ToggleButtons(
            options=[("all filters", "all"), ("any filter", "any")],
            value="all",
            style={"button_width": "100px"},
        )
        self.match.observe(lambda _change: changed(), names="value")
        self.filters = RowList(changed)
        self.add_property = w.Button(
            description="+ User property", icon="user", layout=w.Layout(width="auto")
        )
        self.add_property.on_click(lambda _b: self.add_filter({"property": "", "op": "equals"}))
        self.add_event = w.Button(
            description="+ Past behaviour", icon="history", layout=w.Layout(width="auto")
        )
        self.add_event.on_click(lambda _b: self.add_filter({"event": ""}))
        self.empty = w.HTML("<span class='tl-note'>No filters: everyone the trigger names qualifies.</span>")
        match_line = w.HBox([w.HTML("<span class='tl-label'>Users must match&nbsp;</span>"), self.match])
        self.children: list[w.Widget] = [
            match_line,
            self.empty,
            self.filters.box,
            w.HBox([self.add_property, self.add_event]),
        ]

    def add_filter(self, data: dict[str, Any]) -> None:
        remove = _remove_button("Remove this filter")
        row: Row
        if "event" in data:
            row = EventRow(self._changed, data, remove=remove)
        else:
            row = PropertyRow(self._changed, data, remove=remove)
            row.box.add_class("tl-row")
        self.filters.add(row, remove)

    def load(self, audience: dict[str, Any]) -> None:
        self.match.value = audience.get("match", "all")
        self.filters.clear()
        for item in audience.get("filters") or []:
            self.add_filter(item)

    def dump(self) -> dict[str, Any]:
        self.empty.layout.display = "none" if self.filters.rows else None
        return {"match": self.match.value, "filters": self.filters.dump()}

    def fields(self) -> dict[str, Field]:
        return self.filters.fields("audience.filters")
