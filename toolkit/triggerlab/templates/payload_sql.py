"""The static payload check as one DuckDB query: millions of payloads against a campaign's derived paths.

``payload_check_query`` checks what :func:`validate_payload` checks at the contract's paths: the payload is
an object, required keys are present, and each known path has its shape (object, array, string; under
``payload_values: coerce`` numbers, booleans and null pass as leaves). The size limit and "every leaf is a
string" at paths no template reads are rule 1 of the trigger layer and are not repeated here.

All flat paths are typed with one ``json_type(payload, [paths])`` call, so each payload is parsed once;
each path under a loop (``[*]``) costs one more pass.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass
class _Builder:
    column: str
    coerce: bool
    flat: list[str]
    checks: list[str]

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
                    parent = "__root" if path == "$" else self.flat_type(path)
                    bad = f"{parent} = 'OBJECT' AND {self.flat_type(child)} IS NULL"
                self.problem(bad, child_label, "is required")
            for key, sub in node.properties.items():
                self.visit(sub, path + _json_key(key), f"{label}.{key}")
        if kind == "array" and node.items is not None:
            self.visit(node.items, path + "[*]", label + "[*]")


def payload_check_query(
    campaign: Campaign, source: str, *, settings: Settings | None = None, column: str = "payload"
) -> str:
    """SQL selecting every column of ``source`` (a table, view or subquery) plus ``problems``: the list of
    ``path: rule`` texts the JSON text in ``column`` breaks (empty when the payload keeps the contract)."""
    builder = _Builder(column, (settings or Settings()).payload_values == "coerce", [], [])
    builder.problem("__root IS DISTINCT FROM 'OBJECT'", "ExternalTrigger", "must be an object")
    builder.visit(payload_tree(campaign), "$", "ExternalTrigger")
    flat = "[" + ", ".join(_quote(p) for p in builder.flat) + "]"
    types = f"json_type({column}, {flat})" if builder.flat else "[]::VARCHAR[]"
    checks = ",\n    ".join(builder.checks)
    problems = f"list_filter([\n    {checks}\n  ], lambda x: x IS NOT NULL)"
    return (
        f"SELECT * EXCLUDE (__root, __t), {problems} AS problems\n"
        f"FROM (SELECT *, json_type({column}) AS __root, {types} AS __t FROM {source})"
    )
