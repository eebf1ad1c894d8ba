"""Edges of the payload contract (analysis, schema, validate_payload, the rendering plan), campaign checks,
``check_batch``'s reference reading and the plain-Python reading of trigger requests (from mutation testing)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.conftest import SAMPLE
from triggerlab import (
    Campaign,
    Finding,
    Settings,
    analyze_campaign,
    analyze_template,
    check_batch,
    load_campaign,
    render,
    simulate,
    validate_payload,
)
from triggerlab.errors import CampaignError
from triggerlab.templates import payload_schema, plan_rendering
from triggerlab.triggers import BatchLine, expand, load_triggers
from triggerlab.validation import check_campaign, validate_file

FITNESS = SAMPLE / "campaigns" / "fitness_milestone.yaml"
AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


def push(body: str, *, title: str = "T", campaign_id: str | None = None) -> Campaign:
    data: dict[str, Any] = {"name": "P", "channel": "push", "message": {"title": title, "body": body}}
    if campaign_id is not None:
        data["id"] = campaign_id
    return Campaign.model_validate(data)


def uses(source: str) -> list[tuple[str, str, bool]]:
    return [(u.path, u.kind, u.required) for u in analyze_template(source).uses]


# --- analysis: which uses are required ----------------------------------------------------------------------


def test_a_loop_inside_an_if_branch_does_not_make_its_item_keys_required() -> None:
    """README: required keys are printed outside if/unless/case branches; a loop in a branch is in it."""
    source = (
        "{% if ExternalTrigger.vip %}{% for i in ExternalTrigger.items %}{{ i.sku }}{% endfor %}{% endif %}"
    )
    assert uses(source) == [
        ("ExternalTrigger.vip", "condition", False),
        ("ExternalTrigger.items", "loop", False),
        ("ExternalTrigger.items.*.sku", "value", False),
    ]
    campaign = push("B" + source)
    # rendering without vip reports nothing missing, even under missing_keys: error ...
    rendered = render(campaign, {}, {"items": [{}]}, settings=Settings(missing_keys="error"))
    assert (rendered.status, rendered.missing_keys) == ("ok", ())
    # ... so the contract does not call sku required
    assert validate_payload(campaign, {"items": [{}]}) == []
    assert "required" not in payload_schema(campaign)["properties"]["items"]["items"]


def test_a_case_branch_is_conditional_and_its_subject_is_a_condition() -> None:
    source = '{% case ExternalTrigger.k %}{% when "a" %}{{ ExternalTrigger.x }}{% endcase %}'
    assert uses(source) == [
        ("ExternalTrigger.k", "condition", False),
        ("ExternalTrigger.x", "value", False),
    ]


def test_a_value_is_required_only_when_every_filter_stringifies_it() -> None:
    assert uses("{{ ExternalTrigger.n | upcase | size }}") == [("ExternalTrigger.n", "value", False)]
    assert uses("{{ ExternalTrigger.n | upcase | append: '!' }}") == [("ExternalTrigger.n", "value", True)]


def test_a_loop_limit_is_a_value_use() -> None:
    source = "{% for i in ExternalTrigger.items limit: ExternalTrigger.n %}x{% endfor %}"
    assert uses(source) == [("ExternalTrigger.items", "loop", False), ("ExternalTrigger.n", "value", True)]


def test_a_loop_variable_shadows_an_assigned_name() -> None:
    """Liquid reads ``p`` inside the loop as the item (it renders I), so the path is the item's."""
    source = "{% assign p = ExternalTrigger.plan %}{% for p in ExternalTrigger.items %}{{ p.x }}{% endfor %}"
    assert render(push("B" + source), {}, {"plan": {"x": "P"}, "items": [{"x": "I"}]}).fields["body"] == "BI"
    assert [u.path for u in analyze_template(source).uses] == [
        "ExternalTrigger.plan",
        "ExternalTrigger.items",
        "ExternalTrigger.items.*.x",
    ]


def test_a_loop_over_a_dynamic_index_does_not_alias_its_variable() -> None:
    source = "{% assign k = 0 %}{% for i in ExternalTrigger.lists[k] %}{{ i.x }}{% endfor %}"
    analysis = analyze_template(source)
    assert [(u.path, u.kind, u.dynamic) for u in analysis.uses] == [("ExternalTrigger.lists", "loop", True)]
    assert analysis.unknown_variables == ()


def test_assigned_and_captured_names_are_not_unknown_variables() -> None:
    source = "{% assign x = 'a' %}{% capture y %}hi{% endcapture %}{{ x }}{{ y }}{{ z }}"
    assert analyze_template(source).unknown_variables == ("z",)


