"""Every campaign and settings rule, broken on purpose, with the exact message a user sees."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import pytest

from triggerlab import CampaignError
from triggerlab.durations import Duration, parse_duration
from triggerlab.files import parse_campaign, parse_settings

BASE = """\
name: Test
channel: push
message:
  title: Hi
  body: There
"""


def findings(text: str) -> list[str]:
    with pytest.raises(CampaignError) as info:
        parse_campaign(textwrap.dedent(text), source="c.yaml")
    return [str(f) for f in info.value.findings]


def settings_findings(text: str) -> list[str]:
    with pytest.raises(CampaignError) as info:
        parse_settings(textwrap.dedent(text), source="s.yaml")
    return [str(f) for f in info.value.findings]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("targeting_cap: 99", "c.yaml:6: targeting_cap: must be 100 or more (got 99)"),
        ("control_group: 1", "c.yaml:6: control_group: must be 0 or between 2 and 99 (got 1)"),
        ("control_group: 100", "c.yaml:6: control_group: must be 0 or between 2 and 99 (got 100)"),
        (
            "schedule: {start: '2026-12-01T00:00:00Z', end: '2026-11-01T00:00:00Z'}",
            "c.yaml:6: schedule.end: must be after schedule.start "
            "(got 2026-11-01T00:00:00+00:00, start 2026-12-01T00:00:00+00:00)",
        ),
        (
            "delivery: {dnd: {start: '25:00', end: '09:00'}}",
            'c.yaml:6: delivery.dnd.start: must be a time HH:MM between 00:00 and 23:59 (got "25:00")',
        ),
        (
            "delivery: {min_gap: 2m}",
            'c.yaml:6: delivery.min_gap: must be 0m (every trigger) or between 5m and 30d (got "2m")',
        ),
        (
            "delivery: {min_gap: 1mo}",
            "c.yaml:6: delivery.min_gap: must be a duration in s, m, h, d or w; months are not allowed here"
            ' (got "1mo")',
        ),
        (
            "goal: {event: Charged, within: soon}",
            'c.yaml:6: goal.within: must be a duration like 30m, 24h, 7d, 2w or 1mo (got "soon")',
        ),
        (
            "audience: {filters: [{property: plan, op: between, value: 1}]}",
            "c.yaml:6: audience.filters.0.op: must be one of equals, not_equals, in, not_in, contains, gt, gte,"
            ' lt, lte, exists, not_exists (got "between")',
        ),
        (
            "audience: {filters: [{property: plan, op: in, value: pro}]}",
            'c.yaml:6: audience.filters.0: operator in needs a non-empty list of values (got "pro")',
        ),
        (
            "audience: {filters: [{property: plan, op: exists, value: pro}]}",
            'c.yaml:6: audience.filters.0: operator exists takes no value (got "pro")',
        ),
        (
            "audience: {filters: [{event: Charged, sum: {property: Amount}}]}",
            "c.yaml:6: audience.filters.0.sum: needs at least one bound: gt, gte, lt, lte or equals",
        ),
        (
            "audience: {match: some}",
            'c.yaml:6: audience.match: must be one of all, any (got "some")',
        ),
        ("colour: red", "c.yaml:6: colour: is not a known field; check the spelling"),
        ("id: abc", 'c.yaml:6: id: must be a string of digits, as publish assigns (got "abc")'),
        ("id: true", "c.yaml:6: id: must be a string of digits, as publish assigns (got true)"),
        # true is not read as 1 (the range check would report "(got 1)", a value the file does not hold)
        ("control_group: true", "c.yaml:6: control_group: must be a whole number (got true)"),
        ("targeting_cap: false", "c.yaml:6: targeting_cap: must be a whole number (got false)"),
    ],
)
def test_each_rule_names_field_rule_and_value(extra: str, expected: str) -> None:
    assert findings(BASE + extra + "\n") == [expected]


def test_unknown_channel() -> None:
    text = BASE.replace("channel: push", "channel: sms")
    assert findings(text) == ['c.yaml:2: channel: must be one of push, email, whatsapp, webhook (got "sms")']


def test_push_message_without_title() -> None:
    text = "name: T\nchannel: push\nmessage:\n  body: There\n"
    assert findings(text) == ["c.yaml:3: message.title: required for push messages"]


def test_blank_required_field() -> None:
    text = "name: T\nchannel: push\nmessage:\n  title: '  '\n  body: There\n"
    assert findings(text) == [
        'c.yaml:4: message.title: required for push messages and must not be blank (got "  ")'
    ]


def test_webhook_without_url() -> None:
    text = "name: Hook\nchannel: webhook\nmessage:\n  method: POST\n  body: '{}'\n"
    assert findings(text) == ["c.yaml:3: message.url: required for webhook messages"]


def test_email_and_whatsapp_required_fields() -> None:
    email = "name: E\nchannel: email\nmessage:\n  html: <p>hi</p>\n"
    assert findings(email) == [
        "c.yaml:3: message.from_email: required for email messages",
        "c.yaml:3: message.subject: required for email messages",
    ]
    whatsapp = "name: W\nchannel: whatsapp\nmessage:\n  language: en_US\n"
    assert findings(whatsapp) == ["c.yaml:3: message.template: required for whatsapp messages"]


def test_webhook_auth_needs_its_env_names() -> None:
    text = "name: H\nchannel: webhook\nmessage:\n  url: https://x.example\n  auth: {kind: basic}\n"
    assert findings(text) == ["c.yaml:5: message.auth: basic auth needs username_env, password_env"]


def test_all_errors_reported_at_once_in_line_order() -> None:
    text = """\
    name: Many
    channel: push
    control_group: 1
    targeting_cap: 99
    message:
      body: b
    delivery:
      dnd: {start: '25:00', end: '09:00', action: later}
    """
    assert findings(text) == [
        "c.yaml:3: control_group: must be 0 or between 2 and 99 (got 1)",
        "c.yaml:4: targeting_cap: must be 100 or more (got 99)",
        "c.yaml:5: message.title: required for push messages",
        'c.yaml:8: delivery.dnd.action: must be one of delay, discard (got "later")',
        'c.yaml:8: delivery.dnd.start: must be a time HH:MM between 00:00 and 23:59 (got "25:00")',
    ]


def test_missing_name_and_message() -> None:
    assert findings("channel: email\n") == ["c.yaml:1: message: is required", "c.yaml:1: name: is required"]


def test_yaml_syntax_error_reports_its_line() -> None:
    text = "name: T\nchannel: push\nmessage:\n  title: [unclosed\n  body: x\n"
    assert findings(text) == [
        "c.yaml:5: not valid YAML: expected ',' or ']', but got ':'",
    ]


def test_json_syntax_error_reports_its_line() -> None:
    with pytest.raises(CampaignError) as info:
        parse_campaign('{"name": "x",\n "channel": }', source="c.json", json_text=True)
    assert [str(f) for f in info.value.findings] == ["c.json:2: not valid JSON: Expecting value"]


def test_unquoted_yaml_time_is_minutes_after_midnight() -> None:
    campaign = parse_campaign(BASE + "delivery: {dnd: {start: 21:00, end: 09:00}}\n")
    assert campaign.delivery.dnd is not None
    assert (campaign.delivery.dnd.start, campaign.delivery.dnd.end, campaign.delivery.dnd.action) == (
        "21:00",
        "09:00",
        "delay",
    )


def test_defaults_follow_the_spec() -> None:
    campaign = parse_campaign(BASE)
    assert campaign.control_group == 0
    assert campaign.targeting_cap is None
    assert campaign.apply_system_control is True
    assert campaign.audience.match == "all"
    assert campaign.audience.filters == []
    assert campaign.delivery.apply_global_limits is True
    assert campaign.delivery.min_gap == "0m"
    assert campaign.delivery.dnd is None
    assert campaign.delivery.max_delay is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("system_control_group: 1", "s.yaml:1: system_control_group: must be 0 or between 2 and 5 (got 1)"),
        ("system_control_group: 6", "s.yaml:1: system_control_group: must be 0 or between 2 and 5 (got 6)"),
        (
            "timezone: Mars/Olympus",
            's.yaml:1: timezone: must be an IANA time zone name like Asia/Kolkata (got "Mars/Olympus")',
        ),
        ("payload_values: loose", 's.yaml:1: payload_values: must be one of strict, coerce (got "loose")'),
        ("missing_keys: ignore", 's.yaml:1: missing_keys: must be one of blank, error (got "ignore")'),
        (
            "frequency_caps: [{limit: 3, per: fortnight}]",
            's.yaml:1: frequency_caps.0.per: must be day, week, month or a duration like 6h or 7d (got "fortnight")',
        ),
        (
            "frequency_caps: [{limit: 0, per: day}]",
            "s.yaml:1: frequency_caps.0.limit: must be 1 or more (got 0)",
        ),
        ("max_payload_bytes: 0", "s.yaml:1: max_payload_bytes: must be 1 or more (got 0)"),
        ("system_control_group: true", "s.yaml:1: system_control_group: must be a whole number (got true)"),
        (
            "frequency_caps: [{limit: true, per: day}]",
            "s.yaml:1: frequency_caps.0.limit: must be a whole number (got true)",
        ),
        (
            "frequency_caps: [{limit: 3, per: 0h}]",
            's.yaml:1: frequency_caps.0.per: a duration must be positive and in s, m, h, d or w (got "0h")',
        ),
    ],
)
def test_settings_rules(text: str, expected: str) -> None:
    assert settings_findings(text + "\n") == [expected]


def test_settings_defaults() -> None:
    settings = parse_settings("")
    assert settings.model_dump() == {
        "timezone": "UTC",
        "system_control_group": 0,
        "frequency_caps": [],
        "payload_values": "strict",
        "missing_keys": "blank",
        "max_payload_bytes": 65536,
    }


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "delivery: {dnd: {start: '09:60', end: '10:00'}}",
            'c.yaml:6: delivery.dnd.start: must be a time HH:MM between 00:00 and 23:59 (got "09:60")',
        ),
        ("goal: {event: Charged, within: 0h}", 'c.yaml:6: goal.within: must be longer than 0 (got "0h")'),
        (
            "delivery: {min_gap: 31d}",
            'c.yaml:6: delivery.min_gap: must be 0m (every trigger) or between 5m and 30d (got "31d")',
        ),
        (
            "schedule: {start: '2026-11-01T00:00:00Z', end: '2026-11-01T05:30:00+05:30'}",
            "c.yaml:6: schedule.end: must be after schedule.start "
            "(got 2026-11-01T05:30:00+05:30, start 2026-11-01T00:00:00+00:00)",
        ),
    ],
)
def test_edges_just_past_a_bound_are_refused(extra: str, expected: str) -> None:
    assert findings(BASE + extra + "\n") == [expected]


def test_edges_on_a_bound_are_accepted() -> None:
    campaign = parse_campaign(BASE + "delivery: {dnd: {start: 0, end: '23:59'}}\n")
    assert campaign.delivery.dnd is not None
    assert (campaign.delivery.dnd.start, campaign.delivery.dnd.end) == ("00:00", "23:59")
    assert [
        parse_campaign(BASE + f"delivery: {{min_gap: {gap}}}\n").delivery.min_gap for gap in ("5m", "30d")
    ] == [
        "5m",
        "30d",
    ]
    lapsed = parse_campaign(BASE + "audience: {filters: [{event: Charged, at_least: 0, within: 7d}]}\n")
    assert lapsed.audience.filters[0].model_dump(exclude_defaults=True) == {
        "event": "Charged",
        "at_least": 0,
        "within": "7d",
    }


def test_whatsapp_language_defaults_to_en_us() -> None:
    campaign = parse_campaign("name: W\nchannel: whatsapp\nmessage: {template: hello_world}\n")
    assert campaign.message.model_dump() == {"template": "hello_world", "language": "en_US", "parameters": []}


def test_duration_units_and_calendar_months() -> None:
    assert [parse_duration(t).seconds for t in ("90s", "15m", "12h", "1d", "2w")] == [
        90,
        900,
        43200,
        86400,
        2 * 168 * 3600,
    ]
    assert parse_duration("1mo") == Duration(1, "mo")
    jan31 = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)
    assert parse_duration("1mo").add_to(jan31) == datetime(2026, 2, 28, 9, 30, tzinfo=UTC)
    assert parse_duration("1mo").add_to(datetime(2026, 3, 31, tzinfo=UTC)) == datetime(
        2026, 4, 30, tzinfo=UTC
    )
    assert parse_duration("1mo").add_to(jan31.replace(year=2028)) == datetime(2028, 2, 29, 9, 30, tzinfo=UTC)
    assert parse_duration("1mo").add_to(datetime(2026, 3, 30, tzinfo=UTC), -1) == datetime(
        2026, 2, 28, tzinfo=UTC
    )


def test_a_message_that_is_not_a_mapping_is_reported_at_its_line() -> None:
    with pytest.raises(CampaignError) as info:
        parse_campaign(
            BASE.replace("message:\n  title: Hi\n  body: There\n", "message: hello\n"), source="c.yaml"
        )
    assert [(f.path, f.line, f.message) for f in info.value.findings] == [
        ("message", 3, 'must be a mapping of fields (got "hello")')
    ]


@pytest.mark.parametrize(
    ("start", "end", "refused"),
    [
        # both naive (the workspace zone) or both with offsets: compared as they are
        ("2026-11-01T10:00:00", "2026-11-01T10:00:00", True),
        ("2026-11-01T10:00:00", "2026-11-01T10:00:01", False),
        # a naive start against an end with an offset: the start may be up to 14 h before its UTC reading
        # (Asia/Kolkata puts 10:00 at 04:30Z, before this end), so only an end 14 h or more before is refused
        ("2026-11-01T10:00:00", "2026-11-01T06:00:00Z", False),
        ("2026-11-01T10:00:00", "2026-10-31T20:00:01Z", False),
        ("2026-11-01T10:00:00", "2026-10-31T20:00:00Z", True),
        # a naive end against a start with an offset: the end may be up to 12 h after its UTC reading
        ("2026-11-01T10:00:00Z", "2026-11-01T00:00:00", False),
        ("2026-11-01T10:00:00Z", "2026-10-31T22:00:00", True),
    ],
)
def test_schedule_order_when_naive_times_are_in_a_zone_the_campaign_does_not_know(
    start: str, end: str, refused: bool
) -> None:
    text = BASE + f"schedule: {{start: '{start}', end: '{end}'}}\n"
    if refused:
        shown = [datetime.fromisoformat(t).isoformat() for t in (end, start)]
        assert findings(text) == [
            f"c.yaml:6: schedule.end: must be after schedule.start (got {shown[0]}, start {shown[1]})"
        ]
    else:
        schedule = parse_campaign(text).schedule
        assert (schedule.start, schedule.end) == (datetime.fromisoformat(start), datetime.fromisoformat(end))


def test_a_filter_that_is_not_a_mapping_says_so() -> None:
    with pytest.raises(CampaignError) as info:
        parse_campaign(
            BASE + "audience: {filters: [hello, {event: Charged, at_least: true}]}\n", source="c.yaml"
        )
    assert [(f.path, f.message) for f in info.value.findings] == [
        ("audience.filters.0", 'must be a mapping of fields (got "hello")'),
        ("audience.filters.1.at_least", "must be a whole number (got true)"),
    ]
