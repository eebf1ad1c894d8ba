"""A labelled input with its own error line, and the mapping of findings onto such fields by path.

Findings carry dotted paths (``targeting_cap``, ``audience.filters.0.value``, ``message.subject``); each
field is registered under the path it edits, and a finding shows on the field with the longest path that
is a prefix of its own, so the error appears next to what the user typed.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

import ipywidgets as w
import yaml

from triggerlab.errors import Finding

__all__ = [
    "Field",
    "format_number",
    "format_scalar",
    "parse_scalar",
    "parse_scalars",
    "place_findings",
    "section",
]

_LABEL_WIDTH = "150px"


class Field:
    """``label  [input]`` with the field's current errors under it (empty when it is valid)."""

    def __init__(self, label: str | None, widget: w.DOMWidget, *, hint: str | None = None) -> None:
        self.input = widget
        self.error = w.HTML("")
        self.error.add_class("tl-error")
        self.messages: tuple[str, ...] = ()
        # the error line takes no room until there is an error to show
        if label is None:  # compact: inside a filter row, the placeholder names the input
            self._error_line = w.HBox([self.error], layout=w.Layout(display="none"))
            self.box = w.VBox([widget, self._error_line])
        else:
            parts: list[w.Widget] = [_label(label), widget]
            if hint:
                parts.append(
                    w.HTML(f"<span class='tl-hint' style='margin-left:8px'>{html.escape(hint)}</span>")
                )
            line = w.HBox(parts, layout=w.Layout(align_items="center"))
            self._error_line = w.HBox([_label(""), self.error], layout=w.Layout(display="none"))
            self.box = w.VBox([line, self._error_line])
        self.box.add_class("tl-field")

    def show(self, messages: Iterable[str]) -> None:
        """Show these error texts (none: the field is valid)."""
        self.messages = tuple(messages)
        self.error.value = "<br>".join(html.escape(m) for m in self.messages)
        self._error_line.layout.display = None if self.messages else "none"
        if self.messages:
            self.input.add_class("tl-invalid")
        else:
            self.input.remove_class("tl-invalid")


def _label(text: str) -> w.Label:
    label = w.Label(text, layout=w.Layout(width=_LABEL_WIDTH, min_width=_LABEL_WIDTH))
    label.add_class("tl-label")
    return label


def _owns(path: str, finding: str) -> bool:
    # "message.html:3:5" (a template position) and 'message.headers["X-Id"]' belong to their field too
    return finding == path or (finding.startswith(path) and finding[len(path)] in ".:[")


def _text(finding: Finding, rest: str) -> str:
    if rest.startswith(":"):  # ":line:column" inside the field's template
        return f"line {rest[1:]}: {finding.message}"
    rest = rest.removeprefix(".")
    where = f"line {finding.line}: " if finding.line is not None else ""
    return f"{rest + ': ' if rest else ''}{where}{finding.message}"


def place_findings(findings: Iterable[Finding], fields: Mapping[str, Field]) -> list[Finding]:
    """Show each finding on its field; return those no field owns (shown with the review instead)."""
    # one field may own several paths (a filter row's own rules show on its value input)
    shown: dict[int, list[str]] = {id(field): [] for field in fields.values()}
    unplaced: list[Finding] = []
    for finding in findings:
        owner = max((p for p in fields if _owns(p, finding.path)), key=len, default=None)
        if owner is None:
            unplaced.append(finding)
            continue
        shown[id(fields[owner])].append(_text(finding, finding.path[len(owner) :]))
    for field in fields.values():
        field.show(shown[id(field)])
    return unplaced


def section(step: int, title: str, hint: str, children: list[w.Widget]) -> w.VBox:
    """A numbered card of the builder, as the product's campaign page shows its sections."""
    head = w.HTML(
        f"<div class='tl-section-head'><span class='tl-step'>{step}</span>"
        f"<span class='tl-section-title'>{html.escape(title)}</span></div>"
        f"<div class='tl-hint'>{html.escape(hint)}</div>"
    )
    box = w.VBox([head, *children])
    box.add_class("tl-section")
    box.add_class(f"tl-section-{title.lower().replace(' ', '-')}")
    return box


def parse_scalar(text: str) -> str | int | float | bool:
    """A filter value as typed: numbers and true/false as YAML reads them, anything else as text."""
    stripped = text.strip()
    try:
        value = yaml.safe_load(stripped) if stripped else ""
    except yaml.YAMLError:
        return stripped
    return value if isinstance(value, str | int | float | bool) else stripped


def parse_scalars(text: str) -> list[str | int | float | bool]:
    """A comma-separated list of values (``in`` / ``not_in``); blanks are dropped."""
    return [parse_scalar(part) for part in text.split(",") if part.strip()]


def format_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(format_scalar(v) for v in value)
    if isinstance(value, float):
        return format_number(value)
    return "" if value is None else str(value)


def format_number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
