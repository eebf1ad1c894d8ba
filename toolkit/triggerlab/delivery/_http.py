"""What every HTTP transport shares: one async client, and turning responses and errors into outcomes."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from time import time
from typing import Any, ClassVar

import httpx

from triggerlab.delivery.message import OutgoingMessage, Receipt
from triggerlab.delivery.secrets import Secret, env_secret
from triggerlab.delivery.transport import Transport
from triggerlab.errors import DeliveryRejected, SendError, TransportError

__all__ = [
    "BearerJsonTransport",
    "HttpTransport",
    "detail",
    "http_client",
    "outcome",
    "refuse_credentials",
    "request",
    "retry_after",
]

_DETAIL = 200


def http_client(*, timeout: float, concurrency: int) -> httpx.AsyncClient:
    # Retries are the delivery loop's (it logs each attempt), so the client does none of its own.
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        follow_redirects=False,
        trust_env=False,
    )


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError):
        return None


def detail(response: httpx.Response) -> str:
    """The start of a response body on one line, to give as a reason."""
    text = response.text.strip().replace("\n", " ")
    return text[:_DETAIL]


def outcome(response: httpx.Response) -> Receipt:
    """2xx is a receipt; 429 and 5xx raise TransportError (retry); other statuses raise DeliveryRejected."""
    code = response.status_code
    if 200 <= code < 300:
        # No body text on success: decoding every acknowledgement costs more than the rest of the check.
        return Receipt(code)
    reason = f"HTTP {code}: {detail(response)}" if response.content else f"HTTP {code}"
    if code == 429 or code >= 500:
        raise TransportError(
            reason, status_code=code, retry_after=retry_after(response.headers.get("retry-after"))
        )
    raise DeliveryRejected(reason, status_code=code)


async def request(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send one request; timeouts and connection failures become TransportError (worth retrying).

    Messages name the failure's kind only: httpx's own text may quote the URL, which can hold a secret.
    """
    try:
        return await client.request(method, url, **kwargs)
    except httpx.InvalidURL:
        raise DeliveryRejected("the target URL is not valid") from None
    except httpx.TimeoutException as exc:
        raise TransportError(f"timeout ({type(exc).__name__})") from None
    except httpx.TransportError as exc:
        raise TransportError(f"connection failed ({type(exc).__name__})") from None


def refuse_credentials(response: httpx.Response, service: str) -> None:
    """401/403 from a provider whose credentials are the transport's (not the message's): stop the run.

    Marking every message dead for a wrong token would make the fix (a new token) useless, as dead messages
    are never retried.
    """
    if response.status_code in (401, 403):
        raise SendError(f"{service} refused the credentials: HTTP {response.status_code}: {detail(response)}")


class HttpTransport(Transport):
    """A transport over one shared ``httpx.AsyncClient`` (created on first use unless one is injected)."""

    def __init__(self, *, timeout: float, concurrency: int, client: httpx.AsyncClient | None = None) -> None:
        self.timeout = timeout
        self.concurrency = concurrency
        self._client = client
        self._own_client = client is None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = http_client(timeout=self.timeout, concurrency=self.concurrency)
        return self._client

    async def aclose(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None


class BearerJsonTransport(HttpTransport):
    """A provider API that takes one JSON body per message, POSTed to ``self.url`` with a bearer token read
    from the environment variable ``token_env`` (WhatsApp Cloud API, FCM HTTP v1)."""

    #: the provider's name in messages about refused credentials
    service: ClassVar[str]
    #: what ``message.to`` holds, for the reason when a recipient has none
    address: ClassVar[str]

    def __init__(
        self,
        *,
        url: str,
        token_env: str,
        timeout: float,
        concurrency: int,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(timeout=timeout, concurrency=concurrency, client=client)
        self.url = url
        self.token_env = token_env
        self._token: Secret | None = None

    def body(self, message: OutgoingMessage) -> dict[str, Any]:
        raise NotImplementedError

    def check(self, response: httpx.Response) -> None:
        """Provider-specific errors hidden in an otherwise ordinary response (none by default)."""

    async def open(self) -> None:
        self._token = env_secret(self.token_env)

    async def deliver(self, message: OutgoingMessage) -> Receipt:
        if not message.to:
            raise DeliveryRejected(f"no {self.address} for this recipient")
        if self._token is None:
            await self.open()
        assert self._token is not None
        headers = {"Authorization": f"Bearer {self._token.reveal()}", "Idempotency-Key": message.key}
        response = await request(self.client, "POST", self.url, json=self.body(message), headers=headers)
        refuse_credentials(response, self.service)
        self.check(response)
        return outcome(response)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, token from ${self.token_env})"
