"""CleverTapTransport against a local server that enforces the External Trigger API contract."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.send_receivers import Answer, HttpReceiver, Received
from triggerlab.delivery import (
    CleverTapTransport,
    DeliveryLog,
    RetryPolicy,
    clevertap_calls,
    deliver,
    idempotency_key,
)
from triggerlab.errors import InputError, SendError

FAST = RetryPolicy(max_attempts=4, base=0.01, cap=0.05)
CREDENTIALS = {
    "CLEVERTAP_ACCOUNT_ID": "W9R-486-4W5Z",
    "CLEVERTAP_PASSCODE": "pass-code-1",
    "CLEVERTAP_TOKEN": "tok-9",
}


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)


class CleverTapApi:
    """The contract: account headers, token on /2/, JSON bodies of the documented shape, at most 1,000
    recipients and 5 campaigns per call, and 429 for a 4th concurrent request."""

    def __init__(self, fail_campaign: str | None = None, throttle_first: int = 0) -> None:
        self.in_flight = 0
        self.max_in_flight = 0
        self.violations: list[str] = []
        self.accepted: list[tuple[str, dict[str, object]]] = []
        self.fail_campaign = fail_campaign
        self.throttle_left = throttle_first

    def check(self, req: Received) -> str | None:
        h = req.headers
        if req.method != "POST" or req.path not in (
            "/1/send/externaltrigger.json",
            "/2/send/externaltrigger.json",
        ):
            return f"bad endpoint {req.method} {req.path}"
        if (
            h.get("x-clevertap-account-id") != "W9R-486-4W5Z"
            or h.get("x-clevertap-passcode") != "pass-code-1"
        ):
            return "bad account headers"
        if req.path.startswith("/2/") and h.get("x-clevertap-token") != "tok-9":
            return "no token on /2/"
        if h.get("content-type") != "application/json":
            return "not json"
        body = req.json()
        to = body.get("to")
        if not isinstance(to, dict) or not all(isinstance(v, list) for v in to.values()):
            return "bad to"
        if sum(len(v) for v in to.values()) > 1000:
            return "more than 1000 recipients"
        if req.path.startswith("/1/") and not isinstance(body.get("campaign_id"), str):
            return "v1 without campaign_id"
        if req.path.startswith("/2/") and not 1 <= len(body.get("campaign_id_list", [])) <= 5:
            return "v2 campaign_id_list not 1..5"
        if not isinstance(body.get("ExternalTrigger"), dict):
            return "ExternalTrigger not an object"
        return None

    async def __call__(self, req: Received) -> Answer:
        if self.in_flight >= 3:
            self.violations.append("4th concurrent request")
            return Answer(429, b'{"status": "fail", "error": "Too many concurrent requests"}')
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.02)
        finally:
            self.in_flight -= 1
        problem = self.check(req)
        if problem:
            self.violations.append(problem)
            return Answer(400, json.dumps({"status": "fail", "error": problem}).encode())
        if self.throttle_left:
            self.throttle_left -= 1
            return Answer(429, b'{"status": "fail"}', headers={"Retry-After": "0"})
        body = req.json()
        if self.fail_campaign and self.fail_campaign in (
            body.get("campaign_id"),
            *body.get("campaign_id_list", []),
        ):
            return Answer(200, b'{"status": "fail", "error": "Campaign not found", "code": 404}')
        self.accepted.append((req.path, body))
        return Answer(200, b'{"status": "success", "processed": 1}')


def test_a_request_is_cut_into_calls_of_1000_recipients_and_5_campaigns() -> None:
    body = {
        "to": {"identity": [f"u{i}" for i in range(1500)], "email": [f"e{i}@x.test" for i in range(1000)]},
        "campaign_id": "1750575722",
        "ExternalTrigger": {"steps": "15000"},
    }
    calls = clevertap_calls("r1", body)
    assert [(m.fields["version"], {k: len(v) for k, v in m.fields["body"]["to"].items()}) for m in calls] == [
        (1, {"identity": 1000}),
        (1, {"identity": 500, "email": 500}),
        (1, {"email": 500}),
    ]
    assert calls[1].fields["body"] == {
        "to": {
            "identity": [f"u{i}" for i in range(1000, 1500)],
            "email": [f"e{i}@x.test" for i in range(500)],
        },
        "campaign_id": "1750575722",
        "ExternalTrigger": {"steps": "15000"},
    }
    multi = clevertap_calls(
        "r2", {"to": {"identity": ["a"]}, "campaign_id_list": list(range(1, 8)), "ExternalTrigger": {}}
    )
    assert [(m.fields["version"], m.fields["body"]["campaign_id_list"]) for m in multi] == [
        (2, ["1", "2", "3", "4", "5"]),
        (2, ["6", "7"]),
    ]
    again = clevertap_calls("r1", body)
    assert [m.key for m in again] == [m.key for m in calls]
    assert len({m.key for m in calls + multi}) == 5


def test_d_bodies_forward_each_element_and_bad_requests_are_input_errors() -> None:
    d = {
        "d": [
            {"to": {"identity": ["a"]}, "campaign_id": 1},
            {"to": {"email": ["b@x.test"]}, "campaign_id": "2"},
        ]
    }
    assert [m.fields["body"] for m in clevertap_calls("r", d)] == [
        {"to": {"identity": ["a"]}, "campaign_id": "1", "ExternalTrigger": {}},
        {"to": {"email": ["b@x.test"]}, "campaign_id": "2", "ExternalTrigger": {}},
    ]
    with pytest.raises(InputError, match="needs a campaign id and at least one recipient"):
        clevertap_calls("r", {"to": {"identity": []}, "campaign_id": "1"})


def test_forwarding_keeps_the_contract_and_never_exceeds_3_requests_in_flight() -> None:
    api = CleverTapApi()
    requests = [
        {
            "to": {"identity": [f"u{i}" for i in range(2500)]},
            "campaign_id": "1750575722",
            "ExternalTrigger": {"a": "1"},
        },
        {
            "to": {"identity": [f"u{i}" for i in range(10)]},
            "campaign_id_list": list(range(100, 107)),
            "ExternalTrigger": {},
        },
    ] + [
        {"to": {"email": [f"p{i}@x.test"]}, "campaign_id": "1695721550", "ExternalTrigger": {}}
        for i in range(20)
    ]
    messages = [m for n, body in enumerate(requests) for m in clevertap_calls(str(n), body)]
    log = DeliveryLog.memory()
    with HttpReceiver(api) as r:
        summary = asyncio.run(
            deliver(messages, CleverTapTransport(base_url=r.url), log=log, concurrency=50, retry=FAST)
        )
    assert api.violations == []
    assert api.max_in_flight == 3
    assert (summary.sent, summary.retries, len(api.accepted)) == (25, 0, 25)
    sizes = sorted(
        len(b["to"]["identity"]) for p, b in api.accepted if p.startswith("/1/") and "identity" in b["to"]
    )
    assert sizes == [500, 1000, 1000]
    v2 = [b["campaign_id_list"] for p, b in api.accepted if p.startswith("/2/")]
    assert sorted(v2) == [["100", "101", "102", "103", "104"], ["105", "106"]]


def test_status_fail_is_dead_and_429_is_retried() -> None:
    api = CleverTapApi(fail_campaign="999", throttle_first=1)
    ok = clevertap_calls("1", {"to": {"identity": ["a"]}, "campaign_id": "1"})
    bad = clevertap_calls("2", {"to": {"identity": ["b"]}, "campaign_id": "999"})
    log = DeliveryLog.memory()
    with HttpReceiver(api) as r:
        asyncio.run(deliver(ok + bad, CleverTapTransport(base_url=r.url), log=log, concurrency=1, retry=FAST))
    rows = log.con.execute(
        "SELECT campaign_id, state, attempts, response_code, reason FROM deliveries ORDER BY campaign_id"
    ).fetchall()
    assert rows == [
        ("1", "sent", 2, 200, None),
        ("999", "dead", 1, 200, "CleverTap answered status fail: Campaign not found"),
    ]


def test_bad_credentials_stop_the_run() -> None:
    calls = clevertap_calls("1", {"to": {"identity": ["a"]}, "campaign_id": "1"})
    log = DeliveryLog.memory()
    with HttpReceiver(lambda _: Answer(401, b'{"status": "fail", "error": "Invalid credentials"}')) as r:
        transport = CleverTapTransport(base_url=r.url)
        with pytest.raises(SendError, match="CleverTap refused the credentials: HTTP 401"):
            asyncio.run(deliver(calls, transport, log=log, retry=FAST))
    assert log.counts() == {"pending": 1, "sent": 0, "failed": 0, "dead": 0}
    assert "pass-code-1" not in repr(transport)


def test_regions() -> None:
    assert CleverTapTransport(region="in1").base_url == "https://in1.api.clevertap.com"
    assert CleverTapTransport().base_url == "https://eu1.api.clevertap.com"
    with pytest.raises(InputError, match="unknown CleverTap region 'xx1'"):
        CleverTapTransport(region="xx1")


def test_only_calls_to_2_need_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLEVERTAP_TOKEN")
    one = clevertap_calls("1", {"to": {"identity": ["a"]}, "campaign_id": "1"})
    two = clevertap_calls("2", {"to": {"identity": ["b"]}, "campaign_id_list": ["1", "2"]})
    log = DeliveryLog.memory()
    with HttpReceiver(lambda _: Answer(200, b'{"status": "success"}')) as r:
        transport = CleverTapTransport(base_url=r.url)
        with pytest.raises(SendError, match=r"CLEVERTAP_TOKEN is not set \(/2/ calls need the token\)"):
            asyncio.run(deliver(one + two, transport, log=log, concurrency=1, retry=FAST))
    [got] = r.requests
    assert got.path == "/1/send/externaltrigger.json"
    assert "x-clevertap-token" not in got.headers
    rows = log.con.execute("SELECT campaign_id, state FROM deliveries ORDER BY campaign_id").fetchall()
    assert rows == [("1", "sent"), ("1,2", "pending")]


def test_a_repeated_element_is_forwarded_twice_under_keys_of_its_position() -> None:
    element = {"to": {"identity": ["a"]}, "campaign_id": "1", "ExternalTrigger": {"n": "1"}}
    calls = clevertap_calls("r9", {"d": [element, element]})
    assert [m.key for m in calls] == [
        idempotency_key("1", "r9", 0, "identity:a"),
        idempotency_key("1", "r9", 1, "identity:a"),
    ]
    api = CleverTapApi()
    log = DeliveryLog.memory()
    with HttpReceiver(api) as r:
        summary = asyncio.run(deliver(calls, CleverTapTransport(base_url=r.url), log=log, retry=FAST))
    assert (summary.sent, summary.duplicates) == (2, 0)
    assert api.accepted == [("/1/send/externaltrigger.json", element)] * 2


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>maintenance</html>", "CleverTap answered status fail: <html>maintenance</html>"),
        (b'{"processed": 1}', "CleverTap answered status fail: {'processed': 1}"),
    ],
)
def test_a_200_that_does_not_say_success_is_not_sent(body: bytes, reason: str) -> None:
    calls = clevertap_calls("1", {"to": {"identity": ["a"]}, "campaign_id": "1"})
    log = DeliveryLog.memory()
    with HttpReceiver(lambda _: Answer(200, body)) as r:
        asyncio.run(deliver(calls, CleverTapTransport(base_url=r.url), log=log, retry=FAST))
    assert len(r.requests) == 1
    rows = log.con.execute("SELECT state, attempts, response_code, reason FROM deliveries").fetchall()
    assert rows == [("dead", 1, 200, reason)]
