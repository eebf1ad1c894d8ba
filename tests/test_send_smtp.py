"""SmtpTransport against aiosmtpd on 127.0.0.1: the exact MIME message, reused connections, STARTTLS, AUTH."""

from __future__ import annotations

import asyncio
import socket
import ssl
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.send_receivers import self_signed_certificate
from triggerlab.delivery import (
    DeliveryLog,
    OutgoingMessage,
    RetryPolicy,
    SmtpTransport,
    deliver,
    idempotency_key,
)
from triggerlab.errors import SendError

FAST = RetryPolicy(max_attempts=3, base=0.01, cap=0.05)
FIELDS = {
    "from_name": "Acme Shop",
    "from_email": "orders@acme.test",
    "reply_to": "help@acme.test",
    "subject": "Your order #1001 is confirmed 🛒",
    "preheader": "Arriving Thursday & Friday",
    "html": "<html><body><p>Hi Asha,</p><p>Thanks for your order.</p></body></html>",
    "text": "Hi Asha,\nThanks for your order.\n",
}


class Collect:  # aiosmtpd calls handle_<VERB> by name
    def __init__(self, temporary_failures: int = 0) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.sessions: list[Any] = []
        self.encrypted: list[bool] = []  # per message: did it arrive over TLS
        self.temporary_failures = temporary_failures

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.endswith("@blocked.test"):
            return "550 5.1.1 mailbox unavailable"
        if self.temporary_failures:
            self.temporary_failures -= 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self,
        server: Any,
        session: Any,
        envelope: Any,
    ) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        self.encrypted.append(server.transport.get_extra_info("ssl_object") is not None)
        if all(s is not session for s in self.sessions):
            self.sessions.append(session)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def email(n: int, to: str | None, **fields: str) -> OutgoingMessage:
    return OutgoingMessage(
        key=idempotency_key("1695721550", str(n), 0, f"user-{n}"),
        channel="email",
        campaign_id="1695721550",
        identity=f"user-{n}",
        fields=FIELDS | fields,
        to=to,
        request_id=str(n),
    )


def run(messages: list[OutgoingMessage], transport: SmtpTransport, log: DeliveryLog, **kw: Any) -> None:
    asyncio.run(deliver(messages, transport, log=log, retry=FAST, **kw))


def states(log: DeliveryLog) -> list[tuple[object, ...]]:
    return log.con.execute(
        "SELECT identity, state, attempts, response_code, reason FROM deliveries ORDER BY identity"
    ).fetchall()


@pytest.fixture
def smtp() -> Any:
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def test_the_received_message_is_exactly_the_rendered_one(smtp: Any) -> None:
    handler, port = smtp
    m = email(1, "asha@example.test")
    log = DeliveryLog.memory()
    run([m], SmtpTransport(host="127.0.0.1", port=port), log)
    [(mail_from, rcpt_tos, content)] = handler.messages
    assert (mail_from, rcpt_tos) == ("orders@acme.test", ["asha@example.test"])
    got = message_from_bytes(content, policy=policy.default)
    assert isinstance(got, EmailMessage)
    assert got["Subject"] == "Your order #1001 is confirmed 🛒"
    assert got["From"] == "Acme Shop <orders@acme.test>"
    assert got["Reply-To"] == "help@acme.test"
    assert got["To"] == "asha@example.test"
    assert got["Message-ID"] == f"<{m.key[:48]}@triggerlab>"
    assert got.get_content_type() == "multipart/alternative"
    text, html = got.iter_parts()
    assert (text.get_content_type(), text.get_content()) == (
        "text/plain",
        "Hi Asha,\r\nThanks for your order.\r\n",  # SMTP lines end in CRLF on the wire
    )
    assert (html.get_content_type(), html.get_content()) == (
        "text/html",
        '<html><body><div style="display:none;max-height:0;overflow:hidden;mso-hide:all">'
        "Arriving Thursday &amp; Friday</div><p>Hi Asha,</p><p>Thanks for your order.</p></body></html>\r\n",
    )
    assert states(log) == [("user-1", "sent", 1, 250, None)]
    assert handler.encrypted == [False]


