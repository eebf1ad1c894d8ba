"""WebhookTransport against a real receiver on 127.0.0.1: exact requests, auth, and what it refuses."""

from __future__ import annotations

import asyncio
import base64
import random
import time
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
        ({"X-Note": "a\0b"}, "header X-Note holds CR, LF or NUL (header injection refused)"),
        ({"X-Note": "a\x01b"}, "header X-Note holds the control character '\\x01' (refused)"),
        ({"X-Note": "a\x7fb"}, "header X-Note holds the control character '\\x7f' (refused)"),
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


@pytest.mark.parametrize("spelling", ["Content-Type", "content-type", "CONTENT-TYPE"])
def test_a_rendered_content_type_is_kept(spelling: str) -> None:
    log = DeliveryLog.memory()
    with HttpReceiver() as r:
        m = message(1, f"{r.url}/hook", headers={spelling: "application/vnd.crm+json"})
        run([m], WebhookTransport(allow_networks=LOOPBACK), log)
    [got] = r.requests
    assert got.values("content-type") == ["application/vnd.crm+json"]
    assert got.body == b'{"n": 1}'
    assert states(log) == [("user-1", "sent", 1, 200, None)]


def test_a_rendered_idempotency_key_gives_way_to_the_senders() -> None:
    log = DeliveryLog.memory()
    with HttpReceiver() as r:
        m = message(1, f"{r.url}/hook", headers={"idempotency-key": "from-the-template"})
        run([m], WebhookTransport(allow_networks=LOOPBACK), log)
    [got] = r.requests
    assert got.values("idempotency-key") == [m.key]


def test_a_header_refused_ends_its_message_and_the_run_goes_on() -> None:
    log = DeliveryLog.memory()
    with HttpReceiver() as r:
        messages = [message(1, f"{r.url}/hook", headers={"X-Note": "a\x01b"}), message(2, f"{r.url}/hook")]
        run(messages, WebhookTransport(allow_networks=LOOPBACK), log)
    assert [got.body for got in r.requests] == [b'{"n": 2}']
    assert states(log) == [
        ("user-1", "dead", 1, None, "header X-Note holds the control character '\\x01' (refused)"),
        ("user-2", "sent", 1, 200, None),
    ]


def test_the_retry_after_of_a_429_reaches_the_retry_policy() -> None:
    waits: list[tuple[int, float | None]] = []

    class Recorded(RetryPolicy):
        def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
            waits.append((attempt, retry_after))
            return super().delay(attempt, retry_after, rng)

    answers = [
        Answer(429, b'{"error": "slow down"}', headers={"Retry-After": "7"}),
        Answer(503, b'{"error": "busy"}'),
        Answer(200),
    ]
    log = DeliveryLog.memory()
    # max_retry_after=0 keeps the test fast: the policy is told 7 s and waits only its own back-off
    policy = Recorded(max_attempts=3, base=0.01, cap=0.05, max_retry_after=0.0)
    with HttpReceiver(lambda _: answers.pop(0)) as r:
        asyncio.run(
            deliver(
                [message(1, f"{r.url}/hook")],
                WebhookTransport(allow_networks=LOOPBACK),
                log=log,
                retry=policy,
            )
        )
    assert waits == [(1, 7.0), (2, None)]
    assert len(r.requests) == 3
    assert states(log) == [("user-1", "sent", 3, 200, None)]


@pytest.mark.usefixtures("oauth_env")
def test_oauth_token_is_refreshed_within_30_seconds_of_its_expiry() -> None:
    server = OAuthServer(expires_in=20)  # valid for 20 s more: inside the margin, so never reused
    with HttpReceiver(server) as r:
        messages = [message(n, f"{r.url}/hook", auth=oauth_fields(r.url)) for n in range(3)]
        run(messages, WebhookTransport(allow_networks=LOOPBACK), DeliveryLog.memory(), concurrency=1)
    assert len(server.token_requests) == 3
    hooks = [q.headers["authorization"] for q in r.requests if q.path == "/hook"]
    assert hooks == ["Bearer tok-1", "Bearer tok-2", "Bearer tok-3"]


@pytest.mark.usefixtures("oauth_env")
def test_the_oauth_token_url_is_guarded_like_the_target() -> None:
    log = DeliveryLog.memory()
    with HttpReceiver() as r:
        # the hook's address is allowed; the token endpoint's (another loopback address) is not
        auth = oauth_fields(r.url) | {"token_url": "http://127.0.0.2:9/token"}
        run([message(1, f"{r.url}/hook", auth=auth)], WebhookTransport(allow_networks=["127.0.0.1/32"]), log)
    assert r.requests == []
    assert states(log) == [
        (
            "user-1",
            "dead",
            1,
            None,
            "target host 127.0.0.2 resolves to 127.0.0.2, a private/loopback/link-local address; "
            "allow its network explicitly to send there",
        )
    ]


def test_proxy_settings_from_the_environment_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    log = DeliveryLog.memory()
    with HttpReceiver() as proxy, HttpReceiver() as r:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, proxy.url)
        run([message(1, f"{r.url}/hook")], WebhookTransport(allow_networks=LOOPBACK), log)
    assert proxy.requests == []
    assert [q.path for q in r.requests] == ["/hook"]
    assert states(log) == [("user-1", "sent", 1, 200, None)]


def test_acknowledgements_are_committed_while_the_run_goes_on() -> None:
    """The crash window: an acknowledged message is logged sent within about ``flush_interval``, long before
    a batch fills up or the run ends. The receiver holds the second request until the log shows the first
    one sent (or 20 s pass)."""
    log = DeliveryLog.memory()
    reader = log.con.cursor()
    seen_before_second: list[list[tuple[object, ...]]] = []

    async def hold_until_logged(req: Received) -> Answer:
        if req.json()["n"] == 2:
            found: list[tuple[object, ...]] = []
            for _ in range(2000):
                found = reader.execute("SELECT identity FROM deliveries WHERE state = 'sent'").fetchall()
                if found:
                    break
                await asyncio.sleep(0.01)
            seen_before_second.append(found)
        return Answer(200)

    with HttpReceiver(hold_until_logged) as r:
        messages = [message(n, f"{r.url}/hook") for n in (1, 2)]
        transport = WebhookTransport(timeout=60.0, allow_networks=LOOPBACK)
        run(messages, transport, log, concurrency=1, batch_size=500, flush_interval=0.05)
    reader.close()
    assert seen_before_second == [[("user-1",)]]
    assert states(log) == [("user-1", "sent", 1, 200, None), ("user-2", "sent", 1, 200, None)]


def test_the_loop_paces_attempts_at_the_rate() -> None:
    arrivals: list[float] = []

    def stamp(_: Received) -> Answer:
        arrivals.append(time.monotonic())
        return Answer(200)

    with HttpReceiver(stamp) as r:
        messages = [message(n, f"{r.url}/hook") for n in range(5)]
        run(
            messages,
            WebhookTransport(allow_networks=LOOPBACK),
            DeliveryLog.memory(),
            concurrency=5,
            rate=10.0,
        )
    # Starts are 100 ms apart, so the last request comes 400 ms after the first; a lower bound only, with
    # half of it left as slack for the first request's connection.
    assert len(arrivals) == 5
    assert arrivals[-1] - arrivals[0] >= 0.2
