"""WebhookTransport against a real receiver on 127.0.0.1: exact requests, auth, and what it refuses."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from tests.send_receivers import Answer, HttpReceiver, Received, self_signed_tls
from triggerlab.delivery import (
    DeliveryLog,
    OutgoingMessage,
    RetryPolicy,
    WebhookTransport,
    deliver,
    idempotency_key,
)
from triggerlab.delivery.pacing import RateLimiter
from triggerlab.errors import SendError

LOOPBACK = ["127.0.0.0/8"]
FAST = RetryPolicy(max_attempts=3, base=0.01, cap=0.05)


def message(n: int, url: str, **fields: object) -> OutgoingMessage:
    return OutgoingMessage(
        key=idempotency_key("1750575723", f"req-{n}", 0, f"user-{n}"),
        channel="webhook",
        campaign_id="1750575723",
        identity=f"user-{n}",
        fields={"url": url, "method": "POST", "body": f'{{"n": {n}}}', "content_type": "json"} | fields,
        request_id=f"req-{n}",
    )


def run(messages: list[OutgoingMessage], transport: WebhookTransport, log: DeliveryLog, **kw: object) -> None:
    asyncio.run(deliver(messages, transport, log=log, retry=FAST, **kw))  # type: ignore[arg-type]


def states(log: DeliveryLog) -> list[tuple[object, ...]]:
    return log.con.execute(
        "SELECT identity, state, attempts, response_code, reason FROM deliveries ORDER BY identity"
    ).fetchall()


def test_the_request_is_the_rendered_one_with_an_idempotency_key() -> None:
    log = DeliveryLog.memory()
    with HttpReceiver() as r:
        m = message(1, f"{r.url}/hooks/subscription?src=tl", headers={"X-Source": "triggerlab"})
        run([m], WebhookTransport(allow_networks=LOOPBACK), log)
    [got] = r.requests
    assert (got.method, got.path, got.body) == ("POST", "/hooks/subscription?src=tl", b'{"n": 1}')
    assert got.headers["idempotency-key"] == m.key
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-source"] == "triggerlab"
    assert "authorization" not in got.headers
    assert states(log) == [("user-1", "sent", 1, 200, None)]


def test_text_bodies_and_methods() -> None:
    log = DeliveryLog.memory()
    with HttpReceiver() as r:
        put = message(1, f"{r.url}/a", method="PUT", body="plain words", content_type="text")
        get = message(2, f"{r.url}/b", method="GET", body=None)
        run([put, get], WebhookTransport(allow_networks=LOOPBACK), log, concurrency=1)
    first, second = r.requests
    assert (first.method, first.headers["content-type"], first.body) == (
        "PUT",
        "text/plain; charset=utf-8",
        b"plain words",
    )
    assert (second.method, second.body, "content-type" in second.headers) == ("GET", b"", False)


def test_the_url_goes_out_as_rendered_and_only_unsafe_characters_are_encoded() -> None:
    log = DeliveryLog.memory()
    with HttpReceiver() as r:
        signed = message(1, f"{r.url}/h%41/x?sig=a%2Fb%3D&q=%41")
        spaced = message(2, f"{r.url}/a b/ü?q=ü")
        run([signed, spaced], WebhookTransport(allow_networks=LOOPBACK), log, concurrency=1)
    assert [q.path for q in r.requests] == ["/h%41/x?sig=a%2Fb%3D&q=%41", "/a%20b/%C3%BC?q=%C3%BC"]


def test_redirects_are_answers_not_followed() -> None:
    log = DeliveryLog.memory()
    with HttpReceiver(lambda _: Answer(302, b"", headers={"Location": "/elsewhere"})) as r:
        run([message(1, f"{r.url}/hook")], WebhookTransport(allow_networks=LOOPBACK), log)
    assert [q.path for q in r.requests] == ["/hook"]
    assert states(log) == [("user-1", "dead", 1, 302, "HTTP 302")]


def test_tls_certificates_are_verified(tmp_path: Path) -> None:
    log = DeliveryLog.memory()
    with HttpReceiver(tls=self_signed_tls(tmp_path)) as r:
        run([message(1, f"{r.url}/hook")], WebhookTransport(allow_networks=LOOPBACK), log)
    assert r.requests == []
    assert states(log) == [
        (
            "user-1",
            "failed",
            3,
            None,
            "gave up after 3 attempts in this run: connection failed (ConnectError)",
        )
    ]


def test_basic_auth_from_environment_never_shows_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_USER", "crm-bot")
    monkeypatch.setenv("CRM_PASS", "s3cr3t-pa55")
    auth = {"kind": "basic", "username_env": "CRM_USER", "password_env": "CRM_PASS"}
    log = DeliveryLog.memory()
    transport = WebhookTransport(allow_networks=LOOPBACK)
    with HttpReceiver(lambda _: Answer(403, b'{"error": "nope"}')) as r:
        run([message(1, r.url, auth=auth)], transport, log)
    assert (
        r.requests[0].headers["authorization"] == "Basic " + base64.b64encode(b"crm-bot:s3cr3t-pa55").decode()
    )
    assert states(log) == [("user-1", "dead", 1, 403, 'HTTP 403: {"error": "nope"}')]
    everything = repr(transport) + repr(log.con.execute("SELECT * FROM delivery_log").fetchall())
    assert "s3cr3t" not in everything


class OAuthServer:
    """A token endpoint handing out tok-1, tok-2, ... and a hook that accepts only the newest token."""

    def __init__(self, expires_in: int = 3600, revoke_first: bool = False) -> None:
        self.expires_in = expires_in
        self.revoke_first = revoke_first
        self.issued = 0
        self.token_requests: list[Received] = []

    def __call__(self, req: Received) -> Answer:
        if req.path == "/token":
            self.token_requests.append(req)
            self.issued += 1
            body = f'{{"access_token": "tok-{self.issued}", "expires_in": {self.expires_in}}}'
            return Answer(200, body.encode())
        ok = req.headers.get("authorization") == f"Bearer tok-{self.issued}"
        if self.revoke_first and self.issued == 1:
            ok = False
        return Answer(200) if ok else Answer(401, b'{"error": "invalid_token"}')


def oauth_fields(url: str) -> dict[str, object]:
    return {
        "kind": "oauth2",
        "token_url": f"{url}/token",
        "client_id_env": "CRM_CLIENT",
        "client_secret_env": "CRM_SECRET",
        "scope": "hooks.write",
    }


@pytest.fixture
def oauth_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_CLIENT", "client-7")
    monkeypatch.setenv("CRM_SECRET", "very-secret")


@pytest.mark.usefixtures("oauth_env")
def test_oauth_token_is_fetched_once_and_shared() -> None:
    server = OAuthServer()
    log = DeliveryLog.memory()
    with HttpReceiver(server) as r:
        messages = [message(n, f"{r.url}/hook", auth=oauth_fields(r.url)) for n in range(5)]
        run(messages, WebhookTransport(allow_networks=LOOPBACK), log)
    [token_request] = server.token_requests
    assert token_request.method == "POST"
    assert (
        token_request.headers["authorization"]
        == "Basic " + base64.b64encode(b"client-7:very-secret").decode()
    )
    assert parse_qs(token_request.body.decode()) == {
        "grant_type": ["client_credentials"],
        "scope": ["hooks.write"],
    }
    hooks = [q for q in r.requests if q.path == "/hook"]
    assert [q.headers["authorization"] for q in hooks] == ["Bearer tok-1"] * 5
    assert log.counts()["sent"] == 5


@pytest.mark.usefixtures("oauth_env")
def test_oauth_token_is_refreshed_when_it_expires_and_after_a_401() -> None:
    expiring = OAuthServer(expires_in=0)
    with HttpReceiver(expiring) as r:
        messages = [message(n, f"{r.url}/hook", auth=oauth_fields(r.url)) for n in range(3)]
        run(messages, WebhookTransport(allow_networks=LOOPBACK), DeliveryLog.memory(), concurrency=1)
    assert len(expiring.token_requests) == 3

    revoked = OAuthServer(revoke_first=True)
    log = DeliveryLog.memory()
    with HttpReceiver(revoked) as r:
        run(
            [message(1, f"{r.url}/hook", auth=oauth_fields(r.url))],
            WebhookTransport(allow_networks=LOOPBACK),
            log,
        )
    assert [q.headers.get("authorization") for q in r.requests if q.path == "/hook"] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]
    assert states(log) == [("user-1", "sent", 1, 200, None)]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://localhost:9/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest",
        "http://[::1]:9/",
    ],
)
def test_private_targets_are_refused_unless_allowed(url: str) -> None:
    log = DeliveryLog.memory()
    run([message(1, url)], WebhookTransport(), log)
    [(_, state, attempts, code, reason)] = states(log)
    assert (state, attempts, code) == ("dead", 1, None)
    assert "private/loopback/link-local address; allow its network explicitly" in str(reason)


def test_non_http_targets_are_refused() -> None:
    log = DeliveryLog.memory()
    run([message(1, "file:///etc/passwd")], WebhookTransport(allow_networks=LOOPBACK), log)
    assert states(log) == [
        ("user-1", "dead", 1, None, "target 'file:///etc/passwd' is not an http(s) URL with a host")
    ]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"X-Note": "a\r\nX-Injected: 1"}, "header X-Note holds CR, LF or NUL (header injection refused)"),
        (
            {"X-Bad\nName": "v"},
            "header name 'X-Bad\\nName' is not a valid HTTP token (header injection refused)",
        ),
    ],
)
def test_header_injection_is_refused(headers: dict[str, str], reason: str) -> None:
    log = DeliveryLog.memory()
    with HttpReceiver() as r:
        run([message(1, r.url, headers=headers)], WebhookTransport(allow_networks=LOOPBACK), log)
    assert r.requests == []
    assert states(log) == [("user-1", "dead", 1, None, reason)]


def test_missing_credentials_stop_the_run_and_leave_messages_pending() -> None:
    auth = {"kind": "basic", "username_env": "TL_TEST_UNSET_USER", "password_env": "TL_TEST_UNSET_PASS"}
    log = DeliveryLog.memory()
    with (
        HttpReceiver() as r,
        pytest.raises(SendError, match="environment variable TL_TEST_UNSET_USER is not set"),
    ):
        run([message(1, r.url, auth=auth)], WebhookTransport(allow_networks=LOOPBACK), log)
    assert r.requests == []
    assert states(log) == [("user-1", "pending", 0, None, None)]


def test_concurrency_and_rate_limits_hold() -> None:
    with HttpReceiver(lambda _: Answer(200, delay=0.02)) as r:
        messages = [message(n, f"{r.url}/hook") for n in range(40)]
        run(messages, WebhookTransport(allow_networks=LOOPBACK), DeliveryLog.memory(), concurrency=4)
    assert r.max_in_flight == 4


def test_the_rate_limit_spaces_attempts_evenly() -> None:
    async def starts() -> list[float]:
        limiter, loop, seen = RateLimiter(200.0), asyncio.get_running_loop(), []
        for _ in range(20):
            await limiter.wait()
            seen.append(loop.time())
        return seen

    seen = asyncio.run(starts())
    # Slots are 5 ms apart; a late wake-up may shorten one gap, never the span (1 ms of timer slack).
    assert seen[-1] - seen[0] >= 19 * 0.005 - 0.001
