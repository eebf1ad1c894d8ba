"""The static payload check as one DuckDB query: millions of payloads against a campaign's derived paths.

``payload_check_query`` checks what :func:`validate_payload` checks at the contract's paths: the payload is
an object, required keys are present, and each known path has its shape (object, array, string; under
``payload_values: coerce`` numbers, booleans and null pass as leaves). The size limit and "every leaf is a
string" at paths no template reads are rule 1 of the trigger layer and are not repeated here.

One CASE over three branches, so that a payload is parsed once unless it is both broken and unusual:

* the proof: each payload is cast once with ``json_transform`` to a STRUCT/LIST shape derived from the
  contract, every leaf kept as raw JSON text (its first character is its type; under ``coerce`` as VARCHAR),
  and that typed value alone proves it clean, with one lambda per array level and no copies (see
  :class:`_Proof`); the payloads it does not prove are suspects;
* the decided branch: a suspect whose typed value settles every check (no array or object that may have had
  another shape, no NULL that may be either an absent key or JSON ``null``: see :class:`_Decidable`) gets
  its findings from that value, check by check as the exact stage writes them; this is where broken leaves
  and payloads that omit optional keys end;
* the exact stage on the remaining suspects, and on every payload of a contract without arrays (its paths are
  all flat, so it parses each payload once too): all flat paths are typed with ``json_type``, and each path
  under a loop (``[*]``) costs one more pass.

The decided branch and the exact stage are built by one visit of the contract (:class:`_Builder`), so they
write the same texts in the same order; the tests compare the query with its exact stage alone on every
payload, and both with ``validate_payload``.

Text DuckDB cannot read as JSON makes the query fail (rule 1 rejects such requests before any payload check).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from triggerlab.campaign import Campaign
from triggerlab.settings import Settings
from triggerlab.templates.schema import SchemaNode, payload_tree

__all__ = ["payload_check_query"]

_ALLOWED = {"object": ("OBJECT",), "array": ("ARRAY",), "string": ("VARCHAR",)}
_COERCED_LEAVES = ("VARCHAR", "BIGINT", "UBIGINT", "HUGEINT", "DOUBLE", "BOOLEAN", "NULL")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _json_key(key: str) -> str:
    return "." + key if key.isidentifier() else '."' + key.replace('"', '\\"') + '"'


def _field(expression: str, key: str) -> str:
    return f'{expression}."{key.replace(chr(34), chr(34) * 2)}"'


@dataclass(frozen=True)
class _Place:
    """Where a node's value sits in the typed value ``__s``: an expression under zero or more list lambdas."""

    value: str = "__s"
    loops: tuple[tuple[str, str], ...] = ()
    item: bool = False  # an array's element: NULL there is JSON null, never an absent key

    def field(self, key: str) -> _Place:
        return _Place(_field(self.value, key), self.loops)

    def element(self) -> _Place:
        var = f"__d{len(self.loops) + 1}"
        return _Place(var, (*self.loops, (self.value, var)), item=True)

    def any(self, condition: str) -> str:
        """True when ``condition`` (never NULL) holds for the value in any element of the enclosing lists."""
        for values, var in reversed(self.loops):
            condition = f"list_contains(list_transform({values}, lambda {var}: {condition}), true)"
        return condition


