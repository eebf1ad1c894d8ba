"""FcmTransport: Firebase Cloud Messaging HTTP v1 (``POST /v1/projects/{project}/messages:send``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from triggerlab.delivery._http import BearerJsonTransport
from triggerlab.delivery.message import OutgoingMessage

if TYPE_CHECKING:
    from triggerlab.delivery.http_client import HttpClient

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


class FcmTransport(BearerJsonTransport):
    """Sends push messages with the OAuth 2.0 access token in ``token_env`` (minted outside triggerlab, e.g.
    ``gcloud auth print-access-token``); the message's ``to`` is the device registration token."""

    name: ClassVar[str] = "fcm"
    channels: ClassVar[tuple[str, ...]] = ("push",)
    service: ClassVar[str] = "FCM"
    address: ClassVar[str] = "device token"

    def __init__(
        self,
        *,
        project_id: str,
        token_env: str = "FCM_ACCESS_TOKEN",
        base_url: str = "https://fcm.googleapis.com",
        timeout: float = 10.0,
        concurrency: int = 32,
        client: HttpClient | None = None,
    ) -> None:
        url = f"{base_url.rstrip('/')}/v1/projects/{project_id}/messages:send"
        super().__init__(
            url=url, token_env=token_env, timeout=timeout, concurrency=concurrency, client=client
        )

    def body(self, message: OutgoingMessage) -> dict[str, Any]:
        return fcm_body(message)
