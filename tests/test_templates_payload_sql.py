"""The vectorised payload check against the per-payload one: the same findings, payload by payload.

``payload_check_query`` (the proof, then findings decided from the typed value, then the exact stage for the
rest) must give exactly what its exact stage gives alone, also with the proof switched off (so that the
decided branch sees the clean payloads too), and all must give what ``validate_payload`` finds at the paths
the query checks (``[0]`` read as ``[*]``; sizes and leaves no template reads are rule 1's, not the query's).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triggerlab import Campaign, Settings, validate_payload
from triggerlab.duck import connect
from triggerlab.templates.payload_sql import payload_check_query
from triggerlab.templates.schema import SchemaNode, payload_tree

TEMPLATES = [
    # loops in loops, a required key in each item, optional keys, a key only tested
    "{% for p in ExternalTrigger.items %}{{ p.sku }}{{ p.name | default: '-' }}"
    "{% for q in p.prices %}{{ q.v }}{{ q.c | default: '' }}{% endfor %}{% endfor %}"
    "{{ ExternalTrigger.order.id }}{% if ExternalTrigger.flag %}!{% endif %}",
    # flat keys only, required and optional, an object inside an optional object
    "{{ ExternalTrigger.id }}{{ ExternalTrigger.name | default: 'x' }}{% if ExternalTrigger.v %}"
    "{{ ExternalTrigger.order.c.v }}{% endif %}",
    # an array of arrays, an array of strings, indexing
    "{% for row in ExternalTrigger.items %}{% for c in row %}{{ c }}{% endfor %}{% endfor %}"
    "{{ ExternalTrigger.prices[0].v }}{{ ExternalTrigger.sku | join: ',' }}",
    # no ExternalTrigger at all
    "Hello",
    # optional objects and strings inside loops (NULL there is absent or JSON null), an array of arrays
    "{% for p in ExternalTrigger.items %}{% if p.flag %}{{ p.order.id }}{{ p.name }}{% endif %}{{ p.sku }}"
    "{% endfor %}{% if ExternalTrigger.v %}{{ ExternalTrigger.c.v }}{% endif %}"
    "{% for row in ExternalTrigger.prices %}{% for q in row %}{{ q.v }}{% endfor %}{% endfor %}",
]
KEYS = st.sampled_from(["items", "sku", "name", "prices", "v", "c", "order", "id", "flag", "row", "Sku"])
STRINGS = st.one_of(
    st.sampled_from(["", "x", "null", "{", "[", '"', "\\", "é", "a\u2028b", "nullnull"]), st.text(max_size=6)
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    STRINGS,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=25,
)
# payloads near the contracts: objects of the templates' keys, holding lists of objects of them
PAYLOADS = st.one_of(
    st.dictionaries(KEYS, VALUES, max_size=6),
    st.dictionaries(KEYS, st.lists(st.dictionaries(KEYS, VALUES, max_size=5), max_size=3), max_size=4),
    VALUES,
)


# what a near-clean payload holds where a string belongs: wrong leaves, containers, nothing JSON null
TAME = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just({}),
    st.lists(STRINGS, max_size=2),
    st.dictionaries(KEYS, STRINGS, max_size=2),
)


def near(node: SchemaNode | None, depth: int = 0, wild: bool = True) -> st.SearchStrategy[Any]:
    """Values that keep ``node``'s shape, now and then one that breaks it: any value at any depth (``wild``),
    else only leaves that are no strings and optional keys (but arrays) left out, as most broken payloads
    are."""
    if node is None or node.kind is None or depth > 6:
        return VALUES if wild else st.one_of(STRINGS, TAME)
    if node.kind == "string":
        keeps: st.SearchStrategy[Any] = STRINGS
    elif node.kind == "array":
        keeps = st.lists(near(node.items, depth + 1, wild), max_size=3)
    else:
        # an absent array may be a wrong shape to the typed value: tame payloads keep their arrays
        kept = {
            k for k, c in node.properties.items() if k in node.required or (c.kind == "array" and not wild)
        }
        keeps = st.fixed_dictionaries(
            {k: near(c, depth + 1, wild) for k, c in node.properties.items() if k in kept},
            optional={
                **{k: near(c, depth + 1, wild) for k, c in node.properties.items() if k not in kept},
                **{k: VALUES if wild else STRINGS for k in ("extra", "Sku") if k not in node.properties},
            },
        )
    if not wild:
        return st.one_of(keeps, keeps, TAME) if node.kind == "string" else keeps
    return st.integers(0, 12).flatmap(lambda i: (st.none(), SCALARS, VALUES)[i] if i < 3 else keeps)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, list[Any]]:
    body = draw(st.sampled_from(TEMPLATES))
    tree = payload_tree(campaign(body))
    payloads = st.one_of(near(tree), near(tree), near(tree, wild=False), near(tree, wild=False), PAYLOADS)
    return body, draw(st.lists(payloads, min_size=1, max_size=8))


@st.composite
def near_clean(draw: st.DrawFn) -> tuple[str, list[Any]]:
    """Contracts with loops, payloads that mostly keep them: the decided branch's share of a batch."""
    body = draw(st.sampled_from([TEMPLATES[0], TEMPLATES[2], TEMPLATES[4]]))
    return body, draw(st.lists(near(payload_tree(campaign(body)), wild=False), min_size=1, max_size=8))


