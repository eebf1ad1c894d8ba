"""Checking one trigger payload against its campaign's contract, each finding with its JSON path.

Findings, in this order: the size (UTF-8 bytes of the compact JSON, over ``max_payload_bytes``), then
a walk of the payload in document order: wrong shapes (object / array / string, per ``payload_schema``),
required keys that are absent, and leaves that are not strings (``payload_values: strict``; ``coerce``
accepts numbers, booleans and null). Paths read like templates: ``ExternalTrigger.productDetails[0].name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from triggerlab._model import show
from triggerlab.campaign import Campaign
from triggerlab.errors import Finding
from triggerlab.settings import Settings, payload_size
from triggerlab.templates.dialect import path_text
from triggerlab.templates.schema import SchemaNode, payload_tree

__all__ = ["payload_size", "validate_payload"]

_DEFAULT_SETTINGS = Settings()
_SCALARS_COERCED = (str, int, float, bool, type(None))


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return show(value)


def validate_payload(campaign: Campaign, payload: Any, *, settings: Settings | None = None) -> list[Finding]:
    """Every way ``payload`` breaks the campaign's payload contract (empty when it keeps it)."""
    settings = settings or _DEFAULT_SETTINGS
    if not isinstance(payload, Mapping):
        return [Finding("ExternalTrigger", f"must be an object (got {_kind(payload)})")]
    findings: list[Finding] = []
    try:
        size = payload_size(payload)
    except (ValueError, RecursionError):
        size = None
    if size is None:
        findings.append(Finding("ExternalTrigger", "cannot be written as JSON"))
    elif size > settings.max_payload_bytes:
        findings.append(
            Finding(
                "ExternalTrigger",
                f"is {size:,} bytes as compact JSON;"
                f" the limit is {settings.max_payload_bytes:,} (max_payload_bytes)",
            )
        )
    coerce = settings.payload_values == "coerce"
    stack: list[tuple[Any, SchemaNode | None, tuple[str | int, ...]]] = [
        (payload, payload_tree(campaign), ("ExternalTrigger",))
    ]
    while stack:
        value, node, path = stack.pop()
        where = path_text(path)
        kind = node.kind if node is not None else None
        if kind == "object" and not isinstance(value, Mapping):
            findings.append(Finding(where, f"must be an object (got {_kind(value)})"))
            continue
        if kind == "array" and not isinstance(value, (list, tuple)):
            findings.append(Finding(where, f"must be an array (got {_kind(value)})"))
            continue
        if kind == "string" and isinstance(value, (Mapping, list, tuple)):
            findings.append(Finding(where, f"must be a string (got {_kind(value)})"))
            continue
        children: list[tuple[Any, SchemaNode | None, tuple[str | int, ...]]] = []
        if isinstance(value, Mapping):
            if node is not None:
                for key in node.required:
                    if key not in value:
                        findings.append(
                            Finding(
                                path_text((*path, key)),
                                "is required: the message prints it without a default",
                            )
                        )
            for key, child in value.items():
                sub = node.properties.get(str(key)) if node is not None else None
                children.append((child, sub, (*path, str(key))))
        elif isinstance(value, (list, tuple)):
            sub = node.items if node is not None else None
            children.extend((child, sub, (*path, i)) for i, child in enumerate(value))
        elif not isinstance(value, str):
            if not coerce:
                # the hint only where it holds: coerce accepts JSON's scalars, not any Python value
                hint = "; payload_values: coerce accepts it" if isinstance(value, _SCALARS_COERCED) else ""
                findings.append(Finding(where, f"must be a string (got {show(value)}){hint}"))
            elif not isinstance(value, _SCALARS_COERCED):
                findings.append(
                    Finding(where, f"must be a string, number, boolean or null (got {show(value)})")
                )
        stack.extend(reversed(children))
    return findings