def test_a_template_path_has_a_default_only_when_every_use_has_one_and_keeps_its_first_position() -> None:
    analysis = analyze_template("{{ ExternalTrigger.c }}\n  {{ ExternalTrigger.c | default: 'x' }}")
    assert [(p.path, p.has_default, p.line, p.column) for p in analysis.paths] == [
        ("ExternalTrigger.c", False, 1, 3)
    ]
    analysis = analyze_template("{{ ExternalTrigger.c | default: 'x' }}\n  {{ ExternalTrigger.c | default }}")
    assert [(p.path, p.has_default, p.line, p.column) for p in analysis.paths] == [
        ("ExternalTrigger.c", True, 1, 3)
    ]


def test_campaign_analysis_aborts_when_one_field_can_and_is_not_ok_when_one_field_has_a_problem() -> None:
    analysis = analyze_campaign(push("B{% abort %}"))
    assert (analysis.has_abort, analysis.ok) == (True, True)
    analysis = analyze_campaign(push("B", title="{{ Profile.name | nope }}"))
    assert (analysis.has_abort, analysis.ok) == (False, False)


# --- the payload schema -------------------------------------------------------------------------------------


def test_an_indexed_key_is_required_and_the_key_under_the_index_is_not_required_in_every_item() -> None:
    """``{{ ExternalTrigger.items[0].sku }}`` fails without ``items`` and never reads ``items[1]``: the contract
    said the opposite (no finding for ``{}``, ``items[1].sku is required`` for a second item without sku)."""
    campaign = push("B{{ ExternalTrigger.items[0].sku }}")
    strict = Settings(missing_keys="error")
    assert render(campaign, {}, {}, settings=strict).status == "render_error"
    assert validate_payload(campaign, {}) == [
        Finding("ExternalTrigger.items", "is required: the message prints it without a default")
    ]
    two = {"items": [{"sku": "a"}, {"x": "1"}]}
    assert render(campaign, {}, two, settings=strict).status == "ok"
    assert validate_payload(campaign, two) == []
    schema = payload_schema(campaign)
    assert schema["required"] == ["items"]
    assert schema["properties"] == {
        "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}}
    }


# --- validate_payload ---------------------------------------------------------------------------------------


def test_a_null_required_key_is_present_under_coerce() -> None:
    coerce = Settings(payload_values="coerce")
    assert validate_payload(load_campaign(FITNESS), {"milestone": None, "date": "x"}, settings=coerce) == []


def test_a_value_json_cannot_hold_is_a_finding_not_an_error() -> None:
    """From Python a payload may hold any value: it is measured as its text and refused even under coerce."""
    payload = {"milestone": datetime(2026, 1, 2, tzinfo=UTC), "date": "x"}
    coerce = Settings(payload_values="coerce")
    assert validate_payload(load_campaign(FITNESS), payload, settings=coerce) == [
        Finding(
            "ExternalTrigger.milestone",
            "must be a string, number, boolean or null (got 2026-01-02T00:00:00+00:00)",
        )
    ]


def test_a_payload_too_deep_to_write_as_json_is_a_finding() -> None:
    payload: dict[str, Any] = {}
    inner = payload
    for _ in range(5000):
        inner["a"] = {}
        inner = inner["a"]
    found = validate_payload(push("B"), payload)
    assert found == [Finding("ExternalTrigger", "cannot be written as JSON")]


def test_a_python_tuple_is_an_array() -> None:
    campaign = push("B{% for t in ExternalTrigger.tags %}{{ t }}{% endfor %}")
    assert validate_payload(campaign, {"tags": ("a", "b")}) == []
    assert validate_payload(campaign, {"tags": ("a", 1)}) == [
        Finding("ExternalTrigger.tags[1]", "must be a string (got 1); payload_values: coerce accepts it")
    ]


# --- the rendering plan -------------------------------------------------------------------------------------


def _plan_reasons(body: str, max_payload_bytes: int) -> tuple[str, ...]:
    return plan_rendering(push(body), Settings(max_payload_bytes=max_payload_bytes)).reasons


def test_the_output_bound_is_reached_at_exactly_the_limit() -> None:
    body = "B{{ ExternalTrigger.a }}"  # one value: max_payload_bytes + 24 characters of source
    reason = "message.body could reach the output limit with max_payload_bytes of data"
    assert _plan_reasons(body, 1_000_000 - len(body)) == (reason,)
    assert _plan_reasons(body, 1_000_000 - len(body) - 1) == ()


