"""Edges of the Liquid dialect, rendering and the render deadline that the main render tests leave open."""

from __future__ import annotations

import signal
import time
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from triggerlab import Campaign, RenderedMessage, Settings, analyze_template, render
from triggerlab.engine.rendering import fields_json
from triggerlab.templates import timeout
from triggerlab.templates.timeout import _on_alarm

STRICT = Settings(missing_keys="error")
LOOP = "{% for i in ExternalTrigger.items %}{{ i }}{% endfor %}"


def push(**message: Any) -> Campaign:
    return Campaign.model_validate(
        {"name": "T", "channel": "push", "message": {"title": "T", "body": "B", **message}}
    )


def campaign(channel: str, message: dict[str, Any]) -> Campaign:
    return Campaign.model_validate({"name": "T", "channel": channel, "message": message})


def problems(source: str) -> list[str]:
    return [str(p) for p in analyze_template(source).problems]


# --- missing keys and defaults, as written ------------------------------------------------------------------


def test_a_hyphenated_key_is_reported_in_dot_form_as_written() -> None:
    result = render(push(body="[{{ ExternalTrigger.order-id }}]"), {}, {})
    assert (result.fields["body"], result.missing_keys) == ("[]", ("ExternalTrigger.order-id",))


def test_a_non_ascii_key_is_reported_in_brackets_without_escapes() -> None:
    result = render(push(body="[{{ Profile['Città'] }}]"), {}, {})
    assert result.missing_keys == ('Profile["Città"]',)


def test_an_unknown_one_segment_variable_is_not_a_missing_key() -> None:
    result = render(push(body="[{{ x }}]"), {}, {})
    assert result == RenderedMessage("ok", None, {"title": "T", "body": "[]"})


def test_an_unknown_variable_under_error_mode_fails_without_a_missing_key() -> None:
    result = render(push(body="{{ x }}"), {}, {}, settings=STRICT)
    assert result == RenderedMessage("render_error", "message.body: 'x' is undefined", {"title": "T"})


# filters that read a missing value as zero or nothing without touching it (python-liquid's math and date
# filters): under error the key fails as any other use of it does; under blank the filter's result is printed
# and nothing is listed (the key did not render blank)
READ_AS_ZERO = [
    "{{ ExternalTrigger.qty | plus: 1 }}",
    "{{ 1 | plus: ExternalTrigger.qty }}",
    "{{ ExternalTrigger.qty | times: 2 | round }}",
    "{{ ExternalTrigger.qty | date: '%Y' }}x",
    "{{ 5 | at_least: ExternalTrigger.qty }}",
]


@pytest.mark.parametrize("body", READ_AS_ZERO)
def test_a_missing_key_given_to_any_filter_fails_under_error_mode(body: str) -> None:
    result = render(push(body=body), {}, {"other": "1"}, settings=STRICT)
    assert (result.status, result.reason, result.missing_keys) == (
        "render_error",
        "message.body: missing key ExternalTrigger.qty (missing_keys: error)",
        ("ExternalTrigger.qty",),
    )


@pytest.mark.parametrize(
    ("body", "text"), list(zip(READ_AS_ZERO, ["1", "1", "0", "x", "5"], strict=True)), ids=READ_AS_ZERO
)
def test_a_filter_reading_a_missing_key_as_zero_lists_nothing_under_blank_mode(body: str, text: str) -> None:
    assert render(push(body=body), {}, {}) == RenderedMessage("ok", None, {"title": "T", "body": text})


def test_a_present_key_or_a_default_before_the_filter_renders_under_error_mode() -> None:
    body = "{{ ExternalTrigger.qty | plus: 1 }}/{{ ExternalTrigger.none | default: 2 | plus: 1 }}"
    result = render(push(body=body), {}, {"qty": "4"}, settings=STRICT)
    assert result == RenderedMessage(
        "ok", None, {"title": "T", "body": "5/3"}, defaults_used=("ExternalTrigger.none",)
    )


def test_default_on_a_dynamic_index_reports_the_resolved_index_in_both_modes() -> None:
    body = "{% assign i = 0 %}{{ ExternalTrigger.items[i] | default: 'x' }}"
    for settings in (None, STRICT):
        result = render(push(body=body), {}, {"items": []}, settings=settings)
        assert (result.fields["body"], result.defaults_used) == ("x", ("ExternalTrigger.items[0]",))


def test_default_returning_the_value_itself_is_not_a_default_used() -> None:
    """``default`` given the same present value returns it: nothing was defaulted."""
    result = render(push(body="{{ ExternalTrigger.x | default: ExternalTrigger.x }}"), {}, {"x": "v"})
    assert (result.fields["body"], result.defaults_used) == ("v", ())


def test_default_on_a_literal_renders_and_reports_no_path() -> None:
    result = render(push(body='{{ "" | default: "x" }}'), {}, {})
    assert result == RenderedMessage("ok", None, {"title": "T", "body": "x"})