def test_html_only_and_text_only_messages(smtp: Any) -> None:
    handler, port = smtp
    only_html = email(1, "a@example.test", text="", preheader="")
    only_text = email(2, "b@example.test", html="")
    run(
        [only_html, only_text],
        SmtpTransport(host="127.0.0.1", port=port),
        DeliveryLog.memory(),
        concurrency=1,
    )
    first, second = (message_from_bytes(c, policy=policy.default) for _, _, c in handler.messages)
    assert (first.get_content_type(), first.get_content()) == ("text/html", FIELDS["html"] + "\r\n")  # type: ignore[attr-defined]
    assert (second.get_content_type(), second.get_content()) == (
        "text/plain",
        FIELDS["text"].replace("\n", "\r\n"),
    )  # type: ignore[attr-defined]


def test_connections_are_reused(smtp: Any) -> None:
    handler, port = smtp
    messages = [email(n, f"user{n}@example.test") for n in range(40)]
    log = DeliveryLog.memory()
    run(messages, SmtpTransport(host="127.0.0.1", port=port, connections=2), log)
    assert len(handler.messages) == 40
    assert len(handler.sessions) == 2
    assert log.counts()["sent"] == 40


def test_permanent_refusals_are_dead_temporary_ones_retried() -> None:
    handler = Collect(temporary_failures=1)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        log = DeliveryLog.memory()
        messages = [email(1, "x@blocked.test"), email(2, "asha@example.test"), email(3, None)]
        run(messages, SmtpTransport(host="127.0.0.1", port=controller.port), log, concurrency=1)
    finally:
        controller.stop()
    assert states(log) == [
        ("user-1", "dead", 1, 550, "SMTP 550: 5.1.1 mailbox unavailable"),
        ("user-2", "sent", 2, 250, None),
        ("user-3", "dead", 1, None, "no e-mail address for this recipient"),
    ]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def test_starttls_and_login(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        ok = (data.login, data.password) == (b"mailer", b"hunter2-long")
        # handled=False makes aiosmtpd answer 535; the default leaves the client waiting forever
        return AuthResult(success=ok, handled=False)

    handler = Collect()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        client_tls = ssl.create_default_context(cafile=str(cert))
        monkeypatch.setenv("SMTP_USER", "mailer")
        monkeypatch.setenv("SMTP_PASS", "hunter2-long")
        transport = SmtpTransport(
            host="127.0.0.1",
            port=controller.port,
            security="starttls",
            username_env="SMTP_USER",
            password_env="SMTP_PASS",
            ssl_context=client_tls,
        )
        log = DeliveryLog.memory()
        run([email(1, "asha@example.test")], transport, log)
        assert states(log) == [("user-1", "sent", 1, 250, None)]
        assert handler.encrypted == [True]
        assert "hunter2" not in repr(transport)

        monkeypatch.setenv("SMTP_PASS", "wrong-password")
        with pytest.raises(SendError, match="SMTP login refused: 535"):
            run([email(2, "b@example.test")], transport, DeliveryLog.memory())
    finally:
        controller.stop()
    # smtplib tries each mechanism the server offers (PLAIN, then LOGIN) before giving up
    assert logins == [
        (b"mailer", b"hunter2-long"),
        (b"mailer", b"wrong-password"),
        (b"mailer", b"wrong-password"),
    ]


def test_implicit_tls(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    handler = Collect()
    # server_hostname lets the controller's own readiness probe verify the certificate it serves
    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), ssl_context=server_tls, server_hostname="127.0.0.1"
    )
    controller.start()
    try:
        client_tls = ssl.create_default_context(cafile=str(cert))
        transport = SmtpTransport(
            host="127.0.0.1", port=controller.port, security="ssl", ssl_context=client_tls
        )
        log = DeliveryLog.memory()
        run([email(1, "asha@example.test")], transport, log)
    finally:
        controller.stop()
    assert states(log) == [("user-1", "sent", 1, 250, None)]
    assert handler.encrypted == [True]
