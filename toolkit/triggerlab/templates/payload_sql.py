"""The static payload check as one DuckDB query: millions of payloads against a campaign's derived paths.

``payload_check_query`` checks what :func:`validate_payload` checks at the contract's paths: the payload is
an object, required keys are present, and each known path has its shape (object, array, string; under
``payload_values: coerce`` numbers, booleans and null pass as leaves). The size limit and "every leaf is a
string" at paths no template reads are rule 1 of the trigger layer and are not repeated here.

Two stages, so that a payload is parsed once when it keeps the contract:

* the fast stage casts each payload once with ``json_transform`` to a STRUCT/LIST shape derived from the
  contract, every leaf kept as raw JSON text (its first character is its type; under ``coerce`` as VARCHAR)
  and proves the payload clean from that typed value alone, with one lambda per array level and no copies;
  an object that was not one (all its fields NULL) or an array that was not one (NULL) makes it a suspect,
  and so does a NULL where a JSON ``null`` would be a finding, unless the payload text has no ``null`` at all
  (that scan is only paid by payloads that lack such a key: see :class:`_Proof`);
* the exact stage runs only on suspects, and on every payload of a contract without arrays (its paths are
  all flat, so it parses each payload once too): all flat paths are typed with one
  ``json_type(payload, [paths])`` call, and each path under a loop (``[*]``) costs one more pass.

A suspect is never reported for being one: the exact stage alone decides its findings, so both stages give
the findings the exact stage would give alone (the tests compare them, and both with ``validate_payload``).
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


@dataclass
class _Builder:
    """The exact stage: ``__t`` is ``json_type(payload, ['$', flat paths...])``; lists are checked without
    lambdas (``list_has_all``, a histogram, ``flatten``).

    Its cost on suspects scattered over the batch (a few rows in each vector, as broken payloads are) is
    mostly a fixed cost per vector for each ``json_type`` call: about 25 us per suspect for the sample order
    contract's nine paths, against 6 us when the suspects are contiguous. Making them contiguous costs more
    than it saves: a first query writing the suspects to a table, then this stage over that table and the
    clean rows read again through an anti join, took 1.75 s of CPU per million order payloads (2% suspects,
    one thread) against 1.45 s for this one query; a materialised CTE split by ``UNION ALL`` took 1.5 s, the
    filtered vectors keeping their selection. Reading the payloads a second time is what the split pays."""

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

    def allowed(self, kind: str) -> list[str]:
        names = _COERCED_LEAVES if kind == "string" and self.coerce else _ALLOWED[kind]
        return [_quote(n) for n in names]

    def problem(self, condition: str, label: str, message: str) -> None:
        self.checks.append(f"CASE WHEN {condition} THEN [{_quote(f'{label}: {message}')}] ELSE [] END")

    def visit(self, node: SchemaNode, path: str, label: str) -> None:
        kind = node.kind
        looped = "[*]" in path
        if kind is not None and path != "$":
            what = {"object": "an object", "array": "an array", "string": "a string"}[kind]
            allowed = self.allowed(kind)
            if looped:
                bad = f"NOT list_has_all([{', '.join(allowed)}], {self.types(path)})"
            else:
                t = self.flat_type(path)
                bad = f"{t} IS NOT NULL AND {t} NOT IN ({', '.join(allowed)})"
            self.problem(bad, label, f"must be {what}")
        if kind == "object":
            for key in node.required:
                child = path + _json_key(key)
                child_label = f"{label}.{key}"
                if looped:
                    objects = f"coalesce(list_aggregate({self.types(path)}, 'histogram')['OBJECT'], 0)"
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
        return f"flatten([\n    {checks}\n  ])"

    def types_of_flat(self) -> str:
        return f"json_type({self.column}, [{', '.join(_quote(p) for p in self.flat)}])"


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
    array; an object that was not one comes out with every field NULL. An optional key whose ``null`` is a
    finding (an object; a string under ``strict``) is ``ambiguous`` when NULL: the strict proof takes it as
    required, the lenient one accepts it when the payload text has no ``null`` at all. Scanning the text costs
    about 40% of the parse (measured on the sample orders), so only payloads that lack such a key pay it."""

    coerce: bool
    lenient: bool
    ambiguous: bool = False
    depth: int = 0

    def leaf(self, value: str) -> str:
        if self.coerce:
            return f"NOT (prefix({value}, '{{') OR prefix({value}, '['))"
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
            each = " AND ".join([f"{var} IS NOT NULL", *self.keeps(items, var)])
            self.depth -= 1
            # list_contains(..., false) over a never-NULL list: an empty array is kept, as it should be
            return [f"NOT list_contains(list_transform({value}, lambda {var}: {each}), false)"]
        if node.kind != "object":
            return []
        fields = {key: _field(value, key) for key in node.properties}
        present: list[str] = []  # keys taken as required: an array's NULL may be a wrong shape, never kept
        out: list[str] = []
        for key, child in node.properties.items():
            ambiguous = child.kind == "object" or (child.kind == "string" and not self.coerce)
            self.ambiguous = self.ambiguous or (ambiguous and key not in node.required)
            if key in node.required or child.kind == "array" or (ambiguous and not self.lenient):
                present.append(key)
                out.extend([f"{fields[key]} IS NOT NULL", *self.keeps(child, fields[key])])
            elif child.kind is not None:
                out.append(f"({fields[key]} IS NULL OR ({' AND '.join(self.keeps(child, fields[key]))}))")
        if not root and not present:  # a key taken as required already sees a value that was no object
            out.insert(0, "(" + " OR ".join(f"{f} IS NOT NULL" for f in fields.values()) + ")")
        return out

    def proof(self, column: str, tree: SchemaNode) -> str:
        conditions = [f"prefix({column}, '{{')", *self.keeps(tree, "__s", root=True)]
        if self.lenient and self.ambiguous:
            conditions.insert(1, f"NOT contains({column}, 'null')")
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
    strict = _Proof(coerce, lenient=False)
    proofs = [strict.proof(column, tree)]
    if strict.ambiguous:
        proofs.append(_Proof(coerce, lenient=True).proof(column, tree))
    exact = f"list_transform([{builder.types_of_flat()}], lambda __t: {builder.problems()})[1]"
    structure = _quote(json.dumps(_structure(tree, "VARCHAR" if coerce else "JSON"), ensure_ascii=False))
    cases = "".join(f"WHEN {proof}\n  THEN []::VARCHAR[]\n  " for proof in proofs)
    return (
        f"SELECT * EXCLUDE (__s), CASE {cases}ELSE {exact} END AS problems\n"
        f"FROM (SELECT *, json_transform({column}, {structure}) AS __s FROM {source})"
    )