def test_an_output_statement_without_a_path_still_counts_one_value() -> None:
    body = "B{{ 'x' }}"
    reason = "message.body could reach the output limit with max_payload_bytes of data"
    assert _plan_reasons(body, 1_000_000 - len(body)) == (reason,)


def test_a_tag_that_prints_a_value_into_a_mail_header_is_an_output() -> None:
    """``cycle`` prints ``Profile.a`` without an output statement, and a line break in it fails the render."""
    message = {"from_email": "a@b.example", "subject": "S{% cycle Profile.a, 'b' %}", "html": "x"}
    campaign = Campaign.model_validate({"name": "E", "channel": "email", "message": message})
    assert render(campaign, {"a": "x\ny"}, {}).status == "render_error"
    assert plan_rendering(campaign, Settings()).reasons == (
        "message.subject uses tags that can fail on data: cycle",
        "message.subject outputs values into a mail header (a line break would fail it)",
    )


def test_white_space_outside_tags_is_not_literal_text_of_a_required_field() -> None:
    reasons = plan_rendering(push("B", title="  {{ ExternalTrigger.t }}"), Settings()).reasons
    assert reasons == ("message.title is required and has no literal text outside tags (may render blank)",)


def test_a_webhook_without_a_body_has_no_json_body_to_check() -> None:
    campaign = Campaign.model_validate(
        {"name": "W", "channel": "webhook", "message": {"url": "https://x.example/hook"}}
    )
    assert plan_rendering(campaign, Settings()).always_ok is True


def test_the_date_filter_can_fail_on_data() -> None:
    assert _plan_reasons("B{{ ExternalTrigger.d | date: '%Y' }}", 65_536) == (
        "message.body uses filters that can fail on data: date",
    )


# --- campaign checks ----------------------------------------------------------------------------------------


def test_validate_file_names_the_file_in_each_finding(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: Bad\nchannel: push\nmessage:\n  title: '{{ x | nope }}'\n  body: B\n", encoding="utf-8"
    )
    assert [str(f) for f in validate_file(bad)] == [f'{bad}: message.title:1:7: unknown filter "nope"']


def test_check_campaign_raises_with_the_campaign_id() -> None:
    with pytest.raises(CampaignError) as caught:
        check_campaign(push("{{ x | nope }}", campaign_id="7"))
    assert caught.value.campaign_id == "7"
    assert [str(f) for f in caught.value.findings] == ['message.body:1:7: unknown filter "nope"']


# --- check_batch, reference reading -------------------------------------------------------------------------


def _lines(tmp_path: Path, lines: list[Any]) -> Path:
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


@pytest.mark.parametrize("engine", ["duck", "reference"])
def test_check_batch_of_a_campaign_without_an_id_checks_every_request(tmp_path: Path, engine: str) -> None:
    path = _lines(
        tmp_path, [{"campaign_id": "5", "to": {"identity": ["u"]}, "ExternalTrigger": {"a": ["x"]}}]
    )
    found = check_batch(push("B{{ ExternalTrigger.a }}"), path, at=AT, engine=engine)  # type: ignore[arg-type]
    assert [str(f) for f in found] == [f"{path}:1: ExternalTrigger.a: must be a string (got an array)"]


@pytest.mark.parametrize("engine", ["duck", "reference"])
def test_an_invalid_request_gets_its_reason_and_no_payload_findings(tmp_path: Path, engine: str) -> None:
    path = _lines(tmp_path, [{"campaign_id": "5", "to": {"identity": ["u"]}, "ExternalTrigger": {"a": 1}}])
    found = check_batch(push("B{{ ExternalTrigger.a }}"), path, at=AT, engine=engine)  # type: ignore[arg-type]
    assert [str(f) for f in found] == [
        f"{path}:1: ExternalTrigger holds a number, boolean or null value (payload_values: strict)"
    ]


# --- reading trigger requests (the reference reading) -------------------------------------------------------


def _rows(batch_line: BatchLine, settings: Settings) -> list[tuple[Any, ...]]:
    return [(t.campaign_id, t.kind, t.value, t.payload, t.invalid) for t in expand(batch_line, settings)]


def _read(tmp_path: Path, lines: list[Any], settings: Settings, name: str = "b.jsonl") -> list[Any]:
    path = _lines(tmp_path, lines)
    if name != path.name:
        path = path.rename(tmp_path / name)
    return [(b.line, b.request_id, _rows(b, settings)) for b in load_triggers(path, at=AT)]


