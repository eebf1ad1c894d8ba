"""The typed value ``__s`` of the static payload check: the ``json_transform`` shape of a contract, the
proof that a payload keeps it, and whether that value decides every check (see :mod:`.payload_sql`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from triggerlab.templates.schema import SchemaNode

__all__ = ["Decidable", "Proof", "looped", "struct_field", "structure", "transformable"]


def struct_field(expression: str, key: str) -> str:
    return f'{expression}."{key.replace(chr(34), chr(34) * 2)}"'


def structure(node: SchemaNode, leaf: str) -> Any:
    """The ``json_transform`` shape of a node: objects as STRUCTs, arrays as LISTs, anything else ``leaf``.

    ``JSON`` keeps a leaf's raw text (its first character is its type); ``VARCHAR``, about a fifth cheaper to
    transform, writes numbers and booleans as their text, which is enough under ``coerce`` (objects and
    arrays still start with ``{`` and ``[``)."""
    if node.kind == "object":
        return {key: structure(child, leaf) for key, child in node.properties.items()}
    if node.kind == "array":
        return [structure(node.items, leaf) if node.items is not None else leaf]
    return leaf


def looped(node: SchemaNode) -> bool:
    """Whether the contract has an array: without one, the exact stage is a single parse already."""
    if node.kind == "array":
        return True
    return any(looped(child) for child in node.properties.values())


def transformable(node: SchemaNode) -> bool:
    """STRUCT field names are case-insensitive and not empty: such contracts take the exact stage only."""
    if node.kind == "object":
        keys = [key.lower() for key in node.properties]
        if not keys or "" in keys or len(set(keys)) < len(keys):
            return False
        return all(transformable(child) for child in node.properties.values())
    if node.kind == "array" and node.items is not None:
        return transformable(node.items)
    return True


@dataclass
class _Levels:
    """What the visitors of the typed value share: one lambda variable per array level."""

    coerce: bool
    depth: int = 0
    #: the lambda variables' prefix (one per visitor, so the conditions read apart)
    prefix: ClassVar[str] = "__v"

    def elements(self, values: str, conditions: Callable[[str], list[str]]) -> list[str]:
        """Every element of the list ``values`` keeps ``conditions(var)``, ``var`` naming the element."""
        self.depth += 1
        var = f"{self.prefix}{self.depth}"
        each = conditions(var)
        self.depth -= 1
        return _every(values, var, each)


@dataclass
class Proof(_Levels):
    """The fast stage: one condition on the typed value ``__s``, true only for a payload without findings.

    A field of ``__s`` is NULL when the key is absent, holds JSON ``null``, or (for an array) holds no
    array; an object that was not one comes out with every field NULL. So the proof takes as required every
    array and every key whose ``null`` would be a finding (an object; a string under ``strict``): a payload
    that omits such an optional key is left to :class:`Decidable`.

    Its cost over the bare ``json_transform`` is about 0.15 s of CPU per million orders (one thread), 0.09 s
    of it the inner array's lambda; writing the conditions otherwise (no ``::VARCHAR``, ``coalesce`` for the
    NULL tests, the inner lists flattened first, a list comprehension) measured the same or slower. VARCHAR
    leaves transform about 15% faster than JSON leaves (0.74 s against 0.87 s), but under ``strict`` they
    tell a string from a number only by its first character, and strict payloads carry numbers as strings
    ("1234", "37.20"): every such payload would become a suspect."""

    def leaf(self, value: str) -> str:
        if self.coerce:
            return f"NOT {_opaque(value)}"
        return f"prefix({value}::VARCHAR, '\"')"

    def keeps(self, node: SchemaNode, value: str, root: bool = False) -> list[str]:
        """What makes ``value`` (not NULL) keep ``node``; never NULL itself, so that lists can fold it."""
        if node.kind == "string":
            return [self.leaf(value)]
        if node.kind == "array":
            items = node.items
            if items is None or items.kind is None:
                return []
            return self.elements(value, lambda var: self._item_kept(items, var))
        if node.kind != "object":
            return []
        present: list[str] = []  # keys taken as required: their NULL is never kept
        out: list[str] = []
        for key, child in node.properties.items():
            f = struct_field(value, key)
            if key in node.required or child.kind == "array" or _ambiguous(child, self.coerce, False):
                present.append(key)
                out.extend([f"{f} IS NOT NULL", *self.keeps(child, f)])
            elif child.kind is not None:
                out.append(f"({f} IS NULL OR ({' AND '.join(self.keeps(child, f))}))")
        if not root and not present:  # a key taken as required already sees a value that was no object
            out.insert(0, _some_field(node, value))
        return out

    def _item_kept(self, items: SchemaNode, var: str) -> list[str]:
        each = self.keeps(items, var)
        if items.kind == "object":  # an object's own conditions fail on NULL: some field must be there
            return each
        return [f"{var} IS NOT NULL", *each]

    def proof(self, column: str, tree: SchemaNode) -> str:
        return "\n    AND ".join([f"prefix({column}, '{{')", *self.keeps(tree, "__s", root=True)])


def _every(values: str, var: str, conditions: list[str]) -> list[str]:
    """Every element of ``values`` keeps ``conditions`` (never NULL); an empty list does, as it should."""
    if not conditions:
        return []
    body = " AND ".join(conditions)
    return [f"NOT list_contains(list_transform({values}, lambda {var}: {body}), false)"]


def _opaque(value: str) -> str:
    """A VARCHAR leaf (``coerce``) starting with ``{`` or ``[``: an object, an array or such a string."""
    return f"(prefix({value}, '{{') OR prefix({value}, '['))"


def _some_field(node: SchemaNode, value: str) -> str:
    """An object that was not one has every field NULL (so has an object holding none of the keys)."""
    return "(" + " OR ".join(f"{struct_field(value, key)} IS NOT NULL" for key in node.properties) + ")"


def _ambiguous(node: SchemaNode, coerce: bool, required: bool) -> bool:
    """Whether a NULL field of ``__s`` needs telling an absent key from JSON ``null``: they give different
    findings for an object, a required key, and a string under ``strict``."""
    if node.kind == "array":
        return False  # its NULL may also be a wrong shape: never decided from __s
    return node.kind == "object" or required or (node.kind == "string" and not coerce)


@dataclass
class Decidable(_Levels):
    """Whether ``__s`` alone decides every check of :class:`.payload_sql._Builder` (then its ``derived``
    findings are the exact stage's): every array and array element is there (NULL may be a wrong shape),
    every object that is there has a non-NULL field (all NULL may be a wrong shape), a ``coerce`` leaf does
    not start with ``{`` or ``[`` (an object, or a string so written), and a NULL field is an absent key: the
    payload text has no ``null`` at all, or every field where absence and ``null`` differ
    (:func:`_ambiguous`) is there.

    Measured on the benchmark's million orders (one thread, one run): the 20,108 payloads the proof leaves
    (10,310 broken, 9,798 that omit an optional key) cost 0.08 s of CPU here, 0.025 s of it this condition;
    before, a second proof for the omitted keys (0.07 s) and the exact stage (0.20 s) cost 0.27 s. Keeping
    that second proof before this branch made the whole query slower there (0.85 s against 0.66 s, two
    threads, a busy machine) and hardly faster (0.63 s against 0.66 s) where half the payloads omit the key.
    Gathering the failing checks' numbers in one lambda per array level (``list_sort(list_distinct(...))``
    into ``list_select``) instead of one ``list_contains`` per check made the whole query slower (1.14 s
    against 1.06 s): the small lists built per element cost more than the lambdas they save."""

    prefix: ClassVar[str] = "__e"

    def shapes(self, node: SchemaNode, value: str, root: bool = False) -> list[str]:
        """``value`` (not NULL) is decided by its shape; never NULL itself, so that lists can fold it."""
        if node.kind == "array":
            items = node.items
            if items is None or items.kind is None:
                return []
            return self.elements(value, lambda var: self._item_shaped(items, var))
        if node.kind != "object":
            return []
        out = [] if root else [_some_field(node, value)]
        for key, child in node.properties.items():
            f = struct_field(value, key)
            if child.kind == "array":
                out.extend([f"{f} IS NOT NULL", *self.shapes(child, f)])
            elif child.kind == "object":
                out.append(f"({f} IS NULL OR ({' AND '.join(self.shapes(child, f))}))")
            elif child.kind == "string" and self.coerce:
                out.append(f"({f} IS NULL OR NOT {_opaque(f)})")
        return out

    def _item_shaped(self, items: SchemaNode, var: str) -> list[str]:
        if items.kind == "string":
            return [f"({var} IS NULL OR NOT {_opaque(var)})"] if self.coerce else []
        return [f"{var} IS NOT NULL", *self.shapes(items, var)]

    def present(self, node: SchemaNode, value: str) -> list[str]:
        """Every field of ``value`` (not NULL, shape decided) where absence and ``null`` differ is there."""
        if node.kind == "array":
            items = node.items
            if items is None or items.kind not in ("object", "array"):
                return []
            return self.elements(value, lambda var: self.present(items, var))
        out: list[str] = []
        for key, child in node.properties.items():
            f = struct_field(value, key)
            if _ambiguous(child, self.coerce, key in node.required):
                out.append(f"{f} IS NOT NULL")
            if child.kind in ("object", "array"):
                out.extend(self.present(child, f))
        return out

    def decided(self, column: str, tree: SchemaNode) -> str:
        conditions = [f"prefix({column}, '{{')", *self.shapes(tree, "__s", root=True)]
        present = self.present(tree, "__s")
        if present:
            conditions.append(f"(NOT contains({column}, 'null') OR ({' AND '.join(present)}))")
        return "\n    AND ".join(conditions)
