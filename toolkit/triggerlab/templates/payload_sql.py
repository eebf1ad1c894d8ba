"""The static payload check as one DuckDB query: millions of payloads against a campaign's derived paths.

``payload_check_query`` checks what :func:`validate_payload` checks at the contract's paths: the payload is
an object, required keys are present, and each known path has its shape (object, array, string; under
``payload_values: coerce`` numbers, booleans and null pass as leaves). The size limit and "every leaf is a
string" at paths no template reads are rule 1 of the trigger layer and are not repeated here.

One CASE over three branches, so that a payload is parsed once unless it is both broken and unusual:

* the proof: each payload is cast once with ``json_transform`` to a STRUCT/LIST shape derived from the
  contract, every leaf kept as raw JSON text (its first character is its type; under ``coerce`` as VARCHAR),
  and that typed value alone proves it clean, with one lambda per array level and no copies (see
  :class:`~.payload_typed.Proof`); the payloads it does not prove are suspects;
* the decided branch: a suspect whose typed value settles every check (no array or object that may have had
  another shape, no NULL that may be either an absent key or JSON ``null``: see
  :class:`~.payload_typed.Decidable`) gets its findings from that value, check by check as the exact stage
  writes them; this is where broken leaves and payloads that omit optional keys end;
* the exact stage on the remaining suspects, and on every payload of a contract without arrays (its paths are
  all flat, so it parses each payload once too): all flat paths are typed with ``json_type``, and each path
  under a loop (``[*]``) costs one more pass.

With ``broken_only`` (what the batch check asks for) only the rows with findings come out: the proof is then
a filter, and the suspects it leaves are gathered into full vectors before the other two branches see them
(:func:`_broken_only`).

The decided branch and the exact stage are built by one visit of the contract (:class:`_Builder`), so they
write the same texts in the same order; the tests compare the query with its exact stage alone on every
payload, and both with ``validate_payload``.

Text DuckDB cannot read as JSON makes the query fail (rule 1 rejects such requests before any payload check).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from triggerlab.campaign import Campaign
from triggerlab.settings import Settings
from triggerlab.templates.payload_typed import (
    Decidable,
    Proof,
    looped,
    struct_field,
    structure,
    transformable,
)
from triggerlab.templates.schema import SchemaNode, payload_tree

__all__ = ["payload_check_query"]

_ALLOWED = {"object": ("OBJECT",), "array": ("ARRAY",), "string": ("VARCHAR",)}
_COERCED_LEAVES = ("VARCHAR", "BIGINT", "UBIGINT", "HUGEINT", "DOUBLE", "BOOLEAN", "NULL")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _json_key(key: str) -> str:
    return "." + key if key.isidentifier() else '."' + key.replace('"', '\\"') + '"'


@dataclass(frozen=True)
class _Place:
    """Where a node's value sits in the typed value ``__s``: an expression under zero or more list lambdas."""

    value: str = "__s"
    loops: tuple[tuple[str, str], ...] = ()
    item: bool = False  # an array's element: NULL there is JSON null, never an absent key

    def field(self, key: str) -> _Place:
        return _Place(struct_field(self.value, key), self.loops)

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
    typed value ``__s`` where :class:`Decidable` says ``__s`` decides it (``None``: it never fails there).

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
    keeping their selection. Reading the payloads a second time is what the split pays; ``broken_only``
    gathers them in one read (:func:`_broken_only`), as it need not list the clean rows."""

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


def payload_check_query(
    campaign: Campaign,
    source: str,
    *,
    settings: Settings | None = None,
    column: str = "payload",
    exact_only: bool = False,
    broken_only: bool = False,
) -> str:
    """SQL selecting every column of ``source`` (a table, view or subquery) plus ``problems``: the list of
    ``path: rule`` texts the JSON text in ``column`` breaks (empty when the payload keeps the contract).

    ``exact_only`` skips the fast stage (same findings, slower: for comparisons). ``broken_only`` selects
    only the rows with findings: what ``WHERE len(problems) > 0`` on the result keeps, but faster (see
    :func:`_broken_only`), and such a filter written by the caller is pushed down by DuckDB's optimizer,
    which then evaluates the checks again inside the scan (see :func:`_filtered`)."""
    coerce = (settings or Settings()).payload_values == "coerce"
    tree = payload_tree(campaign)
    if exact_only or not looped(tree) or not transformable(tree):
        builder = _exact(tree, column, coerce, inline=False)
        query = (
            f"SELECT * EXCLUDE (__t), {builder.problems()} AS problems\n"
            f"FROM (SELECT *, {builder.types_of_flat()} AS __t FROM {source})"
        )
        return _with_findings(query) if broken_only else query
    builder = _exact(tree, column, coerce, inline=True)
    proof = Proof(coerce).proof(column, tree)
    decided = Decidable(coerce).decided(column, tree)
    shape = _quote(json.dumps(structure(tree, "VARCHAR" if coerce else "JSON"), ensure_ascii=False))
    typed = f"SELECT *, json_transform({column}, {shape}) AS __s FROM"
    if broken_only:
        return _broken_only(
            typed,
            source,
            proof,
            f"CASE WHEN {decided}\n  THEN {builder.derived_problems()}\n  ELSE {builder.problems()} END",
        )
    return (
        f"SELECT * EXCLUDE (__s), CASE WHEN {proof}\n  THEN []::VARCHAR[]\n"
        f"  WHEN {decided}\n  THEN {builder.derived_problems()}\n"
        f"  ELSE {builder.problems()} END AS problems\n"
        f"FROM ({typed} {source})"
    )


def _broken_only(typed: str, source: str, proof: str, findings: str) -> str:
    """The rows the proof leaves (suspects), typed again, their findings, and only those with any.

    Suspects are scattered over the batch, a few rows in each vector, and every branch of a CASE pays a
    fixed cost per vector it sees: in the all-rows query the decided branch and the exact stage cost the
    benchmark's million orders (2% suspects, one thread) about 0.1 s of CPU, against almost nothing when the
    same suspects sit together in a sorted copy of the file. Here the proof is a column and a filter on it
    drops the proven rows; DuckDB's filter gathers its small output vectors into full ones, but only for
    columns without lists, so the typed value (lists of structs) stays below the filter and the suspects
    (2%) are typed a second time above it. Measured on the benchmark's million orders (one thread, twelve
    interleaved pairs): the median CPU time 5% below the all-rows query's (1.05 s against 1.11 s), with
    the same findings."""
    suspects = _filtered("* EXCLUDE (__s)", f"({proof}) IS NOT TRUE", f"{typed} {source}")
    return _with_findings(f"SELECT * EXCLUDE (__s), {findings} AS problems\nFROM ({typed} ({suspects}))")


def _with_findings(query: str) -> str:
    """The rows of ``query`` whose ``problems`` are not empty."""
    return _filtered("*", "len(problems) > 0", query)


def _filtered(columns: str, condition: str, query: str) -> str:
    """``columns`` of the rows of ``query`` where ``condition`` holds, the condition evaluated once.

    It is made volatile (``random() < 2`` is always true) so that the optimizer keeps the filter above the
    projection that computes it: pushed down, the filter is rewritten with the expressions it reads and
    evaluated where their inputs are, so that the typed value would pass the proof's filter (and the
    suspects would not be gathered, see :func:`_broken_only`), and the filter on findings would evaluate
    every check again inside the scan (the fitness benchmark's exact stage took 1.34 s so, 0.24 s once)."""
    return (
        f"SELECT * EXCLUDE (__keep) FROM (SELECT {columns}, ({condition}) AND random() < 2 AS __keep\n"
        f"FROM ({query}))\nWHERE __keep"
    )


def _exact(tree: SchemaNode, column: str, coerce: bool, *, inline: bool) -> _Builder:
    builder = _Builder(column, coerce, inline=inline)
    root = builder.flat_type("$")
    builder.problem(f"{root} IS DISTINCT FROM 'OBJECT'", "ExternalTrigger", "must be an object")
    builder.visit(tree, "$", "ExternalTrigger", _Place())
    return builder