@dataclass
class _Builder:
    """The exact stage: json_type of every path the contract names; lists are checked without lambdas
    (``list_has_all``, a histogram, ``flatten``). Alongside each check, the same check ``derived`` from the
    typed value ``__s`` where :class:`_Decidable` says ``__s`` decides it (``None``: it never fails there).

    ``inline`` types each flat path with its own ``json_type`` call (the CASE's last branch, suspects only);
    otherwise ``__t`` is ``json_type(payload, ['$', flat paths...])``, one parse for every flat path. Binding
    that list inside the CASE through ``list_transform([...], lambda __t: ...)[1]`` cost more than the extra
    parses: the exact stage on the sample orders' 10,310 broken rows scattered over a million took 0.20 s of
    CPU that way, 0.10 s inline (one thread, same run).

    Suspects are scattered over the batch (a few rows in each vector, as broken payloads are), and each
    ``json_type`` call on them pays a fixed cost per vector. Making them contiguous costs more than it saves:
    a first query writing the suspects to a table, then this stage over that table and the clean rows read
    again through an anti join, took 1.75 s of CPU per million order payloads (2% suspects, one thread)
    against 1.45 s for one query; a materialised CTE split by ``UNION ALL`` took 1.5 s, the filtered vectors
    keeping their selection. Reading the payloads a second time is what the split pays."""

    column: str
    coerce: bool
    inline: bool = False
    flat: list[str] = field(default_factory=lambda: ["$"])
    checks: list[str] = field(default_factory=list)
    derived: list[str | None] = field(default_factory=list)

    def types(self, path: str) -> str:
        return f"json_type({self.column}, {_quote(path)})"

    def flat_type(self, path: str) -> str:
        if self.inline:
            return f"json_type({self.column})" if path == "$" else self.types(path)
        if path not in self.flat:
            self.flat.append(path)
        return f"__t[{self.flat.index(path) + 1}]"

    def allowed(self, kind: str) -> list[str]:
        names = _COERCED_LEAVES if kind == "string" and self.coerce else _ALLOWED[kind]
        return [_quote(n) for n in names]

    def problem(self, condition: str, label: str, message: str, derived: str | None = None) -> None:
        self.checks.append(_finding(condition, f"{label}: {message}"))
        self.derived.append(None if derived is None else _finding(derived, f"{label}: {message}"))

    def visit(self, node: SchemaNode, path: str, label: str, place: _Place) -> None:
        kind = node.kind
        looped = "[*]" in path
        if kind is not None and path != "$":
            what = {"object": "an object", "array": "an array", "string": "a string"}[kind]
            allowed = self.allowed(kind)
            if looped:
                bad = f"NOT list_has_all([{', '.join(allowed)}], {self.types(path)})"
            else:  # NULL (absent) NOT IN (...) is NULL: no finding
                bad = f"{self.flat_type(path)} NOT IN ({', '.join(allowed)})"
            derived = None
            if kind == "string" and not self.coerce:  # a JSON leaf's first character is its type
                text = f"NOT prefix({place.value}::VARCHAR, '\"')"
                null = f"{place.value} IS NULL OR" if place.item else f"{place.value} IS NOT NULL AND"
                derived = place.any(f"({null} {text})")
            self.problem(bad, label, f"must be {what}", derived)
        if kind == "object":
            for key in node.required:
                child = path + _json_key(key)
                if looped:
                    objects = f"coalesce(list_aggregate({self.types(path)}, 'histogram')['OBJECT'], 0)"
                    bad = f"{objects} > len({self.types(child)})"
                else:
                    bad = f"{self.flat_type(path)} = 'OBJECT' AND {self.flat_type(child)} IS NULL"
                # where __s decides, an array is never absent and any other NULL is an absent key
                value = place.field(key).value
                derived = None
                if node.properties[key].kind != "array":
                    derived = place.any(f"({place.value} IS NOT NULL AND {value} IS NULL)")
                self.problem(bad, f"{label}.{key}", "is required", derived)
            for key, sub in node.properties.items():
                self.visit(sub, path + _json_key(key), f"{label}.{key}", place.field(key))
        if kind == "array" and node.items is not None:
            self.visit(node.items, path + "[*]", label + "[*]", place.element())

    def problems(self) -> str:
        return _flatten(self.checks)

    def derived_problems(self) -> str:
        return _flatten([d for d in self.derived if d is not None])

    def types_of_flat(self) -> str:
        return f"json_type({self.column}, [{', '.join(_quote(p) for p in self.flat)}])"


def _finding(condition: str, text: str) -> str:
    return f"CASE WHEN {condition} THEN [{_quote(text)}] ELSE [] END"


def _flatten(findings: list[str]) -> str:
    if not findings:
        return "[]::VARCHAR[]"
    listed = ",\n    ".join(findings)
    return f"flatten([\n    {listed}\n  ])"