CHECK = settings(
    max_examples=150,
    deadline=timedelta(seconds=20),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SHAPES = ("must be an object", "must be an array", "must be a string")


def campaign(body: str) -> Campaign:
    return Campaign.model_validate({"name": "P", "channel": "push", "message": {"title": "T", "body": body}})


def _node(tree: SchemaNode, path: str) -> SchemaNode | None:
    node: SchemaNode | None = tree
    for part in re.findall(r"\.(\w+)|(\[\d+\])", path.removeprefix("ExternalTrigger")):
        if node is None:
            return None
        node = node.items if part[1] else node.properties.get(part[0])
    return node


def expected(body: str, payload: Any, coerce: bool) -> set[str]:
    """``validate_payload``'s findings at the paths the query checks, written as the query writes them."""
    tree = payload_tree(campaign(body))
    mode = Settings(payload_values="coerce" if coerce else "strict")
    out = set()
    for found in validate_payload(campaign(body), payload, settings=mode):
        label = re.sub(r"\[\d+\]", "[*]", found.path)
        if found.message.startswith("is required"):
            out.add(f"{label}: is required")
            continue
        shape = next((s for s in SHAPES if found.message.startswith(s)), None)
        node = _node(tree, found.path)
        if shape is not None and node is not None and node.kind is not None:
            out.add(f"{label}: {shape}")
    return out


EXACT = "(exact stage)"


def without_proof(query: str) -> str | None:
    """The query with its proof switched off and the exact stage's rows marked (None: no proof to switch)."""
    if "\n  ELSE " not in query:
        return None
    marked = query.replace("\n  ELSE ", f"\n  ELSE ['{EXACT}'] || ", 1)
    return marked.replace("CASE WHEN ", "CASE WHEN false AND ", 1)


def check(body: str, payloads: list[Any], coerce: bool, indent: int | None) -> list[bool]:
    """Asserts the three ways agree; tells for each payload whether the exact stage gave its findings."""
    con = connect(threads=1)
    con.execute("CREATE TABLE t (id INTEGER, payload VARCHAR)")
    texts = [json.dumps(p, indent=indent) for p in payloads]
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
    mode = Settings(payload_values="coerce" if coerce else "strict")
    rows = {}
    for exact in (False, True):
        query = payload_check_query(campaign(body), "t", settings=mode, exact_only=exact)
        rows[exact] = con.execute(f"SELECT id, problems FROM ({query}) ORDER BY id").fetchall()
    assert rows[False] == rows[True]
    for exact in (False, True):
        query = payload_check_query(campaign(body), "t", settings=mode, exact_only=exact, broken_only=True)
        broken = con.execute(f"SELECT id, problems FROM ({query}) ORDER BY id").fetchall()
        assert broken == [(i, problems) for i, problems in rows[True] if problems]
    exact_stage = [True] * len(payloads)
    unproved = without_proof(payload_check_query(campaign(body), "t", settings=mode))
    if unproved is not None:
        decided = con.execute(f"SELECT id, problems FROM ({unproved}) ORDER BY id").fetchall()
        exact_stage = [EXACT in problems for _, problems in decided]
        assert [(i, [p for p in problems if p != EXACT]) for i, problems in decided] == rows[True]
    for (_, problems), payload in zip(rows[False], payloads, strict=True):
        assert len(problems) == len(set(problems))
        assert set(problems) == expected(body, payload, coerce), payload
    return exact_stage


@CHECK
@given(cases(), st.booleans(), st.sampled_from([None, 1]))
def test_fast_and_exact_stages_agree_with_validate_payload(
    case: tuple[str, list[Any]], coerce: bool, indent: int | None
) -> None:
    check(*case, coerce, indent)


@CHECK
@given(near_clean(), st.booleans(), st.sampled_from([None, 1]))
def test_findings_decided_from_the_typed_value_agree(
    case: tuple[str, list[Any]], coerce: bool, indent: int | None
) -> None:
    check(*case, coerce, indent)


def test_known_payloads_take_each_branch() -> None:
    """With the proof off: the typed value decides broken leaves, absent keys and payloads without JSON null
    (under ``coerce`` also nulls where null and absence give the same findings); the rest goes to the exact
    stage."""
    body = TEMPLATES[0]
    good = {"items": [{"sku": "a", "prices": [{"v": "1"}]}], "order": {"id": "7"}}
    bad = [
        {"items": [{"sku": 3, "prices": [{"v": "1"}]}], "order": {"id": "7"}},  # number leaf
        {"items": [{"prices": []}], "order": {"id": "7"}},  # required key absent in an item
        {"items": [{"sku": "a", "prices": {"v": "1"}}], "order": "7"},  # wrong shapes
        {"items": ["socks", None], "order": {"id": None}},  # nulls
        {"items": [{"sku": "a", "name": None, "prices": []}], "order": {"id": "7"}},  # a null leaf
        {"items": [{"sku": "a", "prices": [None]}], "order": {"id": "7"}},  # a null item
        {"items": None, "order": {"id": "7"}},  # a null array
        {"items": [{"sku": "a", "prices": [[]]}], "order": {"x": "1"}},  # object without its keys
        [good],
    ]
    payloads = [good, *bad, {**good, "note": "null"}, {"Items": []}]
    assert check(body, payloads, False, None) == [False] * 3 + [True] * 9
    assert check(body, payloads, True, None) == [False] * 3 + [True, True, False] + [True] * 4 + [False, True]
    for coerce in (False, True):
        assert check(body, [good], coerce, 2) == [False]


def test_text_duckdb_cannot_read_as_json_fails_the_query_in_both_stages() -> None:
    """Rule 1 rejects such lines before any payload check; a table holding one is an input error."""
    con = connect(threads=1)
    con.execute("CREATE TABLE t (id INTEGER, payload VARCHAR)")
    good = '{"items": [{"sku": "a", "prices": []}], "order": {"id": "7"}}'
    for broken in ('{"items": [', "{'items': []}", '{"items": []} x', ""):
        con.execute("DELETE FROM t")
        con.executemany("INSERT INTO t VALUES (?, ?)", [(0, good), (1, broken)])
        for exact, broken_only in ((False, False), (True, False), (False, True), (True, True)):
            query = payload_check_query(
                campaign(TEMPLATES[0]), "t", exact_only=exact, broken_only=broken_only
            )
            with pytest.raises(duckdb.InvalidInputException, match="Malformed JSON"):
                con.execute(f"SELECT id, problems FROM ({query})").fetchall()


def test_sql_null_payloads_are_no_objects_in_every_form() -> None:
    """A NULL payload has no proof (the proof is NULL there): ``broken_only`` keeps it as the others do."""
    con = connect(threads=1)
    con.execute("CREATE TABLE t (id INTEGER, payload VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(0, None), (1, '{"items": [], "order": {"id": "7"}}')])
    for exact, broken_only in ((False, False), (True, False), (False, True), (True, True)):
        query = payload_check_query(campaign(TEMPLATES[0]), "t", exact_only=exact, broken_only=broken_only)
        rows = con.execute(f"SELECT id, problems FROM ({query}) ORDER BY id").fetchall()
        found = [(0, ["ExternalTrigger: must be an object"])]
        assert rows == (found if broken_only else [*found, (1, [])])
