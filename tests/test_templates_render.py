"""Rendering (rule 9): exact messages for the spec's examples and the sample campaigns, and every failure kind."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.conftest import SAMPLE
from triggerlab import Campaign, RenderedMessage, Settings, load_campaign, render

#: shaped like the CleverTap API documentation's sample: two products, each with pricing details
PAYLOAD: dict[str, Any] = {
    "Name": "Running shoes",
    "Price": "$37.20",
    "ImageUrl": "https://cdn.shop.example/shoes.png",
    "productDetails": [
        {
            "productName": "Running shoes",
            "productID": "SH-1042",
            "imageURL": "https://cdn.shop.example/shoes.png",
            "pricingDetails": [
                {"name": "Cost", "value": "$37.20"},
                {"name": "Shipping Fee", "value": "$4.99"},
            ],
        },
        {
            "productName": "Trail socks <2-pack>",
            "productID": "SO-0007",
            "imageURL": "https://cdn.shop.example/socks.png",
            "pricingDetails": [
                {"name": "Cost", "value": "$9.50"},
                {"name": "Transaction Fee", "value": "$0.30"},
            ],
        },
    ],
}

# spec/external-trigger.md, "Example 1" and "Example 2", as printed there
EXAMPLE_1 = """Hey {{ Profile.name | default: "User" }}

Thank you for shopping with us!

    Name: {{ ExternalTrigger.Name | default: "defaultName" }}
    Price: {{ ExternalTrigger.Price | default: "defaultPrice" }}
    ImageUrl: {{ ExternalTrigger.ImageUrl | default: "defaultImageUrl" }}
"""
EXAMPLE_2 = """Hey {{ Profile.name | default: "User" }}