def _structure(node: SchemaNode, leaf: str) -> Any:
    """The ``json_transform`` shape of a node: objects as STRUCTs, arrays as LISTs, anything else ``leaf``.

    ``JSON`` keeps a leaf's raw text (its first character is its type); ``VARCHAR``, about a fifth cheaper to
    transform, writes numbers and booleans as their text, which is enough under ``coerce`` (objects and
    arrays still start with ``{`` and ``[``)."""
    if node.kind == "object":
        return {key: _structure(child, leaf) for key, child in node.properties.items()}
    if node.kind == "array":
        return [_structure(node.items, leaf) if node.items is not None else leaf]
    return leaf


def _looped(node: SchemaNode) -> bool:
    """Whether the contract has an array: without one, the exact stage is a single parse already."""
    if node.kind == "array":
        return True
    return any(_looped(child) for child in node.properties.values())


def _transformable(node: SchemaNode) -> bool:
    """STRUCT field names are case-insensitive and not empty: such contracts take the exact stage only."""
    if node.kind == "object":
        keys = [key.lower() for key in node.properties]
        if not keys or "" in keys or len(set(keys)) < len(keys):
            return False
        return all(_transformable(child) for child in node.properties.values())
    if node.kind == "array" and node.items is not None:
        return _transformable(node.items)
    return True


@dataclass
class _Proof:
    """The fast stage: one condition on the typed value ``__s``, true only for a payload without findings.

    A field of ``__s`` is NULL when the key is absent, holds JSON ``null``, or (for an array) holds no
    array; an object that was not one comes out with every field NULL. So the proof takes as required every
    array and every key whose ``null`` would be a finding (an object; a string under ``strict``): a payload
    that omits such an optional key is left to :class:`_Decidable`.

    Its cost over the bare ``json_transform`` is about 0.15 s of CPU per million orders (one thread), 0.09 s
    of it the inner array's lambda; writing the conditions otherwise (no ``::VARCHAR``, ``coalesce`` for the
    NULL tests, the inner lists flattened first, a list comprehension) measured the same or slower. VARCHAR
    leaves transform about 15% faster than JSON leaves (0.74 s against 0.87 s), but under ``strict`` they
    tell a string from a number only by its first character, and strict payloads carry numbers as strings
    ("1234", "37.20"): every such payload would become a suspect."""

    coerce: bool
    depth: int = 0

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
            self.depth += 1
            var = f"__v{self.depth}"
            each = [f"{var} IS NOT NULL", *self.keeps(items, var)]
            self.depth -= 1
            return _every(value, var, each)
        if node.kind != "object":
            return []
        present: list[str] = []  # keys taken as required: their NULL is never kept
        out: list[str] = []
        for key, child in node.properties.items():
            f = _field(value, key)
            if key in node.required or child.kind == "array" or _ambiguous(child, self.coerce, False):
                present.append(key)
                out.extend([f"{f} IS NOT NULL", *self.keeps(child, f)])
            elif child.kind is not None:
                out.append(f"({f} IS NULL OR ({' AND '.join(self.keeps(child, f))}))")
        if not root and not present:  # a key taken as required already sees a value that was no object
            out.insert(0, _some_field(node, value))
        return out

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
    return "(" + " OR ".join(f"{_field(value, key)} IS NOT NULL" for key in node.properties) + ")"


def _ambiguous(node: SchemaNode, coerce: bool, required: bool) -> bool:
    """Whether a NULL field of ``__s`` needs telling an absent key from JSON ``null``: they give different
    findings for an object, a required key, and a string under ``strict``."""
    if node.kind == "array":
        return False  # its NULL may also be a wrong shape: never decided from __s
    return node.kind == "object" or required or (node.kind == "string" and not coerce)


