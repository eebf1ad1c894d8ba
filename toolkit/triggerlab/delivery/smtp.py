"""SmtpTransport: multipart (text + HTML) e-mail over reused SMTP connections, with STARTTLS/TLS and AUTH.

smtplib is blocking, so each connection lives on a worker thread of the transport's own pool; the event loop
only waits. A connection is reused for message after message and dropped after any error that may have left
it in an unknown state.
"""

from __future__ import annotations

import asyncio
import html
import re
import smtplib
import ssl
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr
from functools import partial
from typing import ClassVar, Literal

from triggerlab.delivery.message import OutgoingMessage, Receipt
from triggerlab.delivery.secrets import Secret, env_secret
from triggerlab.delivery.transport import Transport
from triggerlab.errors import DeliveryRejected, SendError, TransportError

__all__ = ["SmtpTransport", "email_message"]

_BODY_TAG = re.compile(r"<body[^>]*>", re.IGNORECASE)


def _with_preheader(markup: str, preheader: str) -> str:
    # The preheader is the inbox preview line: hidden text placed first in the body.
    hidden = (
        f'<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">{html.escape(preheader)}</div>'
    )
    found = _BODY_TAG.search(markup)
    return markup[: found.end()] + hidden + markup[found.end() :] if found else hidden + markup


def email_message(message: OutgoingMessage) -> EmailMessage:
    """The MIME message: From (name and address), To, Reply-To, Subject, Message-ID from the key, and a
    text/plain part, a text/html part, or both as multipart/alternative."""
    fields = message.fields
    mail = EmailMessage(policy=SMTP)
    try:
        mail["From"] = formataddr((str(fields.get("from_name") or ""), str(fields["from_email"])))
        mail["To"] = str(message.to)
        if fields.get("reply_to"):
            mail["Reply-To"] = str(fields["reply_to"])
        mail["Subject"] = str(fields["subject"])
    except ValueError as exc:
        raise DeliveryRejected(f"bad e-mail header: {exc}") from None
    # The Message-ID is the e-mail world's idempotency key. 48 of the key's 64 hex digits (192 bits) keep
    # the header line within 78 characters, so it is never folded.
    mail["Message-ID"] = f"<{message.key[:48]}@triggerlab>"
    text, markup = fields.get("text"), fields.get("html")
    if markup and fields.get("preheader"):
        markup = _with_preheader(str(markup), str(fields["preheader"]))
    if text or not markup:
        mail.set_content(str(text or ""))
        if markup:
            mail.add_alternative(str(markup), subtype="html")
    else:
        mail.set_content(str(markup), subtype="html")
    return mail


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _judge(code: int, text: str) -> TransportError | DeliveryRejected:
    """SMTP 4xx is temporary (retry), 5xx permanent (dead)."""
    reason = f"SMTP {code}: {text}"
    return (
        TransportError(reason, status_code=code)
        if 400 <= code < 500
        else DeliveryRejected(reason, status_code=code)
    )


class SmtpTransport(Transport):
    """E-mail through an SMTP server. ``security``: ``none``, ``starttls`` (upgrade after EHLO) or ``ssl``
    (implicit TLS); with ``username_env``/``password_env`` it logs in. ``connections`` connections are kept
    open and reused; each carries one message at a time."""

    name: ClassVar[str] = "smtp"
    channels: ClassVar[tuple[str, ...]] = ("email",)

    def __init__(
        self,
        *,
        host: str = "localhost",
        port: int = 25,
        security: Literal["none", "starttls", "ssl"] = "none",
        username_env: str | None = None,
        password_env: str | None = None,
        timeout: float = 10.0,
        connections: int = 4,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.security, self.timeout = host, port, security, timeout
        self.username_env, self.password_env = username_env, password_env
        self.connections = self.max_concurrency = connections
        self.ssl_context = ssl_context
        self._login: tuple[Secret, Secret] | None = None
        self._pool: asyncio.Queue[smtplib.SMTP | None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def open(self) -> None:
        if self.username_env and self.password_env:
            self._login = (env_secret(self.username_env), env_secret(self.password_env))
        self._executor = ThreadPoolExecutor(max_workers=self.connections, thread_name_prefix="smtp")
        self._pool = asyncio.Queue()
        for _ in range(self.connections):
            self._pool.put_nowait(None)

    def _connect(self) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        try:
            if self.security == "ssl":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.security == "starttls":
                    conn.starttls(context=context)
            if self._login is not None:
                conn.login(self._login[0].reveal(), self._login[1].reveal())
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(f"SMTP login refused: {exc.smtp_code}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise SendError(f"SMTP server {self.host}:{self.port} does not support it: {exc}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"SMTP connection failed ({type(exc).__name__})") from None
        return conn

    async def deliver(self, message: OutgoingMessage) -> Receipt:
        if not message.to:
            raise DeliveryRejected("no e-mail address for this recipient")
        if self._pool is None:
            await self.open()
        assert self._pool is not None
        mail = email_message(message)
        sender = str(message.fields["from_email"])
        loop = asyncio.get_running_loop()
        conn = await self._pool.get()
        reusable = False
        try:
            if conn is None:
                conn = await loop.run_in_executor(self._executor, self._connect)
            send = partial(conn.send_message, mail, from_addr=sender, to_addrs=[message.to])
            await loop.run_in_executor(self._executor, send)
            reusable = True
        except smtplib.SMTPRecipientsRefused as exc:
            reusable = True
            code, text = next(iter(exc.recipients.values()))
            raise _judge(code, _text(text)) from None
        except smtplib.SMTPResponseException as exc:
            raise _judge(exc.smtp_code, _text(exc.smtp_error)) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"SMTP connection failed ({type(exc).__name__})") from None
        finally:
            if not reusable and conn is not None:
                _quietly_close(conn)
            self._pool.put_nowait(conn if reusable else None)
        return Receipt(250)

    async def aclose(self) -> None:
        if self._pool is not None:
            while not self._pool.empty():
                conn = self._pool.get_nowait()
                if conn is not None:
                    _quietly_close(conn)
            self._pool = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def __repr__(self) -> str:
        login = f", login from ${self.username_env}" if self.username_env else ""
        return f"SmtpTransport(host={self.host!r}, port={self.port}, security={self.security!r}{login})"


def _quietly_close(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()