def test_requests_without_a_campaign_id_or_a_to_value_are_one_row_with_empty_fields(tmp_path: Path) -> None:
    lines = [
        {"campaign_id_list": [], "to": {"identity": ["u"]}},
        {"campaign_id": "1", "to": {"identity": []}},
    ]
    assert _read(tmp_path, lines, Settings()) == [
        (1, "1", [(None, None, None, None, "no campaign_id or campaign_id_list")]),
        (2, "2", [(None, None, None, None, "to has no identity value")]),
    ]


def test_invalid_requests_keep_their_readable_pairs_and_the_first_broken_rule(tmp_path: Path) -> None:
    lines = [
        {"campaign_id": "1", "to": {"identity": "u1", "email": ["e"]}},
        {"campaign_id": "1", "to": {"phone": "x"}},
        {"campaign_id": "1", "to": {"identity": ["u"]}, "ExternalTrigger": {"a": None, "b": "x" * 40}},
    ]
    bad_list = "each identity kind in to must be a list of strings"
    leaf = "ExternalTrigger holds a number, boolean or null value (payload_values: strict)"
    assert _read(tmp_path, lines, Settings(max_payload_bytes=40)) == [
        (1, "1", [("1", "identity", "u1", None, bad_list), ("1", "email", "e", None, bad_list)]),
        (
            2,
            "2",
            [("1", "phone", "x", None, "to holds an identity kind other than identity, email or objectId")],
        ),
        (3, "3", [("1", "identity", "u", None, leaf)]),
    ]


def test_campaign_ids_are_deduplicated_zero_is_an_id_and_coerce_writes_numbers_as_text(
    tmp_path: Path,
) -> None:
    lines = [
        {
            "campaign_id": "1",
            "campaign_id_list": ["1", 1, "2"],
            "to": {"identity": ["u"]},
            "ExternalTrigger": {"n": 1.5, "t": True, "i": 3, "z": None},
        },
        {"campaign_id": 0, "to": {"identity": ["u"]}},
    ]
    payload = {"n": "1.5", "t": "true", "i": "3", "z": None}
    assert _read(tmp_path, lines, Settings(payload_values="coerce")) == [
        (1, "1", [("1", "identity", "u", payload, None), ("2", "identity", "u", payload, None)]),
        (2, "2", [("0", "identity", "u", {}, None)]),
    ]


def test_envelope_ids_blank_lines_and_nan(tmp_path: Path) -> None:
    """An integer envelope id is its text; a white-space line is blank; NaN is not JSON."""
    body = {"campaign_id": "1", "to": {"identity": ["u"]}}
    lines = [
        {"id": 42, "received_at": "2026-11-02T00:00:00Z", "body": body},
        "   \t",
        '{"campaign_id":"1","to":{"identity":["u"]},"ExternalTrigger":{"a":NaN}}',
        {"id": "e", "body": json.dumps(body).replace("}}", '},"ExternalTrigger":{"a":Infinity}}')},
    ]
    assert _read(tmp_path, lines, Settings()) == [
        (1, "42", [("1", "identity", "u", {}, None)]),
        (3, "3", [(None, None, None, None, "line is not valid JSON")]),
        (4, "e", [(None, None, None, None, "envelope body is a string that is not valid JSON")]),
    ]


def test_a_csv_batch_is_known_by_its_suffix_in_any_case(tmp_path: Path) -> None:
    path = tmp_path / "b.CSV"
    path.write_text('id,received_at,body\nr1,2026-11-02T00:00:00Z,"{""campaign_id"":""1"",""to"":{}}"\n')
    assert [(b.line, b.request_id, b.body) for b in load_triggers(path)] == [
        (1, "r1", {"campaign_id": "1", "to": {}})
    ]


def test_a_table_row_without_a_body_is_a_body_that_is_not_json() -> None:
    import polars as pl

    frame = pl.DataFrame(
        {"id": ["a"], "received_at": ["2026-11-02T00:00:00Z"], "body": [None]},
        schema={"id": pl.String, "received_at": pl.String, "body": pl.String},
    )
    assert [b.error for b in load_triggers(frame)] == ["envelope body is a string that is not valid JSON"]