@dataclass
class _Decidable:
    """Whether ``__s`` alone decides every check of :class:`_Builder` (then its ``derived`` findings are the
    exact stage's): every array and array element is there (NULL may be a wrong shape), every object that is
    there has a non-NULL field (all NULL may be a wrong shape), a ``coerce`` leaf does not start with ``{`` or
    ``[`` (an object, or a string so written), and a NULL field is an absent key: the payload text has no
    ``null`` at all, or every field where absence and ``null`` differ (:func:`_ambiguous`) is there.

    Measured on the benchmark's million orders (one thread, one run): the 20,108 payloads the proof leaves
    (10,310 broken, 9,798 that omit an optional key) cost 0.08 s of CPU here, 0.025 s of it this condition;
    before, a second proof for the omitted keys (0.07 s) and the exact stage (0.20 s) cost 0.27 s. Keeping
    that second proof before this branch made the whole query slower there (0.85 s against 0.66 s, two
    threads, a busy machine) and hardly faster (0.63 s against 0.66 s) where half the payloads omit the key.
    Gathering the failing checks' numbers in one lambda per array level (``list_sort(list_distinct(...))``
    into ``list_select``) instead of one ``list_contains`` per check made the whole query slower (1.14 s
    against 1.06 s): the small lists built per element cost more than the lambdas they save."""

    coerce: bool
    depth: int = 0

    def shapes(self, node: SchemaNode, value: str, root: bool = False) -> list[str]:
        """``value`` (not NULL) is decided by its shape; never NULL itself, so that lists can fold it."""
        if node.kind == "array":
            items = node.items
            if items is None or items.kind is None:
                return []
            self.depth += 1
            var = f"__e{self.depth}"
            if items.kind == "string":
                each = [f"({var} IS NULL OR NOT {_opaque(var)})"] if self.coerce else []
            else:
                each = [f"{var} IS NOT NULL", *self.shapes(items, var)]
            self.depth -= 1
            return _every(value, var, each)
        if node.kind != "object":
            return []
        out = [] if root else [_some_field(node, value)]
        for key, child in node.properties.items():
            f = _field(value, key)
            if child.kind == "array":
                out.extend([f"{f} IS NOT NULL", *self.shapes(child, f)])
            elif child.kind == "object":
                out.append(f"({f} IS NULL OR ({' AND '.join(self.shapes(child, f))}))")
            elif child.kind == "string" and self.coerce:
                out.append(f"({f} IS NULL OR NOT {_opaque(f)})")
        return out

    def present(self, node: SchemaNode, value: str) -> list[str]:
        """Every field of ``value`` (not NULL, shape decided) where absence and ``null`` differ is there."""
        if node.kind == "array":
            items = node.items
            if items is None or items.kind not in ("object", "array"):
                return []
            self.depth += 1
            var = f"__e{self.depth}"
            each = self.present(items, var)
            self.depth -= 1
            return _every(value, var, each)
        out: list[str] = []
        for key, child in node.properties.items():
            f = _field(value, key)
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


def payload_check_query(
    campaign: Campaign,
    source: str,
    *,
    settings: Settings | None = None,
    column: str = "payload",
    exact_only: bool = False,
) -> str:
    """SQL selecting every column of ``source`` (a table, view or subquery) plus ``problems``: the list of
    ``path: rule`` texts the JSON text in ``column`` breaks (empty when the payload keeps the contract).

    ``exact_only`` skips the fast stage (same findings, slower: for comparisons)."""
    coerce = (settings or Settings()).payload_values == "coerce"
    tree = payload_tree(campaign)
    if exact_only or not _looped(tree) or not _transformable(tree):
        builder = _exact(tree, column, coerce, inline=False)
        return (
            f"SELECT * EXCLUDE (__t), {builder.problems()} AS problems\n"
            f"FROM (SELECT *, {builder.types_of_flat()} AS __t FROM {source})"
        )
    builder = _exact(tree, column, coerce, inline=True)
    proof = _Proof(coerce).proof(column, tree)
    decided = _Decidable(coerce).decided(column, tree)
    structure = _quote(json.dumps(_structure(tree, "VARCHAR" if coerce else "JSON"), ensure_ascii=False))
    return (
        f"SELECT * EXCLUDE (__s), CASE WHEN {proof}\n  THEN []::VARCHAR[]\n"
        f"  WHEN {decided}\n  THEN {builder.derived_problems()}\n"
        f"  ELSE {builder.problems()} END AS problems\n"
        f"FROM (SELECT *, json_transform({column}, {structure}) AS __s FROM {source})"
    )


def _exact(tree: SchemaNode, column: str, coerce: bool, *, inline: bool) -> _Builder:
    builder = _Builder(column, coerce, inline=inline)
    root = builder.flat_type("$")
    builder.problem(f"{root} IS DISTINCT FROM 'OBJECT'", "ExternalTrigger", "must be an object")
    builder.visit(tree, "$", "ExternalTrigger", _Place())
    return builder