def test_defaults_used_before_an_abort_are_reported() -> None:
    result = render(push(body="{{ ExternalTrigger.a | default: 'x' }}{% abort 'no' %}"), {}, {})
    assert result == RenderedMessage("aborted", "no", {"title": "T"}, (), ("ExternalTrigger.a",))


# --- output -------------------------------------------------------------------------------------------------


def test_cr_lf_in_rendered_output_is_kept_as_is() -> None:
    result = render(push(body="a\r\nb{{ ExternalTrigger.v }}\r"), {}, {"v": "c\r\nd"})
    assert result.fields["body"] == "a\r\nbc\r\nd\r"


def test_captured_text_counts_on_top_of_the_output_already_written() -> None:
    """600,000 code points written, then 600,000 captured: 1,200,000 in all, over the limit."""
    body = "{{ ExternalTrigger.s }}{% capture c %}{{ ExternalTrigger.s }}{% endcapture %}"
    result = render(push(body=body), {}, {"s": "a" * 600_000})
    assert (result.status, result.reason) == ("render_error", "message.body: output stream limit reached")


def test_assign_holds_a_100000_character_string() -> None:
    body = "{% assign s = ExternalTrigger.s | append: ExternalTrigger.s %}{{ s | size }}"
    assert render(push(body=body), {}, {"s": "a" * 50_000}).fields["body"] == "100000"


def test_a_block_holding_an_abort_still_writes_its_other_branch() -> None:
    body = "{% if ExternalTrigger.a %}{% abort %}{% else %} {% endif %}x"
    assert render(push(body=body), {}, {}).fields["body"] == " x"


# --- the json filter ----------------------------------------------------------------------------------------


def test_json_filter_writes_integral_decimals_as_integers_and_others_as_floats() -> None:
    body = "{{ ExternalTrigger.n | json }} {{ ExternalTrigger.m | json }} {{ ExternalTrigger.p | json }}"
    payload = {"n": Decimal("3"), "m": Decimal("2.50"), "p": [Decimal("1.0")]}
    assert render(push(body=body), {}, payload).fields["body"] == "3 2.5 [1]"


def test_json_filter_writes_dates_and_datetimes_in_iso_8601() -> None:
    payload = {"t": {"at": datetime(2026, 1, 2, 3, 4, 5), "d": date(2026, 1, 2)}}
    result = render(push(body="{{ ExternalTrigger.t | json }}"), {}, payload)
    assert result.fields["body"] == '{"at": "2026-01-02T03:04:05", "d": "2026-01-02"}'


def test_json_filter_refuses_nan_naming_the_value() -> None:
    result = render(push(body="{{ ExternalTrigger.f | json }}"), {}, {"f": float("nan")})
    assert (result.status, result.reason) == ("render_error", "message.body: json: nan is not a JSON number")


def test_json_filter_keeps_non_ascii_text() -> None:
    result = render(push(body="{{ ExternalTrigger.f | json }}"), {}, {"f": "café €"})
    assert result.fields["body"] == '"café €"'


def test_fields_json_keeps_non_ascii_text() -> None:
    assert fields_json({"title": "Olá", "body": "€5"}) == '{"title": "Olá", "body": "€5"}'


# --- abort and syntax errors --------------------------------------------------------------------------------


def test_abort_with_two_reasons_does_not_parse() -> None:
    assert problems('{% abort "a" "b" %}') == ["1:13: abort takes one string literal reason"]


def test_a_stray_end_tag_blames_the_block_opened_before_it_not_one_after() -> None:
    assert problems("{% if x %}{% endfor %}{% if y %}") == ["1:3: {% if %} is never closed (no {% endif %})"]


def test_an_unclosed_case_at_the_end_is_reported_where_it_opens() -> None:
    """python-liquid reports "unexpected tag 'end of expression'" with no position for a missing endcase."""
    assert problems("a\n{% case x %}{% when 1 %}b") == ["2:3: {% case %} is never closed (no {% endcase %})"]
    result = render(push(body="a\n{% case x %}{% when 1 %}b"), {}, {})
    assert result.reason == "message.body:2:3: {% case %} is never closed (no {% endcase %})"


# --- which failure wins, field order, caching ---------------------------------------------------------------


def test_a_blank_mail_header_holding_a_line_break_is_reported_as_a_line_break() -> None:
    message = {"from_email": "a@b.example", "subject": "{{ ExternalTrigger.s }}"}
    result = render(campaign("email", message), {}, {"s": "\r\n"})
    assert result.reason == "message.subject contains a line break (CR/LF is not allowed in a mail header)"


def test_the_first_failing_field_gives_the_reason() -> None:
    at_render = render(push(title="{{ 1 | divided_by: 0 }}", body="{{ 'a' | upcase: 1, 2 }}"), {}, {})
    assert at_render.reason == "message.title: divided_by: can't divide by 0"
    at_parse = render(push(title="{% if %}", body="{{ x | }}"), {}, {})
    assert at_parse.reason == "message.title:1:3: missing expression"


