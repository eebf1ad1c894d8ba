"""The HTTP client every HTTP transport shares: one aiohttp session, and a response read in full.

aiohttp (a C HTTP parser, pooled keep-alive connections) sends several times the requests per CPU second
that httpx does, and one CPU is the sender's ceiling. This module is imported only when a transport makes
its first request, so ``import triggerlab.delivery`` (a dry run, an SMTP run) does not pay for aiohttp.

Policy, the same for every transport: redirects are never followed (a 3xx is an answer, judged like any
other), proxies and ``.netrc`` from the environment are ignored, TLS certificates are verified against the
system's trust store, and the transport's ``timeout`` bounds connecting (waiting for a pooled connection
included) and each wait for response bytes. A failed request raises
:class:`~triggerlab.errors.TransportError` whose reason names the kind of failure only, never the URL
(which can hold a secret): ``timeout (ConnectTimeout)``, ``timeout (ReadTimeout)``, ``connection failed
(ConnectError)`` (refused, unresolvable, TLS handshake or certificate), ``connection failed (ReadError)``
(reset or closed before the response was complete) or ``connection failed (RemoteProtocolError)`` (the
answer was not HTTP).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from triggerlab.errors import DeliveryRejected, TransportError

__all__ = ["HttpClient", "Response"]


@dataclass(frozen=True, slots=True)
class Response:
    """A response read in full (its connection is back in the pool). ``headers`` ignores case."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; raises ValueError if it is not."""
        return json.loads(self.content)


def _target(url: str) -> URL:
    # A URL that is already plain ASCII goes out byte for byte (a receiver may sign its exact query);
    # anything else (spaces, non-ASCII) is percent-encoded.
    try:
        if url.isascii() and url.isprintable() and " " not in url:
            return URL(url, encoded=True)
        return URL(url)
    except ValueError:
        raise DeliveryRejected("the target URL is not valid") from None


class HttpClient:
    """One pooled aiohttp session: at most ``concurrency`` connections, ``timeout`` seconds per wait.

    Create it inside the running event loop that uses it.
    """

    def __init__(self, *, timeout: float, concurrency: int) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency),
            timeout=aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout),
            trust_env=False,
        )

    async def request(
        self, method: str, url: str, *, headers: Mapping[str, str], content: bytes | None = None
    ) -> Response:
        """Send one request; timeouts and connection failures become TransportError (worth retrying)."""
        target = _target(url)
        try:
            async with self._session.request(
                method, target, headers=headers, data=content, allow_redirects=False
            ) as answer:
                return Response(answer.status, answer.headers, await answer.read())
        except aiohttp.InvalidURL:
            raise DeliveryRejected("the target URL is not valid") from None
        except aiohttp.ConnectionTimeoutError:
            raise TransportError("timeout (ConnectTimeout)") from None
        except (aiohttp.ServerTimeoutError, TimeoutError):
            raise TransportError("timeout (ReadTimeout)") from None
        except aiohttp.ClientConnectorError:
            raise TransportError("connection failed (ConnectError)") from None
        except aiohttp.ClientResponseError:
            # raised for a malformed answer only: statuses are judged by the caller, never raised
            raise TransportError("connection failed (RemoteProtocolError)") from None
        except (aiohttp.ClientError, OSError):
            raise TransportError("connection failed (ReadError)") from None

    async def aclose(self) -> None:
        await self._session.close()