def test_a_lone_surrogate_escape_in_a_payload_is_read_not_a_crash(tmp_path: Path) -> None:
    """README: lone surrogate escapes are read by Python (DuckDB refuses the line); the reference reading
    measured the payload with a strict UTF-8 encode and raised UnicodeEncodeError."""
    line = '{"campaign_id":"1","to":{"identity":["u"]},"ExternalTrigger":{"a":"\\ud800"}}'
    assert _read(tmp_path, [line], Settings()) == [(1, "1", [("1", "identity", "u", {"a": "\ud800"}, None)])]
    # the size counts the surrogate as validate_payload does (3 bytes): {"a":"?"} is 11 bytes
    assert _read(tmp_path, [line], Settings(max_payload_bytes=10)) == [
        (1, "1", [("1", "identity", "u", None, "ExternalTrigger is larger than max_payload_bytes")])
    ]
    path = _lines(tmp_path, [line])
    assert (
        check_batch(push("B{{ ExternalTrigger.a }}", campaign_id="1"), path, at=AT, engine="reference") == []
    )


def test_a_lone_surrogate_in_a_rendered_message_is_kept_escaped_in_the_messages_frame(tmp_path: Path) -> None:
    """The reference engine reads the line (DuckDB refuses it); with every message rendered, the fields text
    holds the surrogate as a JSON escape instead of failing to become a polars string."""
    line = '{"campaign_id":"1","to":{"identity":["u"]},"ExternalTrigger":{"a":"\\ud800"}}'
    profiles = pl.DataFrame({"identity": ["u"]})
    result = simulate(
        [push("B{{ ExternalTrigger.a }}é", campaign_id="1")],
        triggers=_lines(tmp_path, [line]),
        profiles=profiles,
        at=AT,
        engine="reference",
        render="all",
        progress=False,
    )
    assert result.outcomes["status"].to_list() == ["sent"]
    assert result.messages is not None
    fields = result.messages["fields"].to_list()
    assert fields == ['{"title": "T", "body": "B\\ud800é"}']
    assert json.loads(fields[0])["body"] == "B\ud800é"


def test_the_coerce_hint_is_given_only_for_values_coerce_accepts() -> None:
    """validate_payload from Python: a datetime is no JSON scalar, so ``coerce`` refuses it too."""
    campaign = push("B{{ ExternalTrigger.a }}{{ ExternalTrigger.b }}")
    moment = datetime(2026, 11, 2, tzinfo=UTC)
    assert [f.message for f in validate_payload(campaign, {"a": 3, "b": moment})] == [
        "must be a string (got 3); payload_values: coerce accepts it",
        "must be a string (got 2026-11-02T00:00:00+00:00)",
    ]
    coerce = Settings(payload_values="coerce")
    assert [f.message for f in validate_payload(campaign, {"a": 3, "b": moment}, settings=coerce)] == [
        "must be a string, number, boolean or null (got 2026-11-02T00:00:00+00:00)"
    ]


def test_a_bare_assign_of_a_payload_key_does_not_make_it_required() -> None:
    """Assigning prints nothing and reports nothing missing when rendered (either mode renders ``ok``), so
    the contract must not require the key; printing the name does."""
    quiet = push("B{% assign p = ExternalTrigger.plan %}")
    assert (
        validate_payload(quiet, {}),
        render(quiet, {}, {}, settings=Settings(missing_keys="error")).status,
    ) == (
        [],
        "ok",
    )
    printed = push("B{% assign p = ExternalTrigger.plan %}{{ p }}")
    assert [str(f) for f in validate_payload(printed, {})] == [
        "ExternalTrigger.plan: is required: the message prints it without a default"
    ]
    # a string filter in the assign touches the value: rendering reports it, so it is required
    upper = push("B{% assign p = ExternalTrigger.plan | upcase %}")
    assert (render(upper, {}, {}).missing_keys, [f.path for f in validate_payload(upper, {})]) == (
        ("ExternalTrigger.plan",),
        ["ExternalTrigger.plan"],
    )


def test_a_name_reassigned_to_a_literal_no_longer_stands_for_the_payload_path() -> None:
    source = "{% assign p = ExternalTrigger.plan %}{% assign p = 'x' %}{{ p.name }}"
    assert [u.path for u in analyze_template(source).uses] == ["ExternalTrigger.plan"]
    # reassigned only in a branch: the path may still be read after it
    branch = "{% assign p = ExternalTrigger.plan %}{% if ExternalTrigger.x %}{% assign p = 'x' %}{% endif %}{{ p.name }}"
    assert [u.path for u in analyze_template(branch).uses] == [
        "ExternalTrigger.plan",
        "ExternalTrigger.x",
        "ExternalTrigger.plan.name",
    ]
    captured = "{% assign p = ExternalTrigger.plan %}{% capture p %}x{% endcapture %}{{ p.name }}"
    assert [u.path for u in analyze_template(captured).uses] == ["ExternalTrigger.plan"]