def test_fields_come_back_in_the_channels_order_with_the_method() -> None:
    message = {"url": "https://h.example", "headers": {"A": "1"}, "body": "{}"}
    assert list(render(campaign("webhook", message), {}, {}).fields) == ["url", "method", "headers", "body"]


def test_the_same_message_renders_by_each_missing_keys_mode() -> None:
    message = push(body="Hi {{ Profile.nick }}")
    assert render(message, {}, {}).fields["body"] == "Hi "
    strict = render(message, {}, {}, settings=STRICT)
    assert strict.reason == "message.body: missing key Profile.nick (missing_keys: error)"


def test_the_same_webhook_body_is_checked_by_its_content_type() -> None:
    message = {"url": "https://h.example", "body": "plain {{ Profile.n }}"}
    assert render(campaign("webhook", message | {"content_type": "text"}), {"n": "x"}, {}).status == "ok"
    as_json = render(campaign("webhook", message), {"n": "x"}, {})
    assert as_json.reason == "message.body is not valid JSON: Expecting value: line 1 column 1 (char 0)"


def test_a_failing_parameter_or_header_is_named_by_its_index_or_quoted_name() -> None:
    whatsapp = {"template": "t", "parameters": ["ok", "{{ 1 | divided_by: 0 }}"]}
    result = render(campaign("whatsapp", whatsapp), {}, {})
    assert result.reason == "message.parameters[1]: divided_by: can't divide by 0"
    webhook = {"url": "https://h.example", "content_type": "text", "headers": {"X-Id": "{% if %}"}}
    result = render(campaign("webhook", webhook), {}, {})
    assert result.reason == 'message.headers["X-Id"]:1:3: missing expression'


def test_26_nested_loops_render_and_27_exceed_the_context_depth() -> None:
    def nested(depth: int) -> str:
        return "{% for i in (1..1) %}" * depth + "x" + "{% endfor %}" * depth

    assert render(push(body=nested(26)), {}, {}).fields["body"] == "x"
    result = render(push(body=nested(27)), {}, {})
    assert (result.status, result.reason) == (
        "render_error",
        "message.body: maximum context depth reached, possible recursive include",
    )


def test_block_nesting_over_30_is_a_parse_error() -> None:
    assert problems("{% if true %}" * 30 + "x" + "{% endif %}" * 30) == []
    assert problems("{% if true %}" * 31 + "x" + "{% endif %}" * 31) == ["1:403: block nesting limit reached"]


# --- the render deadline ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "{% tablerow i in ExternalTrigger.items %}{{ i }}{% endtablerow %}",
        "{% if true %}{% for i in ExternalTrigger.items %}{{ i }}{% endfor %}{% endif %}",
    ],
)
def test_a_tablerow_or_a_nested_loop_arms_the_deadline(received: list[int], body: str) -> None:
    render(push(body=body), {}, {"items": ["a"]})
    assert signal.getsignal(signal.SIGALRM) is _on_alarm


def test_an_alarm_after_repeated_renders_still_reaches_the_callers_handler(received: list[int]) -> None:
    for _ in range(2):
        render(push(body=LOOP), {}, {"items": ["a"]})
    signal.raise_signal(signal.SIGALRM)
    assert received == [signal.SIGALRM]


def test_an_alarm_is_dropped_when_the_replaced_handler_was_the_default(received: list[int]) -> None:
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    render(push(body=LOOP), {}, {"items": ["a"]})
    signal.raise_signal(signal.SIGALRM)  # the default would end the process
    assert received == []


def test_an_alarm_just_after_a_deadline_passed_is_not_passed_on(
    received: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A render's own alarm delivered late (within LATE_SECONDS) does not reach the caller's handler."""
    render(push(body=LOOP), {}, {"items": ["a"]})
    monkeypatch.setattr(timeout._Alarm, "expires", time.monotonic())
    signal.raise_signal(signal.SIGALRM)
    assert received == []


def test_the_callers_interval_timer_keeps_its_interval(received: list[int]) -> None:
    signal.setitimer(signal.ITIMER_REAL, 30, 10)
    render(push(body=LOOP), {}, {"items": ["a"]})
    remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    assert (29 < remaining <= 30, interval) == (True, 10)


def test_the_callers_timer_resumes_with_the_render_time_taken_off(
    received: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clock that moves 10 s per reading: the render took 20 s, so 10 s of the caller's 30 s remain."""
    ticks = iter(range(1_000, 10_000, 10))

    class Clock:
        @staticmethod
        def monotonic() -> float:
            return float(next(ticks))

    monkeypatch.setattr(timeout, "time", Clock)
    signal.setitimer(signal.ITIMER_REAL, 30)
    render(push(body=LOOP), {}, {"items": ["a"]})
    remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    assert 9 < remaining <= 10
