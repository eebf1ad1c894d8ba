"""The static payload check as one DuckDB query: millions of payloads against a campaign's derived paths.

``payload_check_query`` checks what :func:`validate_payload` checks at the contract's paths: the payload is
an object, required keys are present, and each known path has its shape (object, array, string; under
``payload_values: coerce`` numbers, booleans and null pass as leaves). The size limit and "every leaf is a
string" at paths no template reads are rule 1 of the trigger layer and are not repeated here.

Two stages, so that a payload is parsed once when it keeps the contract:

* the fast stage casts each payload once with ``json_transform`` to a STRUCT/LIST shape derived from the
  contract, every leaf kept as raw JSON text (its first character is its type), and proves the payload clean
  from that typed value alone; a proof is only attempted when every null and every wrong shape is visible in
  the typed value: the text has no ``null`` at all, it starts with ``{``, and an object that was not one
  (all its fields NULL) or an array that was not one (NULL) makes the payload a suspect;
* the exact stage runs only on suspects, and on every payload of a contract without arrays (its paths are
  all flat, so it parses each payload once too): all flat paths are typed with one
  ``json_type(payload, [paths])`` call, and each path under a loop (``[*]``) costs one more pass.

A suspect is never reported for being one: the exact stage alone decides its findings, so both stages give
the findings the exact stage would give alone (the tests compare them, and both with ``validate_payload``).
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


@dataclass
class _Builder:
    """The exact stage: ``__t`` is ``json_type(payload, ['$', flat paths...])``."""

    column: str
    coerce: bool
    flat: list[str] = field(default_factory=lambda: ["$"])
    checks: list[str] = field(default_factory=list)

    def types(self, path: str) -> str:
        return f"json_type({self.column}, {_quote(path)})"

    def flat_type(self, path: str) -> str:
        if path not in self.flat:
            self.flat.append(path)
        return f"__t[{self.flat.index(path) + 1}]"

    def allowed(self, kind: str) -> str:
        names = _COERCED_LEAVES if kind == "string" and self.coerce else _ALLOWED[kind]
        return "(" + ", ".join(_quote(n) for n in names) + ")"

    def problem(self, condition: str, label: str, message: str) -> None:
        self.checks.append(f"CASE WHEN {condition} THEN {_quote(f'{label}: {message}')} END")

    def visit(self, node: SchemaNode, path: str, label: str) -> None:
        kind = node.kind
        looped = "[*]" in path
        if kind is not None and path != "$":
            what = {"object": "an object", "array": "an array", "string": "a string"}[kind]
            if looped:
                bad = f"len(list_filter({self.types(path)}, lambda t: t NOT IN {self.allowed(kind)})) > 0"
            else:
                t = self.flat_type(path)
                bad = f"{t} IS NOT NULL AND {t} NOT IN {self.allowed(kind)}"
            self.problem(bad, label, f"must be {what}")
        if kind == "object":
            for key in node.required:
                child = path + _json_key(key)
                child_label = f"{label}.{key}"
                if looped:
                    objects = f"len(list_filter({self.types(path)}, lambda t: t = 'OBJECT'))"
                    bad = f"{objects} > len({self.types(child)})"
                else:
                    bad = f"{self.flat_type(path)} = 'OBJECT' AND {self.flat_type(child)} IS NULL"
                self.problem(bad, child_label, "is required")
            for key, sub in node.properties.items():
                self.visit(sub, path + _json_key(key), f"{label}.{key}")
        if kind == "array" and node.items is not None:
            self.visit(node.items, path + "[*]", label + "[*]")

    def problems(self) -> str:
        checks = ",\n    ".join(self.checks)
        return f"list_filter([\n    {checks}\n  ], lambda x: x IS NOT NULL)"

    def types_of_flat(self) -> str:
        return f"json_type({self.column}, [{', '.join(_quote(p) for p in self.flat)}])"


def _structure(node: SchemaNode) -> Any:
    """The ``json_transform`` shape of a node: objects as STRUCTs, arrays as LISTs, anything else raw JSON."""
    if node.kind == "object":
        return {key: _structure(child) for key, child in node.properties.items()}
    if node.kind == "array":
        return [_structure(node.items) if node.items is not None else "JSON"]
    return "JSON"


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
class _Scope:
    """Every value at one looped path: ``values`` (an SQL list), checked one at a time as ``var``."""

    values: str
    var: str
    conditions: list[str] = field(default_factory=list)


@dataclass
class _Proof:
    """The fast stage: conditions on the typed value ``__s`` that hold only for a payload without findings."""

    coerce: bool
    scopes: list[_Scope] = field(default_factory=list)

    def leaf(self, value: str) -> str:
        text = f"{value}::VARCHAR"
        if self.coerce:
            return f"NOT (prefix({text}, '{{') OR prefix({text}, '['))"
        return f"prefix({text}, '\"')"

    def check(
        self, node: SchemaNode, value: str, scope: _Scope | None, out: list[str], root: bool = False
    ) -> None:
        """Append to ``out`` what makes ``value`` (not NULL) keep ``node``; arrays open a new scope."""
        if node.kind == "string":
            out.append(self.leaf(value))
        elif node.kind == "array":
            values = (
                value
                if scope is None
                else f"flatten(list_transform({scope.values}, lambda {scope.var}: {value}))"
            )
            inner = _Scope(values, f"__v{len(self.scopes) + 1}")
            self.scopes.append(inner)
            if node.items is not None and node.items.kind is not None:
                inner.conditions.append(f"{inner.var} IS NOT NULL")
                self.check(node.items, inner.var, inner, inner.conditions)
        elif node.kind == "object":
            fields = {key: _field(value, key) for key in node.properties}
            if not root:  # a value that was no object comes out with every field NULL
                out.append("(" + " OR ".join(f"{f} IS NOT NULL" for f in fields.values()) + ")")
            for key, child in node.properties.items():
                sub, required = fields[key], key in node.required
                if child.kind == "array":  # NULL: absent, or not an array
                    out.append(f"{sub} IS NOT NULL")
                    self.check(child, sub, scope, out)
                    continue
                if required:
                    out.append(f"{sub} IS NOT NULL")
                if child.kind is not None:
                    inner_out: list[str] = []
                    self.check(child, sub, scope, inner_out)
                    body = " AND ".join(inner_out)
                    out.append(f"({body})" if required else f"({sub} IS NULL OR ({body}))")

    def proof(self, column: str, tree: SchemaNode) -> str:
        conditions = [f"prefix({column}, '{{')", f"NOT contains({column}, 'null')"]
        self.check(tree, "__s", None, conditions, root=True)
        for scope in self.scopes:
            if scope.conditions:
                each = f"lambda {scope.var}: " + " AND ".join(scope.conditions)
                conditions.append(f"coalesce(list_bool_and(list_transform({scope.values}, {each})), true)")
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
    builder = _Builder(column, coerce)
    builder.problem("__t[1] IS DISTINCT FROM 'OBJECT'", "ExternalTrigger", "must be an object")
    builder.visit(tree, "$", "ExternalTrigger")
    if exact_only or not _looped(tree) or not _transformable(tree):
        return (
            f"SELECT * EXCLUDE (__t), {builder.problems()} AS problems\n"
            f"FROM (SELECT *, {builder.types_of_flat()} AS __t FROM {source})"
        )
    proof = _Proof(coerce).proof(column, tree)
    exact = f"list_transform([{builder.types_of_flat()}], lambda __t: {builder.problems()})[1]"
    structure = _quote(json.dumps(_structure(tree), ensure_ascii=False))
    return (
        f"SELECT * EXCLUDE (__s), CASE WHEN {proof}\n  THEN []::VARCHAR[]\n  ELSE {exact} END AS problems\n"
        f"FROM (SELECT *, json_transform({column}, {structure}) AS __s FROM {source})"
    )
