"""FcmTransport: Firebase Cloud Messaging HTTP v1 (``POST /v1/projects/{project}/messages:send``)."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from triggerlab.delivery._http import HttpTransport, outcome, refuse_credentials, request
from triggerlab.delivery.message import OutgoingMessage, Receipt
from triggerlab.delivery.secrets import Secret, env_secret
from triggerlab.errors import DeliveryRejected

__all__ = ["FcmTransport", "fcm_body"]


def fcm_body(message: OutgoingMessage) -> dict[str, Any]:
    """A ``SendMessageRequest``: notification title/body/image to the device token; the deep link, campaign
    and idempotency key go in ``data`` (FCM data values are strings)."""
    fields = message.fields
    notification = {"title": fields["title"], "body": fields["body"]}
    if fields.get("image_url"):
        notification["image"] = fields["image_url"]
    data = {"campaign_id": message.campaign_id, "idempotency_key": message.key}
    if fields.get("deep_link"):
        data["deep_link"] = fields["deep_link"]
    return {"message": {"token": message.to, "notification": notification, "data": data}}


class FcmTransport(HttpTransport):
    """Sends push messages with the OAuth 2.0 access token in ``token_env`` (minted outside triggerlab, e.g.
    ``gcloud auth print-access-token``); the message's ``to`` is the device registration token."""

    name: ClassVar[str] = "fcm"
    channels: ClassVar[tuple[str, ...]] = ("push",)

    def __init__(
        self,
        *,
        project_id: str,
        token_env: str = "FCM_ACCESS_TOKEN",
        base_url: str = "https://fcm.googleapis.com",
        timeout: float = 10.0,
        concurrency: int = 32,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(timeout=timeout, concurrency=concurrency, client=client)
        self.url = f"{base_url.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self.token_env = token_env
        self._token: Secret | None = None

    async def open(self) -> None:
        self._token = env_secret(self.token_env)

    async def deliver(self, message: OutgoingMessage) -> Receipt:
        if not message.to:
            raise DeliveryRejected("no device token for this recipient")
        if self._token is None:
            await self.open()
        assert self._token is not None
        headers = {"Authorization": f"Bearer {self._token.reveal()}", "Idempotency-Key": message.key}
        response = await request(self.client, "POST", self.url, json=fcm_body(message), headers=headers)
        refuse_credentials(response, "FCM")
        return outcome(response)

    def __repr__(self) -> str:
        return f"FcmTransport(url={self.url!r}, token from ${self.token_env})"
