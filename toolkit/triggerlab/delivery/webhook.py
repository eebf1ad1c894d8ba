"""WebhookTransport: the rendered request (method, URL, headers, body) with basic or OAuth 2.0 auth.

Secrets come from the environment variables a campaign's ``auth`` names; the token of an OAuth 2.0
client-credentials grant is fetched on first use, shared by every message of that auth, refreshed before it
expires and once more if the receiver answers 401. Every request carries ``Idempotency-Key: <message key>``.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

from triggerlab.delivery._http import HttpTransport, outcome
from triggerlab.delivery.message import OutgoingMessage, Receipt
from triggerlab.delivery.safety import TargetGuard, check_header
from triggerlab.delivery.secrets import Secret, env_secret
from triggerlab.errors import SendError, TransportError
from triggerlab.messages import WebhookAuth

if TYPE_CHECKING:
    from triggerlab.delivery.http_client import HttpClient, Response

__all__ = ["WebhookTransport"]

_CONTENT_TYPES = {"json": "application/json", "text": "text/plain; charset=utf-8"}
#: refresh a token this long before the server says it expires (clock skew, time in flight)
_EARLY = 30.0


@dataclass(slots=True)
class _Token:
    value: Secret
    expires: float


class _OAuth:
    """One client-credentials grant (RFC 6749 section 4.4), client authenticated with HTTP basic."""

    def __init__(self, auth: WebhookAuth) -> None:
        assert auth.token_url and auth.client_id_env and auth.client_secret_env
        self.auth = auth
        self.token: _Token | None = None
        self.lock = asyncio.Lock()

    async def get(self, client: HttpClient, guard: TargetGuard, *, stale: Secret | None = None) -> Secret:
        async with self.lock:
            if self.token and self.token.value is not stale and self.token.expires > time.monotonic():
                return self.token.value
            self.token = await self._fetch(client, guard)
            return self.token.value

    async def _fetch(self, client: HttpClient, guard: TargetGuard) -> _Token:
        auth = self.auth
        assert auth.token_url and auth.client_id_env and auth.client_secret_env
        client_id, secret = env_secret(auth.client_id_env), env_secret(auth.client_secret_env)
        await guard.check(auth.token_url)
        form = {"grant_type": "client_credentials"} | ({"scope": auth.scope} if auth.scope else {})
        pair = f"{client_id.reveal()}:{secret.reveal()}".encode()
        headers = {
            "Authorization": "Basic " + base64.b64encode(pair).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        response = await client.request(
            "POST", auth.token_url, headers=headers, content=urlencode(form).encode()
        )
        if response.status_code == 429 or response.status_code >= 500:
            outcome(response)
        if response.status_code != 200:
            # Bad client credentials break every message of this campaign: stop the run, do not kill them.
            raise SendError(f"OAuth token request to {auth.token_url} refused: HTTP {response.status_code}")
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise TransportError("OAuth token response has no access_token") from None
        return _Token(
            Secret(token, f"{auth.token_url} token"), time.monotonic() + max(0.0, lifetime - _EARLY)
        )


def _basic(auth: WebhookAuth) -> str:
    assert auth.username_env and auth.password_env
    pair = f"{env_secret(auth.username_env).reveal()}:{env_secret(auth.password_env).reveal()}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


class WebhookTransport(HttpTransport):
    """Delivers webhook messages. ``fields`` are the rendered ``url``, ``method``, ``headers``, ``body`` plus
    the campaign's ``content_type`` and ``auth`` (env-var names, as in the campaign file)."""

    name: ClassVar[str] = "webhook"
    channels: ClassVar[tuple[str, ...]] = ("webhook",)

    def __init__(
        self,
        *,
        timeout: float = 3.0,
        concurrency: int = 64,
        allow_networks: Iterable[str] = (),
        client: HttpClient | None = None,
    ) -> None:
        super().__init__(timeout=timeout, concurrency=concurrency, client=client)
        self.guard = TargetGuard(allow_networks)
        self._oauth: dict[str, _OAuth] = {}

    def _auth(self, fields: Mapping[str, Any]) -> WebhookAuth | None:
        raw = fields.get("auth")
        if raw is None or isinstance(raw, WebhookAuth):
            return raw
        return WebhookAuth.model_validate(raw)

    async def _authorization(self, auth: WebhookAuth | None, *, stale: Secret | None = None) -> Secret | None:
        if auth is None or auth.kind == "none":
            return None
        if auth.kind == "basic":
            return Secret(_basic(auth), f"{auth.username_env}/{auth.password_env}")
        oauth = self._oauth.setdefault(auth.model_dump_json(), _OAuth(auth))
        return await oauth.get(self.client, self.guard, stale=stale)

    async def deliver(self, message: OutgoingMessage) -> Receipt:
        fields = message.fields
        url = str(fields["url"])
        method = str(fields.get("method") or "POST")
        headers = {str(k): str(v) for k, v in (fields.get("headers") or {}).items()}
        for name, value in headers.items():
            check_header(name, value)
        await self.guard.check(url)
        body = fields.get("body")
        # header names are case-insensitive: the sender's key replaces a rendered one however it is spelled,
        # and a rendered content type is kept however it is spelled
        headers = {k: v for k, v in headers.items() if k.lower() != "idempotency-key"}
        headers["Idempotency-Key"] = message.key
        if body is not None and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = _CONTENT_TYPES[str(fields.get("content_type") or "json")]
        auth = self._auth(fields)
        credential = await self._authorization(auth)
        response = await self._send(
            method, url=url, headers=headers, body=body, credential=credential, auth=auth
        )
        if response.status_code == 401 and auth is not None and auth.kind == "oauth2":
            # The token may have been revoked or expired early: fetch a fresh one once, then judge.
            credential = await self._authorization(auth, stale=credential)
            response = await self._send(
                method, url=url, headers=headers, body=body, credential=credential, auth=auth
            )
        return outcome(response)

    async def _send(
        self,
        method: str,
        *,
        url: str,
        headers: dict[str, str],
        body: Any,
        credential: Secret | None,
        auth: WebhookAuth | None,
    ) -> Response:
        if credential is not None:
            value = credential.reveal()
            headers = headers | {
                "Authorization": value if auth and auth.kind == "basic" else f"Bearer {value}"
            }
        content = None if body is None else str(body).encode()
        return await self.client.request(method, url, headers=headers, content=content)

    def __repr__(self) -> str:
        allowed = [str(n) for n in self.guard.allowed]
        return f"WebhookTransport(timeout={self.timeout}, allow_networks={allowed})"
