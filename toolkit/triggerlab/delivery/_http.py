"""What every HTTP transport shares: one client, and turning responses into outcomes."""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from time import time
from typing import TYPE_CHECKING, Any, ClassVar

from triggerlab.delivery.message import OutgoingMessage, Receipt
from triggerlab.delivery.secrets import Secret, env_secret
from triggerlab.delivery.transport import Transport
from triggerlab.errors import DeliveryRejected, SendError, TransportError

if TYPE_CHECKING:
    from triggerlab.delivery.http_client import HttpClient, Response

__all__ = [
    "BearerJsonTransport",
    "HttpTransport",
    "detail",
    "json_body",
    "outcome",
    "refuse_credentials",
    "retry_after",
]

_DETAIL = 200


def json_body(value: Any) -> bytes:
    """Compact UTF-8 JSON, as providers' examples send it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


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


def detail(response: Response) -> str:
    """The start of a response body on one line, to give as a reason."""
    text = response.text.strip().replace("\n", " ")
    return text[:_DETAIL]


def outcome(response: Response) -> Receipt:
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


def refuse_credentials(response: Response, service: str) -> None:
    """401/403 from a provider whose credentials are the transport's (not the message's): stop the run.

    Marking every message dead for a wrong token would make the fix (a new token) useless, as dead messages
    are never retried.
    """
    if response.status_code in (401, 403):
        raise SendError(f"{service} refused the credentials: HTTP {response.status_code}: {detail(response)}")


class HttpTransport(Transport):
    """A transport over one shared :class:`HttpClient` (created on first use, inside the running loop, unless
    one is injected). Retries are the delivery loop's (it logs each attempt), so the client makes none."""

    def __init__(self, *, timeout: float, concurrency: int, client: HttpClient | None = None) -> None:
        self.timeout = timeout
        self.concurrency = concurrency
        self._client = client
        self._own_client = client is None

    @property
    def client(self) -> HttpClient:
        if self._client is None:
            # imported here: aiohttp costs a fifth of a second to import, and a dry run never needs it
            from triggerlab.delivery.http_client import HttpClient

            self._client = HttpClient(timeout=self.timeout, concurrency=self.concurrency)
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
        client: HttpClient | None = None,
    ) -> None:
        super().__init__(timeout=timeout, concurrency=concurrency, client=client)
        self.url = url
        self.token_env = token_env
        self._token: Secret | None = None

    def body(self, message: OutgoingMessage) -> dict[str, Any]:
        raise NotImplementedError

    def check(self, response: Response) -> None:
        """Provider-specific errors hidden in an otherwise ordinary response (none by default)."""

    async def open(self) -> None:
        self._token = env_secret(self.token_env)

    async def deliver(self, message: OutgoingMessage) -> Receipt:
        if not message.to:
            raise DeliveryRejected(f"no {self.address} for this recipient")
        if self._token is None:
            await self.open()
        assert self._token is not None
        headers = {
            "Authorization": f"Bearer {self._token.reveal()}",
            "Idempotency-Key": message.key,
            "Content-Type": "application/json",
        }
        response = await self.client.request(
            "POST", self.url, headers=headers, content=json_body(self.body(message))
        )
        refuse_credentials(response, self.service)
        self.check(response)
        return outcome(response)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, token from ${self.token_env})"