Thank you for shopping with us!
{% for product in ExternalTrigger.productDetails %}
Name: {{ product.productName | default: "defaultProductName"}}
productID: {{product.productID | default: "defaultProductId"}}
imageURL: {{product.imageURL | default: "defaultImageUrl"}}
{% for pricingDetail in product.pricingDetails %}
{{ pricingDetail.name | default : "defaultPriceName"}} : {{ pricingDetail.value | default : "defaultPriceValue"}} 
 {% endfor %}
{% endfor %}
"""  # noqa: W291 (the spec's trailing space after the price is part of the output)


def push(**message: Any) -> Campaign:
    return Campaign.model_validate(
        {"name": "T", "channel": "push", "message": {"title": "T", "body": "B", **message}}
    )


def campaign(channel: str, message: dict[str, Any]) -> Campaign:
    return Campaign.model_validate({"name": "T", "channel": channel, "message": message})


def test_example_1() -> None:
    result = render(push(body=EXAMPLE_1), {"name": "Jack"}, PAYLOAD)
    assert result == RenderedMessage(
        "ok",
        None,
        {
            "title": "T",
            "body": "Hey Jack\n\nThank you for shopping with us!\n\n"
            "    Name: Running shoes\n    Price: $37.20\n    ImageUrl: https://cdn.shop.example/shoes.png\n",
        },
    )


def test_example_1_without_data_takes_every_default() -> None:
    result = render(push(body=EXAMPLE_1), {}, {})
    assert result.fields["body"] == (
        "Hey User\n\nThank you for shopping with us!\n\n"
        "    Name: defaultName\n    Price: defaultPrice\n    ImageUrl: defaultImageUrl\n"
    )
    assert result.missing_keys == ()
    assert result.defaults_used == (
        "Profile.name",
        "ExternalTrigger.Name",
        "ExternalTrigger.Price",
        "ExternalTrigger.ImageUrl",
    )


def test_example_2() -> None:
    result = render(push(body=EXAMPLE_2), {"name": "Jack"}, PAYLOAD)
    assert result.status == "ok"
    assert result.fields["body"] == (
        "Hey Jack\n\nThank you for shopping with us!\n"
        "\nName: Running shoes\nproductID: SH-1042\nimageURL: https://cdn.shop.example/shoes.png\n"
        "\nCost : $37.20 \n \nShipping Fee : $4.99 \n \n"
        "\nName: Trail socks <2-pack>\nproductID: SO-0007\nimageURL: https://cdn.shop.example/socks.png\n"
        "\nCost : $9.50 \n \nTransaction Fee : $0.30 \n \n"
        "\n"
    )
    assert (result.missing_keys, result.defaults_used) == ((), ())


def test_example_2_defaults_are_reported_as_written() -> None:
    payload = {"productDetails": [{"pricingDetails": [{"value": ""}]}]}
    result = render(push(body=EXAMPLE_2), {}, payload)
    assert result.fields["body"] == (
        "Hey User\n\nThank you for shopping with us!\n"
        "\nName: defaultProductName\nproductID: defaultProductId\nimageURL: defaultImageUrl\n"
        "\ndefaultPriceName : defaultPriceValue \n \n\n"
    )
    assert result.defaults_used == (
        "Profile.name",
        "product.productName",
        "product.productID",
        "product.imageURL",
        "pricingDetail.name",
        "pricingDetail.value",
    )


def test_sample_email_campaign() -> None:
    result = render(
        load_campaign(SAMPLE / "campaigns" / "order_confirmation.yaml"),
        {"identity": "u00042", "name": "Asha & Co", "Customer Type": "Gold"},
        PAYLOAD,
    )
    assert result == RenderedMessage(
        "ok",
        None,
        {
            "from_name": "ShopLane",
            "from_email": "orders@shoplane.example",
            "reply_to": "support@shoplane.example",
            "subject": "Your ShopLane order is confirmed, Asha & Co",
            "preheader": "Thank you for shopping with us",
            "html": "<p>Hey Asha &amp; Co</p>\n<p>Thank you for shopping with us!</p>\n"
            "<h3>Running shoes</h3>\n<p>productID: SH-1042</p>\n"
            '<img src="https://cdn.shop.example/shoes.png" alt="">\n'
            "<ul>\n  <li>Cost : $37.20</li>\n  <li>Shipping Fee : $4.99</li>\n</ul>\n"
            "<h3>Trail socks &lt;2-pack&gt;</h3>\n<p>productID: SO-0007</p>\n"
            '<img src="https://cdn.shop.example/socks.png" alt="">\n'
            "<ul>\n  <li>Cost : $9.50</li>\n  <li>Transaction Fee : $0.30</li>\n</ul>\n",
            "text": "Hey Asha & Co\n\nThank you for shopping with us!\n"
            "\nName: Running shoes\nproductID: SH-1042\nimageURL: https://cdn.shop.example/shoes.png\n"
            "\nCost : $37.20\n\nShipping Fee : $4.99\n\n"
            "\nName: Trail socks <2-pack>\nproductID: SO-0007\nimageURL: https://cdn.shop.example/socks.png\n"
            "\nCost : $9.50\n\nTransaction Fee : $0.30\n\n\n",
        },
    )


def test_sample_push_campaign() -> None:
    result = render(
        load_campaign(SAMPLE / "campaigns" / "fitness_milestone.yaml"),
        {"identity": "u00007", "name": "Ravi"},
        {"steps": "15,200", "milestone": "your 15k steps goal", "date": "2026-11-20", "badge": "gold"},
    )
    assert result == RenderedMessage(
        "ok",
        None,
        {
            "title": "15,200 steps! 🎉",
            "body": "Way to go, Ravi. You just hit your 15k steps goal. Keep the streak alive tomorrow.",
            "deep_link": "fitapp://progress/2026-11-20",
            "image_url": "https://cdn.fitapp.example/badges/gold.png",
        },
    )


def test_sample_push_campaign_missing_and_default_keys() -> None:
    result = render(
        load_campaign(SAMPLE / "campaigns" / "fitness_milestone.yaml"), {}, {"date": "2026-11-20"}
    )
    assert result.status == "ok"
    assert result.fields["body"] == "Way to go, champ. You just hit . Keep the streak alive tomorrow."
    assert result.missing_keys == ("ExternalTrigger.milestone",)
    assert result.defaults_used == ("ExternalTrigger.steps", "Profile.name", "ExternalTrigger.badge")


def test_sample_webhook_campaign() -> None:
    result = render(
        load_campaign(SAMPLE / "campaigns" / "subscription_upgrade.yaml"),
        {"identity": "u00099", "email": "mei@example.test"},
        {"newPlan": "team", "amount": "$49.00"},
    )
    assert result == RenderedMessage(
        "ok",
        None,
        {
            "url": "https://crm.example/hooks/subscription",
            "method": "POST",
            "headers": {"X-Source": "triggerlab"},
            "body": '{"identity": "u00099",\n "email": "mei@example.test",\n "plan": "team",\n'
            ' "previous_plan": "free",\n "amount": "$49.00"}\n',
        },
        missing_keys=(),
        defaults_used=("ExternalTrigger.oldPlan",),
    )


def test_whatsapp_renders_each_parameter() -> None:
    message = {
        "template": "order_{{ ExternalTrigger.kind }}",
        "language": "en_GB",
        "parameters": ["{{ Profile.name }}", "{{ ExternalTrigger.total | default: '0' }}"],
    }
    result = render(campaign("whatsapp", message), {"name": "Asha"}, {"kind": "shipped"})
    assert result == RenderedMessage(
        "ok",
        None,
        {"template": "order_shipped", "language": "en_GB", "parameters": ["Asha", "0"]},
        defaults_used=("ExternalTrigger.total",),
    )


def test_webhook_header_values_render_and_names_stay() -> None:
    message = {
        "url": "https://h.example/{{ ExternalTrigger.id }}",
        "headers": {"X-{{ a }}": "{{ ExternalTrigger.id }}"},
    }
    result = render(campaign("webhook", message | {"content_type": "text"}), {}, {"id": "7"})
    assert result.fields == {"url": "https://h.example/7", "method": "POST", "headers": {"X-{{ a }}": "7"}}


# --- missing keys -------------------------------------------------------------------------------------------


def test_missing_keys_blank_lists_each_once_in_render_order_not_consumed_ones() -> None:
    body = (
        "{{ ExternalTrigger.b }}{{ Profile['first name'] }}{{ ExternalTrigger.b }}"
        "{{ ExternalTrigger.c | default: 'x' }}{% if ExternalTrigger.d %}{% endif %}"
        "{% for i in ExternalTrigger.e %}{% endfor %}{{ ExternalTrigger.f | json }}{{ ExternalTrigger.a.z }}"
    )
    result = render(push(body=body), {}, {})
    assert result.fields["body"] == "xnull"
    assert result.missing_keys == ("ExternalTrigger.b", 'Profile["first name"]', "ExternalTrigger.a.z")


def test_missing_key_in_a_branch_not_taken_is_not_missing() -> None:
    result = render(push(body="{% if ExternalTrigger.x %}{{ ExternalTrigger.y }}{% endif %}ok"), {}, {})
    assert (result.fields["body"], result.missing_keys) == ("ok", ())


def test_null_renders_blank_and_is_not_missing() -> None:
    result = render(push(body="[{{ ExternalTrigger.x }}]"), {}, {"x": None})
    assert (result.fields["body"], result.missing_keys) == ("[]", ())


def test_missing_keys_error_fails_and_names_the_key() -> None:
    strict = Settings(missing_keys="error")
    result = render(push(body="Hi {{ Profile.name }}"), {}, {}, settings=strict)
    assert result.status == "render_error"
    assert result.reason == "message.body: missing key Profile.name (missing_keys: error)"
    assert result.missing_keys == ("Profile.name",)


def test_missing_keys_error_still_lets_default_if_and_json_through_but_not_loops() -> None:
    strict = Settings(missing_keys="error")
    body = "{{ Profile.name | default: 'you' }}{% if ExternalTrigger.x %}X{% else %}-{% endif %}"
    assert render(push(body=body), {}, {}, settings=strict).fields["body"] == "you-"
    looped = render(push(body="{% for p in ExternalTrigger.items %}{% endfor %}"), {}, {}, settings=strict)
    assert looped.reason == "message.body: missing key ExternalTrigger.items (missing_keys: error)"
    as_json = render(push(body="{{ ExternalTrigger.x | json }}"), {}, {}, settings=strict)
    assert as_json.reason == "message.body: missing key ExternalTrigger.x (missing_keys: error)"


# --- abort --------------------------------------------------------------------------------------------------


def test_abort_with_reason() -> None:
    body = "{% if ExternalTrigger.stock == '0' %}{% abort 'out of stock' %}{% endif %}In stock"
    assert render(push(body=body), {}, {"stock": "0"}) == RenderedMessage(
        "aborted", "out of stock", {"title": "T"}
    )
    assert render(push(body=body), {}, {"stock": "3"}).fields["body"] == "In stock"


def test_abort_reason_comes_from_the_first_aborting_field_and_wins_over_errors() -> None:
    message = {
        "title": "{{ 1 | divided_by: 0 }}",
        "body": "{% abort 'body' %}",
        "deep_link": "{% abort 'link' %}",
    }
    result = render(push(**message), {}, {})
    assert (result.status, result.reason) == ("aborted", "body")


def test_abort_without_reason() -> None:
    assert render(push(body="{% abort %}"), {}, {}) == RenderedMessage("aborted", None, {"title": "T"})
    assert render(push(body="{%- abort -%}{{ x }}"), {}, {}) == RenderedMessage(
        "aborted", None, {"title": "T"}
    )


def test_keys_after_an_abort_are_not_missing() -> None:
    result = render(push(body="{{ ExternalTrigger.a }}{% abort %}{{ ExternalTrigger.b }}"), {}, {})
    assert result.missing_keys == ("ExternalTrigger.a",)


# --- escaping and header injection --------------------------------------------------------------------------


def test_email_html_escapes_values_and_safe_opts_out() -> None:
    message = {
        "from_email": "a@b.example",
        "subject": "S",
        "html": '<p class="x">{{ Profile.name }} {{ ExternalTrigger.bio | safe }} {{ "<i>lit</i>" }}</p>',
        "text": "{{ Profile.name }}",
    }
    result = render(campaign("email", message), {"name": "<b>A&B</b>"}, {"bio": "<em>hi</em>"})
    assert result.fields["html"] == '<p class="x">&lt;b&gt;A&amp;B&lt;/b&gt; <em>hi</em> <i>lit</i></p>'
    assert result.fields["text"] == "<b>A&B</b>"


@pytest.mark.parametrize("field", ["from_name", "from_email", "reply_to", "subject"])
@pytest.mark.parametrize("newline", ["\r", "\n", "\r\n"])
def test_line_break_in_a_mail_header_is_a_render_error(field: str, newline: str) -> None:
    message = {"from_email": "a@b.example", "subject": "S", field: "x{{ ExternalTrigger.v }}"}
    result = render(campaign("email", message), {}, {"v": f"y{newline}Bcc: victim@example.test"})
    assert result.status == "render_error"
    assert result.reason == f"message.{field} contains a line break (CR/LF is not allowed in a mail header)"


def test_line_break_in_html_is_fine() -> None:
    message = {"from_email": "a@b.example", "subject": "S", "html": "{{ ExternalTrigger.v }}"}
    assert render(campaign("email", message), {}, {"v": "a\r\nb"}).status == "ok"


# --- required fields and webhook bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "message", "label"),
    [
        ("push", {"title": "{{ ExternalTrigger.t }}", "body": "B"}, "message.title"),
        ("push", {"title": "T", "body": "{{ ExternalTrigger.t }}"}, "message.body"),
        ("email", {"from_email": "{{ ExternalTrigger.t }}", "subject": "S"}, "message.from_email"),
        ("email", {"from_email": "a@b.example", "subject": "{{ ExternalTrigger.t }}"}, "message.subject"),
        ("whatsapp", {"template": "{{ ExternalTrigger.t }}"}, "message.template"),
        ("webhook", {"url": "{{ ExternalTrigger.t }}", "content_type": "text"}, "message.url"),
    ],
)
def test_required_field_rendering_blank_is_a_render_error(
    channel: str, message: dict[str, Any], label: str
) -> None:
    result = render(campaign(channel, message), {}, {"t": " \u00a0\u2003\t"})
    assert (result.status, result.reason) == ("render_error", f"{label} rendered blank and is required")


def test_optional_field_rendering_blank_is_fine() -> None:
    assert render(push(deep_link="{{ ExternalTrigger.x }}"), {}, {}).fields["deep_link"] == ""


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "message.body rendered empty; content_type json needs a JSON document"),
        ("{{ ExternalTrigger.x }}", "message.body rendered empty; content_type json needs a JSON document"),
        (
            '{"a": {{ ExternalTrigger.x }}}',
            "message.body is not valid JSON: Expecting value: line 1 column 7 (char 6)",
        ),
        ('{"a": NaN}', "message.body is not valid JSON: NaN is not allowed in JSON (RFC 8259)"),
        ('{"a": -Infinity}', "message.body is not valid JSON: -Infinity is not allowed in JSON (RFC 8259)"),
        (
            '{"a": "{{ ExternalTrigger.q }}"}',
            "message.body is not valid JSON: Expecting ',' delimiter: line 1 column 13 (char 12)",
        ),
        ("[1] [2]", "message.body is not valid JSON: Extra data: line 1 column 5 (char 4)"),
    ],
)
def test_webhook_json_body_must_be_rfc8259_json(body: str, reason: str) -> None:
    message = {"url": "https://h.example", "body": body}
    result = render(campaign("webhook", message), {}, {"q": 'say "hi"'})
    assert (result.status, result.reason) == ("render_error", reason)


def test_webhook_json_body_with_json_filter_escapes_values() -> None:
    message = {
        "url": "https://h.example",
        "body": '{"a": {{ ExternalTrigger.q | json }}, "b": {{ ExternalTrigger.n | json }}}',
    }
    result = render(campaign("webhook", message), {}, {"q": 'say "hi"\n'})
    assert (result.status, result.fields["body"]) == ("ok", '{"a": "say \\"hi\\"\\n", "b": null}')


def test_webhook_text_body_is_not_checked() -> None:
    message = {"url": "https://h.example", "content_type": "text", "body": "not json"}
    assert render(campaign("webhook", message), {}, {}).status == "ok"


# --- limits -------------------------------------------------------------------------------------------------


def test_loop_limit_is_10000_iterations() -> None:
    exactly = render(
        push(body="{% for i in (1..100) %}{% for j in (1..100) %}{% endfor %}{% endfor %}ok"), {}, {}
    )
    assert exactly.fields["body"] == "ok"
    over = render(push(body="{% for i in (1..10001) %}{% endfor %}"), {}, {})
    assert (over.status, over.reason) == ("render_error", "message.body: loop iteration limit reached")


def test_loop_limit_counts_payload_arrays() -> None:
    body = "{% for x in ExternalTrigger.items %}{{ x }}{% endfor %}"
    assert render(push(body=body), {}, {"items": ["a"] * 10_000}).status == "ok"
    assert (
        render(push(body=body), {}, {"items": ["a"] * 10_001}).reason
        == "message.body: loop iteration limit reached"
    )


def test_output_limit_is_1000000_code_points() -> None:
    body = "{% for i in (1..1000) %}{{ ExternalTrigger.s }}{% endfor %}"
    # 1,000 code points of 3 UTF-8 bytes each: the limit counts code points, not bytes
    assert render(push(body=body), {}, {"s": "€" * 1000}).status == "ok"
    over = render(push(body=body + "!"), {}, {"s": "€" * 1000})
    assert (over.status, over.reason) == ("render_error", "message.body: output stream limit reached")


def test_capture_counts_toward_the_output_limit() -> None:
    body = "{% capture c %}{% for i in (1..1001) %}{{ ExternalTrigger.s }}{% endfor %}{% endcapture %}x"
    assert (
        render(push(body=body), {}, {"s": "a" * 1000}).reason == "message.body: output stream limit reached"
    )


def test_slow_render_times_out_after_one_second() -> None:
    # thousands of sorts of a 200,000-item array: far beyond 1 s on any machine, far below the loop limit
    body = "{% for i in (1..5000) %}{{ ExternalTrigger.items | sort | size }}{% endfor %}"
    result = render(push(body=body), {}, {"items": [str(i) for i in range(200_000)]})
    assert (result.status, result.reason) == ("render_error", "message.body: timeout")


def test_render_off_the_main_thread_has_no_deadline_but_works() -> None:
    results: list[RenderedMessage] = []
    worker = threading.Thread(
        target=lambda: results.append(render(push(body="{{ Profile.n }}"), {"n": "x"}, {}))
    )
    worker.start()
    worker.join()
    assert results[0].fields["body"] == "x"


def test_liquid_error_at_render_is_a_render_error_with_position() -> None:
    result = render(push(body="{{ 'a' | upcase: 1, 2 }}"), {}, {})
    assert result.status == "render_error"
    assert result.reason is not None and result.reason.startswith("message.body: upcase")


def test_unparsable_template_is_a_render_error_not_an_exception() -> None:
    result = render(push(body="ok\n{% for x in y %}"), {}, {})
    assert (result.status, result.reason) == (
        "render_error",
        "message.body:2:3: {% for %} is never closed (no {% endfor %})",
    )


def test_compiled_once_per_message_text() -> None:
    from triggerlab.templates.render import compile_message

    one, two = push(body="{{ Profile.n }}"), push(body="{{ Profile.n }}")
    assert compile_message(one) is compile_message(two)
    two.message.body = "changed {{ Profile.n }}"  # type: ignore[union-attr]
    assert compile_message(two) is not compile_message(one)
    assert render(two, {"n": "x"}, {}).fields["body"] == "changed x"
