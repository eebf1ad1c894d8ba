"""The golden-liquid conformance suite (externally written, checked upstream against Shopify's Ruby Liquid)
run against the triggerlab dialect: every case passes except those in SKIP, each with its reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from liquid.exceptions import LiquidError, LiquidSyntaxError

from tests.conftest import shared_file
from triggerlab.templates import Dialect

GOLDEN = shared_file("golden_liquid/golden_liquid.json")

_BLANK = (
    "case added upstream 2026-04; python-liquid 2.3.6 renders FALSE (see external/golden_liquid/README.md)"
)

SKIP: dict[str, str] = {
    "blank and empty, false is equal to blank": _BLANK,
    "blank and empty, nil is equal to blank": _BLANK,
    "blank and empty, null is equal to blank": _BLANK,
    "blank and empty, undefined is equal to blank": _BLANK,
    "tags, case, unexpected when token, strict2": "python-liquid has no strict2 mode",
    "tags, comment, incomplete tags are not parsed": "python-liquid 2.3.6 renders '' where an error is expected",
}


@dataclass(frozen=True)
class Case:
    name: str
    template: str
    data: dict[str, Any]
    results: tuple[str, ...]
    invalid: bool
    partials: bool


def _cases() -> list[Case]:
    tests = json.loads(GOLDEN.read_text(encoding="utf-8"))["tests"]
    cases = []
    for t in tests:
        results = tuple(t["results"]) if "results" in t else ((t["result"],) if "result" in t else ())
        cases.append(
            Case(
                name=t["name"],
                template=t["template"],
                data=t.get("data", {}),
                results=results,
                invalid=bool(t.get("invalid")),
                partials="templates" in t,
            )
        )
    return cases


CASES = _cases()
ENV = Dialect()


def test_the_suite_is_complete() -> None:
    assert len(CASES) == 1054
    assert {c.name for c in CASES} >= set(SKIP)
    assert sum(c.partials for c in CASES) == 34


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case: Case) -> None:
    if case.partials:
        # the dialect has no include/render: instead of the partial's output, the template must not parse
        with pytest.raises(LiquidSyntaxError, match=r"unexpected tag '(include|render)'"):
            ENV.from_string(case.template)
        return
    if case.name in SKIP:
        pytest.skip(SKIP[case.name])
    if case.invalid:
        with pytest.raises(LiquidError):
            ENV.from_string(case.template).render(**case.data)
        return
    assert ENV.from_string(case.template).render(**case.data) in case.results
