"""Fuzzing: random templates and random payloads never raise anything but our own errors, and never hang.

Hang protection is the dialect's own (loop and output limits, the 1 s render deadline); the hypothesis
deadline below is a generous bound on one example, there to catch a hang rather than to measure speed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triggerlab import (
    Campaign,
    Finding,
    Settings,
    TriggerlabError,
    analyze_template,
    render,
    validate_payload,
)
from triggerlab.commands.render import read_json_object
from triggerlab.templates import analyze_campaign, payload_schema, plan_rendering
from triggerlab.templates.campaign_analysis import campaign_template_findings

FUZZ = settings(
    max_examples=150,
    deadline=timedelta(seconds=20),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NAMES = st.sampled_from(["a", "b", "items", "name", "Customer Type", "0", "x y", "é", "*"])
ROOTS = st.sampled_from(["Profile", "ExternalTrigger", "p", "item", "forloop", "nope"])
FILTERS = st.sampled_from(
    [
        "default: 'd'",
        "json",
        "upcase",
        "size",
        "first",
        "join: ','",
        "plus: 1",
        "divided_by: 0",
        "date: '%Y'",
        "split: ','",
        "sort",
        "truncate: 3",
        "safe",
        "nope",
        "append: x",
        "slice: 1, 2",
        "",
    ]
)


@st.composite
def paths(draw: st.DrawFn) -> str:
    out = draw(ROOTS)
    for name in draw(st.lists(NAMES, max_size=4)):
        out += draw(st.sampled_from([f".{name}", f"[{name!r}]", "[0]", "[-1]", "[a]", ".size", ".first"]))
    return out


@st.composite
def expressions(draw: st.DrawFn) -> str:
    return draw(paths()) + "".join(f" | {f}" for f in draw(st.lists(FILTERS, max_size=3)))


@st.composite
def fragments(draw: st.DrawFn) -> str:
    return draw(
        st.one_of(
            st.text(max_size=12),
            expressions().map(lambda e: f"{{{{ {e} }}}}"),
            st.builds(lambda p, b: f"{{% for p in {p} %}}{b}{{% endfor %}}", paths(), st.text(max_size=5)),
            st.builds(
                lambda p, b: f"{{% if {p} %}}{b}{{% else %}}-{{% endif %}}", paths(), st.text(max_size=5)
            ),
            st.builds(lambda e: f"{{% assign p = {e} %}}", expressions()),
            st.builds(lambda p: f"{{% case {p} %}}{{% when 'a' %}}A{{% endcase %}}", paths()),
            st.sampled_from(
                [
                    "{% abort %}",
                    '{% abort "stop" %}',
                    "{% abort 1 %}",
                    "{% for i in (1..20000) %}x{% endfor %}",
                    "{% for i in (1..100) %}{% for j in (1..100) %}{{ i }}{% endfor %}{% endfor %}",
                    "{% capture c %}{{ c }}{{ c }}{% endcapture %}",
                    "{% raw %}{{ x }}{% endraw %}",
                    "{% comment %}x{% endcomment %}",
                    '{% include "x" %}',
                    "{% render 'x' %}",
                    "{% endfor %}",
                    "{% if %}",
                    "{% for %}",
                    "{{",
                    "}}",
                    "{%",
                    "%}",
                    "{{ a | }}",
                    "{% liquid echo a %}",
                    "{% bogus %}",
                    "{% cycle 'a', 'b' %}",
                    "{% increment n %}",
                    "{% tablerow t in (1..3) cols:2 %}{{ t }}{% endtablerow %}",
                    "\r\n",
                    "{{- x -}}",
                ]
            ),
        )
    )


TEMPLATES = st.lists(fragments(), max_size=8).map("".join)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        ["{", '{"a": ', "[1,", "\ud800".encode("utf-16", "surrogatepass").decode("utf-16", "replace"), "\x00"]
    ),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.one_of(NAMES, st.text(max_size=5)), inner, max_size=5)
    ),
    max_leaves=30,
)
OBJECTS = st.dictionaries(st.one_of(NAMES, st.text(max_size=5)), JSON, max_size=6)


def nested(depth: int) -> dict[str, Any]:
    """``{"items": [{"a": {"a": ... "leaf"}}]}`` with ``depth`` levels of ``a``."""
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return {"items": [value]}


def push(body: str) -> Campaign:
    return Campaign.model_validate(
        {"name": "F", "channel": "push", "message": {"title": "T", "body": "x" + body}}
    )


def webhook(body: str) -> Campaign:
    message = {"url": "https://h.example/{{ ExternalTrigger.a }}", "headers": {"X": body}, "body": body}
    return Campaign.model_validate({"name": "F", "channel": "webhook", "message": message})


@FUZZ
@given(template=TEMPLATES, profile=OBJECTS, payload=OBJECTS, strict=st.booleans())
@pytest.mark.timeout(600)
def test_render_never_raises(
    template: str, profile: dict[str, Any], payload: dict[str, Any], strict: bool
) -> None:
    mode = Settings(missing_keys="error" if strict else "blank")
    for campaign in (push(template), webhook(template)):
        result = render(campaign, profile, payload, settings=mode)
        assert result.status in ("ok", "aborted", "render_error")
        if result.status != "aborted":
            assert (result.reason is None) == (result.status == "ok")
        assert all(isinstance(key, str) for key in result.missing_keys + result.defaults_used)


@FUZZ
@given(template=TEMPLATES)
@pytest.mark.timeout(600)
def test_analysis_never_raises(template: str) -> None:
    analysis = analyze_template(template)
    assert all(p.line >= 1 and p.column >= 0 for p in analysis.problems)
    campaign = push(template)
    assert all(isinstance(f, Finding) for f in campaign_template_findings(campaign))
    analyze_campaign(campaign)
    assert payload_schema(campaign)["type"] == "object"
    plan_rendering(campaign, Settings())


@FUZZ
@given(template=TEMPLATES, payload=st.one_of(JSON, OBJECTS), coerce=st.booleans())
@pytest.mark.timeout(600)
def test_validate_payload_never_raises(template: str, payload: Any, coerce: bool) -> None:
    mode = Settings(payload_values="coerce" if coerce else "strict", max_payload_bytes=200)
    assert all(isinstance(f, Finding) for f in validate_payload(push(template), payload, settings=mode))


def test_deep_payloads() -> None:
    campaign = push("{% for i in ExternalTrigger.items %}{{ i.a.a }}{% endfor %}{{ ExternalTrigger | json }}")
    assert render(campaign, {}, nested(3)).status == "ok"
    assert validate_payload(campaign, nested(3)) == [
        Finding("ExternalTrigger.items[0].a.a", "must be a string (got an object)")
    ]
    too_deep = nested(100_000)
    result = render(campaign, {}, too_deep)
    assert (result.status, result.reason) == ("render_error", "message.body: nested too deeply")
    assert validate_payload(campaign, too_deep)[0] == Finding("ExternalTrigger", "cannot be written as JSON")


def test_huge_arrays_stop_at_the_loop_limit() -> None:
    campaign = push("{% for i in ExternalTrigger.items %}{{ i.a.a }}{% endfor %}")
    huge = {"items": [{"a": {"a": "x"}}] * 100_000}
    assert render(campaign, {}, huge).reason == "message.body: loop iteration limit reached"
    assert validate_payload(campaign, huge) == [
        Finding(
            "ExternalTrigger", "is 1,600,011 bytes as compact JSON; the limit is 65,536 (max_payload_bytes)"
        )
    ]


@FUZZ
@given(text=st.text(max_size=40))
def test_malformed_json_arguments_raise_input_errors_only(text: str) -> None:
    try:
        value = read_json_object(text if text.lstrip().startswith("{") else "{" + text, "--payload")
    except TriggerlabError:
        return
    assert isinstance(value, dict)
