"""CleverTapTransport: forwards trigger requests to CleverTap's External Trigger API.

:func:`clevertap_calls` cuts one trigger request into API calls (at most 1,000 recipients per call and 5
campaign ids per ``/2/`` call, as callers do); each call is one message for the delivery loop, with its
own idempotency key. CleverTap allows 3 concurrent requests per account, so the transport caps the loop at 3.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import TYPE_CHECKING, Any, ClassVar

from triggerlab.delivery._http import HttpTransport, detail, json_body, outcome, refuse_credentials
from triggerlab.delivery.message import OutgoingMessage, Receipt, idempotency_key
from triggerlab.delivery.secrets import Secret, env_secret
from triggerlab.errors import DeliveryRejected, InputError, SendError

if TYPE_CHECKING:
    from triggerlab.delivery.http_client import HttpClient

__all__ = ["REGIONS", "CleverTapTransport", "clevertap_calls"]

REGIONS: tuple[str, ...] = ("eu1", "in1", "sg1", "us1", "aps3", "mec1")
IDENTITIES_PER_CALL = 1000
CAMPAIGNS_PER_CALL = 5
_KINDS = ("identity", "email", "objectId")


def _campaign_ids(body: Mapping[str, Any]) -> list[str]:
    ids: list[str] = []
    raw = [body["campaign_id"]] if "campaign_id" in body else []
    raw += list(body.get("campaign_id_list") or [])
    for value in raw:
        text = str(value)
        if text not in ids:
            ids.append(text)
    return ids


def _recipients(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    to = body.get("to")
    if not isinstance(to, Mapping):
        return []
    return [(k, str(v)) for k in to if k in _KINDS and isinstance(to[k], list) for v in to[k]]


def _calls_of(body: Mapping[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    ids, people = _campaign_ids(body), _recipients(body)
    if not ids or not people:
        raise InputError("a trigger request needs a campaign id and at least one recipient in 'to'")
    payload = body.get("ExternalTrigger", {})
    multi = "campaign_id_list" in body or len(ids) > 1
    calls: list[tuple[int, dict[str, Any]]] = []
    for c in range(0, len(ids), CAMPAIGNS_PER_CALL if multi else 1):
        chunk_ids = ids[c : c + CAMPAIGNS_PER_CALL]
        for p in range(0, len(people), IDENTITIES_PER_CALL):
            to: dict[str, list[str]] = {}
            for kind, value in people[p : p + IDENTITIES_PER_CALL]:
                to.setdefault(kind, []).append(value)
            call: dict[str, Any] = {"to": to}
            if multi:
                call["campaign_id_list"] = chunk_ids
            else:
                call["campaign_id"] = chunk_ids[0]
            call["ExternalTrigger"] = payload
            calls.append((2 if multi else 1, call))
    return calls


def clevertap_calls(request_id: str, body: Mapping[str, Any]) -> list[OutgoingMessage]:
    """The API calls that forward one trigger request (``{"d": [...]}`` forwards each element).

    A call's key hashes the request id, the call's position and its campaign ids and recipients, so a
    resumed run rebuilds the same keys from the same batch.
    """
    elements = body["d"] if isinstance(body.get("d"), list) else [body]
    messages: list[OutgoingMessage] = []
    for element in elements:
        if not isinstance(element, Mapping):
            raise InputError(f"request {request_id}: each element of 'd' must be an object")
        for version, call in _calls_of(element):
            ids = ",".join(call.get("campaign_id_list") or [call.get("campaign_id", "")])
            who = ",".join(f"{k}:{v}" for k, vs in call["to"].items() for v in vs)
            position = len(messages)
            messages.append(
                OutgoingMessage(
                    key=idempotency_key(ids, request_id, position, who),
                    channel="clevertap",
                    campaign_id=ids,
                    identity=who if len(who) <= 200 else f"{who[:197]}...",
                    fields={"version": version, "body": call},
                    request_id=request_id,
                    recipient=position,
                )
            )
    return messages


class CleverTapTransport(HttpTransport):
    """``POST {base}/1/send/externaltrigger.json`` (one campaign) or ``/2/`` (several), with the account id,
    passcode and, for ``/2/``, token read from the named environment variables."""

    name: ClassVar[str] = "clevertap"
    channels: ClassVar[tuple[str, ...]] = ("clevertap",)
    max_concurrency = 3

    def __init__(
        self,
        *,
        region: str = "eu1",
        base_url: str | None = None,
        account_id_env: str = "CLEVERTAP_ACCOUNT_ID",
        passcode_env: str = "CLEVERTAP_PASSCODE",
        token_env: str = "CLEVERTAP_TOKEN",
        timeout: float = 10.0,
        client: HttpClient | None = None,
    ) -> None:
        if base_url is None and region not in REGIONS:
            raise InputError(f"unknown CleverTap region {region!r}; expected one of {', '.join(REGIONS)}")
        super().__init__(timeout=timeout, concurrency=3, client=client)
        self.base_url = (base_url or f"https://{region}.api.clevertap.com").rstrip("/")
        self.envs = (account_id_env, passcode_env, token_env)
        self._headers: dict[str, Secret] = {}

    async def open(self) -> None:
        account, passcode, token = self.envs
        self._headers = {
            "X-CleverTap-Account-Id": env_secret(account),
            "X-CleverTap-Passcode": env_secret(passcode),
        }
        # Only /2/ calls need the token; they stop the run at deliver time if it is missing.
        with suppress(SendError):
            self._headers["X-CleverTap-Token"] = env_secret(token)

    async def deliver(self, message: OutgoingMessage) -> Receipt:
        if not self._headers:
            await self.open()
        version = int(message.fields["version"])
        headers = {name: secret.reveal() for name, secret in self._headers.items()}
        headers["Content-Type"] = "application/json"
        if version == 2 and "X-CleverTap-Token" not in headers:
            raise SendError(f"environment variable {self.envs[2]} is not set (/2/ calls need the token)")
        url = f"{self.base_url}/{version}/send/externaltrigger.json"
        response = await self.client.request(
            "POST", url, headers=headers, content=json_body(message.fields["body"])
        )
        refuse_credentials(response, "CleverTap")
        receipt = outcome(response)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or answer.get("status") != "success":
            error = answer.get("error", answer) if isinstance(answer, dict) else detail(response)
            raise DeliveryRejected(
                f"CleverTap answered status fail: {error}", status_code=response.status_code
            )
        return receipt

    def __repr__(self) -> str:
        return f"CleverTapTransport(base_url={self.base_url!r}, credentials from ${', $'.join(self.envs)})"
