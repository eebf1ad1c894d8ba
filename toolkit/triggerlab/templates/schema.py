"""The payload contract of a campaign as JSON Schema (draft 2020-12), derived from its templates.

Choices (documented in the README):
* every ``ExternalTrigger`` key a template reads is a property; the payload may carry other keys too;
* a key iterated by ``for``/``tablerow`` or indexed (``items[0]``) is an array; a key with sub-keys is an
  object; a key that is printed is a string (CleverTap sends strings only); a key only tested in a condition,
  passed through an array filter (``join``, ``first``, ...) or followed by a dynamic index has no type;
* ``required``: keys printed without ``default`` or ``| json``, outside any ``if``/``unless``/``case`` branch
  and before any ``{% abort %}`` (inside a loop: required in each item); exactly the keys that would be
  reported in ``missing_keys`` whenever absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from triggerlab.campaign import Campaign
from triggerlab.templates.analysis import ITEM, Use
from triggerlab.templates.campaign_analysis import analyze_campaign
from triggerlab.templates.render import message_key

__all__ = ["ARRAY_FILTERS", "SchemaNode", "payload_schema", "payload_tree"]

#: filters that take an array: a printed value passed through them is not necessarily a string
ARRAY_FILTERS = frozenset(
    {"join", "first", "last", "size", "map", "sort", "sort_natural", "reverse", "uniq", "compact", "concat",
     "where", "reject", "find", "find_index", "has", "sum"}
)  # fmt: skip

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass
class SchemaNode:
    """One level of the payload: ``kind`` is object, array, string or None (any)."""

    kind: str | None = None
    properties: dict[str, SchemaNode] = field(default_factory=dict)
    required: dict[str, None] = field(default_factory=dict)
    items: SchemaNode | None = None
    printed: bool = False

    def child(self, key: str) -> SchemaNode:
        self.kind = "object"
        return self.properties.setdefault(key, SchemaNode())

    def item(self) -> SchemaNode:
        self.kind = "array"
        if self.items is None:
            self.items = SchemaNode()
        return self.items

    def to_json(self) -> dict[str, Any]:
        if self.kind == "object":
            out: dict[str, Any] = {
                "type": "object",
                "properties": {k: v.to_json() for k, v in self.properties.items()},
            }
            if self.required:
                out["required"] = list(self.required)
            return out
        if self.kind == "array":
            return {"type": "array", "items": self.items.to_json()} if self.items else {"type": "array"}
        if self.kind == "string":
            return {"type": "string"}
        return {}


def _add(root: SchemaNode, use: Use) -> None:
    segments = use.segments[1:]
    # required: the keys after the last loop, down to the first index (``items[0].sku`` needs ``items``;
    # ``sku`` is needed in item 0 only, which the one schema of all items cannot say)
    last_item = max((i for i, s in enumerate(segments) if s == ITEM), default=-1)
    node = root
    indexed = False
    for i, seg in enumerate(segments):
        parent = node
        node = node.item() if seg == ITEM or isinstance(seg, int) else node.child(str(seg))
        indexed = indexed or (i > last_item and isinstance(seg, int))
        if use.required and i > last_item and not indexed and isinstance(seg, str):
            parent.required[seg] = None
    if use.dynamic:
        return
    if use.kind == "loop":
        node.item()
    elif use.kind == "value" and not set(use.filters) & ARRAY_FILTERS:
        node.printed = True


def _settle(node: SchemaNode) -> None:
    """A printed key without sub-keys is a string; structure wins when a key is both."""
    if node.kind is None and node.printed:
        node.kind = "string"
    for child in node.properties.values():
        _settle(child)
    if node.items is not None:
        _settle(node.items)


_TREES: dict[tuple[Any, ...], SchemaNode] = {}
_TREES_SIZE = 1024


def payload_tree(campaign: Campaign) -> SchemaNode:
    """The payload structure the campaign's templates read (cached by message text: treat it as read-only)."""
    key = message_key(campaign)
    tree = _TREES.get(key)
    if tree is None:
        if len(_TREES) >= _TREES_SIZE:
            _TREES.pop(next(iter(_TREES)))
        tree = _TREES[key] = _build_tree(campaign)
    return tree


def _build_tree(campaign: Campaign) -> SchemaNode:
    root = SchemaNode(kind="object")
    for _label, use in analyze_campaign(campaign).uses:
        if use.segments[0] == "ExternalTrigger":
            _add(root, use)
    _settle(root)
    root.kind = "object"
    return root


def payload_schema(campaign: Campaign) -> dict[str, Any]:
    """JSON Schema of the ``ExternalTrigger`` object this campaign's message expects."""
    name = f"campaign {campaign.id} ({campaign.name})" if campaign.id else f"campaign {campaign.name}"
    return {
        "$schema": SCHEMA_DIALECT,
        "title": f"ExternalTrigger payload of {name}",
        **payload_tree(campaign).to_json(),
    }
