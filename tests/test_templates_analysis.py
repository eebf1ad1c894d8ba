"""Static analysis: paths, defaults, positions of every problem, the payload schema and payload checks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import SAMPLE
from triggerlab import (
    Campaign,
    Finding,
    Settings,
    analyze_campaign,
    analyze_template,
    load_campaign,
    validate_payload,
)
from triggerlab.cli import main
from triggerlab.templates import payload_schema, plan_rendering
from triggerlab.validation import campaign_findings

ORDER = SAMPLE / "campaigns" / "order_confirmation.yaml"
FITNESS = SAMPLE / "campaigns" / "fitness_milestone.yaml"
WEBHOOK = SAMPLE / "campaigns" / "subscription_upgrade.yaml"


def paths(source: str) -> list[tuple[str, bool]]:
    return [(p.path, p.has_default) for p in analyze_template(source).paths]


def problems(source: str) -> list[str]:
    return [str(p) for p in analyze_template(source).problems]


def email(html: str) -> Campaign:
    message = {"from_email": "a@b.example", "subject": "S", "html": html}
    return Campaign.model_validate({"name": "E", "channel": "email", "message": message})


# --- paths --------------------------------------------------------------------------------------------------


def test_sample_html_paths_with_loop_variables_resolved() -> None:
    html = load_campaign(ORDER).message.html  # type: ignore[union-attr]
    assert paths(html) == [
        ("Profile.name", True),
        ("ExternalTrigger.productDetails", False),
        ("ExternalTrigger.productDetails.*.productName", True),
        ("ExternalTrigger.productDetails.*.productID", True),
        ("ExternalTrigger.productDetails.*.imageURL", True),
        ("ExternalTrigger.productDetails.*.pricingDetails", False),
        ("ExternalTrigger.productDetails.*.pricingDetails.*.name", True),
        ("ExternalTrigger.productDetails.*.pricingDetails.*.value", True),
    ]


def test_loop_aliases_are_scoped_by_block_not_by_name() -> None:
    source = "{% for p in ExternalTrigger.a %}{{ p.x }}{% endfor %}{% for p in ExternalTrigger.b %}{{ p.y }}{% endfor %}"
    assert paths(source) == [
        ("ExternalTrigger.a", False),
        ("ExternalTrigger.a.*.x", False),
        ("ExternalTrigger.b", False),
        ("ExternalTrigger.b.*.y", False),
    ]


def test_assign_aliases_indexes_brackets_and_unknown_variables() -> None:
    source = (
        "{% assign plan = ExternalTrigger.plan %}{{ plan.name }}{{ ExternalTrigger.items[0].sku }}"
        "{{ Profile['Customer Type'] | default: 'none' }}{{ nope }}"
    )
    analysis = analyze_template(source)
    assert [(p.path, p.has_default) for p in analysis.paths] == [
        ("ExternalTrigger.plan", False),
        ("ExternalTrigger.plan.name", False),
        ("ExternalTrigger.items[0].sku", False),
        ('Profile["Customer Type"]', True),
    ]
    assert analysis.unknown_variables == ("nope",)


def test_a_loop_else_branch_is_conditional_and_its_body_is_required_per_item() -> None:
    source = "{% for i in ExternalTrigger.items %}{{ i.sku }}{% else %}{{ ExternalTrigger.note }}{% endfor %}"
    assert [(u.path, u.kind, u.required) for u in analyze_template(source).uses] == [
        ("ExternalTrigger.items", "loop", False),
        ("ExternalTrigger.items.*.sku", "value", True),
        ("ExternalTrigger.note", "value", False),
    ]


def test_forloop_and_tablerowloop_are_not_unknown_variables() -> None:
    source = (
        "{% for i in ExternalTrigger.items %}{{ forloop.index }}{% endfor %}"
        "{% tablerow t in ExternalTrigger.tags %}{{ tablerowloop.col }}{% endtablerow %}{{ nope.x }}"
    )
    assert analyze_template(source).unknown_variables == ("nope",)


def test_default_without_an_argument_is_a_default() -> None:
    analysis = analyze_template("{{ ExternalTrigger.coupon | default }}")
    assert [(u.path, u.has_default, u.default, u.required) for u in analysis.uses] == [
        ("ExternalTrigger.coupon", True, "", False)
    ]
    assert paths("{{ ExternalTrigger.coupon | default }}") == [("ExternalTrigger.coupon", True)]


def test_path_positions_are_line_and_column() -> None:
    analysis = analyze_template("Hi\n  {{ Profile.name }}")
    assert [(p.line, p.column) for p in analysis.paths] == [(2, 5)]


def test_campaign_paths_list_fields_and_defaults() -> None:
    found = {p.path: (p.fields, p.default) for p in analyze_campaign(load_campaign(ORDER)).paths}
    assert found["Profile.name"] == (("message.subject", "message.html", "message.text"), "there")
    assert found["ExternalTrigger.productDetails"] == (("message.html", "message.text"), None)


def test_campaign_path_has_no_default_when_one_use_has_none() -> None:
    campaign = email("{{ ExternalTrigger.coupon }}")
    campaign.message.subject = "{{ ExternalTrigger.coupon | default: 'none' }}"  # type: ignore[union-attr]
    assert [(p.path, p.fields, p.has_default, p.default) for p in analyze_campaign(campaign).paths] == [
        ("ExternalTrigger.coupon", ("message.subject", "message.html"), False, None)
    ]


# --- problems and positions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "Hi\n{% for p in ExternalTrigger.items %}\n{{ p }}",
            ["2:3: {% for %} is never closed (no {% endfor %})"],
        ),
        ("Hi\n\n  {% if x %}yes", ["3:5: {% if %} is never closed (no {% endif %})"]),
        (
            "Hi\n{% if x %}\n  {% for p in y %}\n{% endif %}",
            ["3:5: {% for %} is never closed (no {% endfor %})"],
        ),
        (
            "Hi\n{% for p in y %}\n  {% if p %}\n{% endfor %}",
            ["3:5: {% if %} is never closed (no {% endif %})"],
        ),
        ("{% endif %}", ["1:3: unexpected tag 'endif'"]),
        ("Hi\n{% if x %}\n{{ a | }}\n{% endif %}", ["3:0: expected word, found end of expression"]),
        ("a\n{{ x | upcasee }}\n", ['2:7: unknown filter "upcasee"']),
        ("{% if x %}{{ x | nope }}{% endif %}", ['1:17: unknown filter "nope"']),
        ("a\n\n  {% bogus %}", ['3:5: unknown tag "bogus"']),
        (
            '{% include "footer" %}',
            ["1:3: include is not available: a triggerlab template cannot load other templates"],
        ),
        (
            "{% render 'x' %}",
            ["1:3: render is not available: a triggerlab template cannot load other templates"],
        ),
        ("{% abort 3 %}", ["1:9: abort takes an optional string literal reason"]),
        ("{% raw %}{{ x | nope }}{% endraw %}ok", []),
    ],
)
def test_problems_have_positions(source: str, expected: list[str]) -> None:
    assert problems(source) == expected


def test_unknown_filters_are_found_even_when_a_tag_is_unknown() -> None:
    source = "line\n  {{ Profile.name | upcasee | default: 'x' | downcasee }}\n{% bogus %}{%- assign a = b | nope -%}"
    assert problems(source) == [
        '2:20: unknown filter "upcasee"',
        '2:45: unknown filter "downcasee"',
        '3:3: unknown tag "bogus"',
        '3:30: unknown filter "nope"',
    ]


def test_campaign_findings_name_the_field_line_and_column() -> None:
    html = "<p>\n  {{ Profile.name | upcasee }}\n</p>{% for p in ExternalTrigger.items %}"
    campaign = email(html)
    campaign.message.subject = "{% include 'x' %}"  # type: ignore[union-attr]
    assert [str(f) for f in campaign_findings(campaign, source="c.yaml")] == [
        "c.yaml: message.subject:1:3: include is not available: a triggerlab template cannot load other templates",
        'c.yaml: message.html:2:20: unknown filter "upcasee"',
        "c.yaml: message.html:3:7: {% for %} is never closed (no {% endfor %})",
    ]


def test_sample_campaigns_have_no_template_findings() -> None:
    for path in (ORDER, FITNESS, WEBHOOK):
        assert campaign_findings(load_campaign(path)) == []


def test_validate_command_reports_template_findings(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: Bad\nchannel: push\nmessage:\n  title: '{{ Profile.name | upcasee }}'\n  body: B\n",
        encoding="utf-8",
    )
    assert main(["validate", str(bad)]) == 1
    assert capsys.readouterr().out == f'{bad}: message.title:1:18: unknown filter "upcasee"\n'


# --- payload schema -----------------------------------------------------------------------------------------


def test_payload_schema_of_the_order_confirmation() -> None:
    item = {"type": "string"}
    assert payload_schema(load_campaign(ORDER)) == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ExternalTrigger payload of campaign 1695721550 (Order confirmation)",
        "type": "object",
        "properties": {
            "productDetails": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "productName": item,
                        "productID": item,
                        "imageURL": item,
                        "pricingDetails": {
                            "type": "array",
                            "items": {"type": "object", "properties": {"name": item, "value": item}},
                        },
                    },
                },
            }
        },
    }


def test_payload_schema_required_keys() -> None:
    html = (
        "{{ ExternalTrigger.order }}{{ ExternalTrigger.coupon | default: 'none' }}{{ ExternalTrigger.raw | json }}"
        "{% if ExternalTrigger.vip %}{{ ExternalTrigger.perk }}{% endif %}"
        "{% for i in ExternalTrigger.items %}{{ i.sku }}{% if i.gift %}{{ i.note }}{% endif %}{% endfor %}"
        "{{ ExternalTrigger.tags | join: ', ' }}{{ ExternalTrigger.name | upcase }}"
        "{% abort %}{{ ExternalTrigger.after }}"
    )
    schema = payload_schema(email(html))
    assert schema["required"] == ["order", "name"]
    assert schema["properties"] == {
        "order": {"type": "string"},
        "coupon": {"type": "string"},
        "raw": {"type": "string"},
        "vip": {},
        "perk": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "gift": {}, "note": {"type": "string"}},
                "required": ["sku"],
            },
        },
        "tags": {},
        "name": {"type": "string"},
        "after": {"type": "string"},
    }


def test_payload_schema_structure_wins_loops_are_arrays_dynamic_indexes_have_no_type() -> None:
    html = (
        "{{ ExternalTrigger.plan }}{{ ExternalTrigger.plan.name }}"
        "{% for t in ExternalTrigger.tags %}hi{% endfor %}"
        "{% for k in (0..1) %}{{ ExternalTrigger.items[k] }}{% endfor %}"
    )
    schema = payload_schema(email(html))
    assert schema["title"] == "ExternalTrigger payload of campaign E"
    assert schema["properties"] == {
        "plan": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
        "tags": {"type": "array", "items": {}},
        "items": {},
    }
    assert schema["required"] == ["plan", "items"]


def test_payload_schema_validates_with_jsonschema() -> None:
    import jsonschema

    schema = payload_schema(load_campaign(FITNESS))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate({"milestone": "15k", "date": "2026-11-20"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"milestone": "15k"}, schema)


def test_schema_payload_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "payload", str(FITNESS)]) == 0
    assert json.loads(capsys.readouterr().out) == payload_schema(load_campaign(FITNESS))
    assert main(["schema", "payload"]) == 2
    assert "schema payload needs a campaign file" in capsys.readouterr().err


# --- payload checks -----------------------------------------------------------------------------------------


def test_validate_payload_findings() -> None:
    payload = {
        "productDetails": [{"productName": 3, "pricingDetails": {"name": "Cost"}}, "socks"],
        "extra": [1, True, None],
    }
    assert validate_payload(load_campaign(ORDER), payload) == [
        Finding(
            "ExternalTrigger.productDetails[0].productName",
            "must be a string (got 3); payload_values: coerce accepts it",
        ),
        Finding("ExternalTrigger.productDetails[0].pricingDetails", "must be an array (got an object)"),
        Finding("ExternalTrigger.productDetails[1]", "must be an object (got a string)"),
        Finding("ExternalTrigger.extra[0]", "must be a string (got 1); payload_values: coerce accepts it"),
        Finding("ExternalTrigger.extra[1]", "must be a string (got true); payload_values: coerce accepts it"),
        Finding("ExternalTrigger.extra[2]", "must be a string (got null); payload_values: coerce accepts it"),
    ]


def test_validate_payload_required_size_and_coerce() -> None:
    coerce = Settings(payload_values="coerce", max_payload_bytes=30)
    assert validate_payload(load_campaign(FITNESS), {"steps": 10000, "badge": "ünï"}, settings=coerce) == [
        Finding("ExternalTrigger", "is 31 bytes as compact JSON; the limit is 30 (max_payload_bytes)"),
        Finding("ExternalTrigger.milestone", "is required: the message prints it without a default"),
        Finding("ExternalTrigger.date", "is required: the message prints it without a default"),
    ]
    assert validate_payload(load_campaign(FITNESS), []) == [
        Finding("ExternalTrigger", "must be an object (got an array)")
    ]


def test_validate_payload_size_at_the_limit_is_allowed() -> None:
    payload = {"milestone": "15k", "date": "x"}  # 30 bytes as compact JSON
    assert validate_payload(load_campaign(FITNESS), payload, settings=Settings(max_payload_bytes=30)) == []
    assert validate_payload(load_campaign(FITNESS), payload, settings=Settings(max_payload_bytes=29)) == [
        Finding("ExternalTrigger", "is 30 bytes as compact JSON; the limit is 29 (max_payload_bytes)")
    ]


def test_validate_payload_printed_keys_refuse_arrays_and_objects() -> None:
    assert validate_payload(load_campaign(FITNESS), {"milestone": ["15k"], "date": {"d": "1"}}) == [
        Finding("ExternalTrigger.milestone", "must be a string (got an array)"),
        Finding("ExternalTrigger.date", "must be a string (got an object)"),
    ]


def test_validate_payload_of_a_good_payload_is_empty() -> None:
    payload = {"productDetails": [{"productName": "A", "pricingDetails": [{"name": "Cost", "value": "$1"}]}]}
    assert validate_payload(load_campaign(ORDER), payload) == []


# --- the rendering plan -------------------------------------------------------------------------------------


def test_plan_of_the_sample_campaigns() -> None:
    settings = Settings()
    assert plan_rendering(load_campaign(FITNESS), settings).always_ok is True
    order = plan_rendering(load_campaign(ORDER), settings)
    assert order.reasons == (
        "message.subject outputs values into a mail header (a line break would fail it)",
        "message.html uses tags that can fail on data: for",
        "message.text uses tags that can fail on data: for",
    )
    assert plan_rendering(load_campaign(WEBHOOK), settings).reasons == (
        "message.body is checked as JSON (content_type: json)",
    )
    assert plan_rendering(load_campaign(FITNESS), Settings(missing_keys="error")).reasons == (
        "missing_keys: error (a missing key fails the render)",
    )


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"body": "{% if Profile.x %}{% abort %}{% endif %}B"}, "message.body can abort"),
        (
            {"body": "B{{ ExternalTrigger.n | plus: 1 }}"},
            "message.body uses filters that can fail on data: plus",
        ),
        (
            {"title": "{{ ExternalTrigger.t }}"},
            "message.title is required and has no literal text outside tags (may render blank)",
        ),
        (
            {"title": "{% if x %}T{% endif %}"},
            "message.title is required and has no literal text outside tags (may render blank)",
        ),
    ],
)
def test_plan_reasons(message: dict[str, str], reason: str) -> None:
    campaign = Campaign.model_validate(
        {"name": "P", "channel": "push", "message": {"title": "T", "body": "B"} | message}
    )
    assert plan_rendering(campaign, Settings()).reasons == (reason,)


# --- the render command -------------------------------------------------------------------------------------


def test_render_command(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "render",
            str(FITNESS),
            "--profile",
            '{"name": "Asha"}',
            "--payload",
            '{"milestone": "15k", "steps": 3}',
        ]
    )
    assert code == 0
    assert capsys.readouterr().out == (
        "status: ok\n"
        "message.title: 3 steps! 🎉\n"
        "message.body: Way to go, Asha. You just hit 15k. Keep the streak alive tomorrow.\n"
        "message.deep_link: fitapp://progress/\n"
        "message.image_url: https://cdn.fitapp.example/badges/steps.png\n"
        "missing key: ExternalTrigger.date\n"
        "default used: ExternalTrigger.badge\n"
        "payload: ExternalTrigger.date: is required: the message prints it without a default\n"
        "payload: ExternalTrigger.steps: must be a string (got 3); payload_values: coerce accepts it\n"
    )


def test_render_command_json_and_files(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    payload = tmp_path / "payload.json"
    payload.write_text('{"newPlan": "team", "oldPlan": "pro", "amount": "$49.00"}', encoding="utf-8")
    assert (
        main(
            [
                "render",
                str(WEBHOOK),
                "--profile",
                '{"identity": "u1", "email": "a@b.example"}',
                "--payload",
                str(payload),
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "ok"
    assert json.loads(out["fields"]["body"]) == {
        "identity": "u1",
        "email": "a@b.example",
        "plan": "team",
        "previous_plan": "pro",
        "amount": "$49.00",
    }


def test_render_command_exit_codes(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    aborting = tmp_path / "a.yaml"
    aborting.write_text(
        "name: A\nchannel: push\nmessage:\n  title: T\n  body: \"{% abort 'not today' %}\"\n",
        encoding="utf-8",
    )
    assert main(["render", str(aborting)]) == 1
    assert capsys.readouterr().out == "status: aborted (not today)\nmessage.title: T\n"
    assert main(["render", str(FITNESS), "--payload", "nope"]) == 2
    assert capsys.readouterr().err == "triggerlab: --payload: not a JSON object and not a file: nope\n"
    assert main(["render", str(FITNESS), "--payload", "[1]"]) == 2
    assert capsys.readouterr().err == "triggerlab: --payload: not a JSON object and not a file: [1]\n"


# --- the vectorised payload check ---------------------------------------------------------------------------


def test_payload_check_query_in_duckdb() -> None:
    from triggerlab.duck import connect
    from triggerlab.templates.payload_sql import payload_check_query

    payloads = [
        {"productDetails": [{"productName": 3, "pricingDetails": {"name": "Cost"}}, "socks"]},
        {"productDetails": [{"productName": "A", "pricingDetails": [{"name": "x", "value": True}]}]},
        {"productDetails": [{"productName": "A", "pricingDetails": [{"name": "x", "value": "1"}]}]},
        [1],
    ]
    con = connect()
    con.execute("CREATE TABLE t (id INTEGER, payload VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(i, json.dumps(p)) for i, p in enumerate(payloads)])
    rows = con.execute(
        f"SELECT id, problems FROM ({payload_check_query(load_campaign(ORDER), 't')}) ORDER BY id"
    ).fetchall()
    assert rows == [
        (
            0,
            [
                "ExternalTrigger.productDetails[*]: must be an object",
                "ExternalTrigger.productDetails[*].productName: must be a string",
                "ExternalTrigger.productDetails[*].pricingDetails: must be an array",
            ],
        ),
        (1, ["ExternalTrigger.productDetails[*].pricingDetails[*].value: must be a string"]),
        (2, []),
        (3, ["ExternalTrigger: must be an object"]),
    ]
    coerced = payload_check_query(load_campaign(ORDER), "t", settings=Settings(payload_values="coerce"))
    assert con.execute(f"SELECT id, problems FROM ({coerced}) WHERE id = 1").fetchall() == [(1, [])]


def test_payload_check_query_required_keys() -> None:
    from triggerlab.duck import connect
    from triggerlab.templates.payload_sql import payload_check_query

    html = "{{ ExternalTrigger.order }}{% for i in ExternalTrigger.items %}{{ i.sku }}{% endfor %}"
    con = connect()
    con.execute("CREATE TABLE t (body VARCHAR)")
    con.executemany(
        "INSERT INTO t VALUES (?)",
        [
            ('{"order": "1", "items": [{"sku": "a"}, {"sku": "b"}]}',),
            ('{"items": [{"sku": "a"}, {"gift": "x"}]}',),
        ],
    )
    query = payload_check_query(email(html), "t", column="body")
    assert con.execute(f"SELECT problems FROM ({query})").fetchall() == [
        ([],),
        (["ExternalTrigger.order: is required", "ExternalTrigger.items[*].sku: is required"],),
    ]
