"""WhatsAppTransport: WhatsApp Cloud API template messages (``POST /{phone-number-id}/messages``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from triggerlab.delivery._http import BearerJsonTransport
from triggerlab.delivery.message import OutgoingMessage
from triggerlab.errors import TransportError

if TYPE_CHECKING:
    from triggerlab.delivery.http_client import HttpClient, Response

__all__ = ["WhatsAppTransport", "whatsapp_body"]

#: Cloud API error codes that mean "slow down", though they come with HTTP 400
_THROTTLED = {4, 80007, 130429, 131056}


def whatsapp_body(message: OutgoingMessage) -> dict[str, Any]:
    """The Cloud API body for a template message: name, language, and the positional body parameters."""
    fields = message.fields
    template: dict[str, Any] = {
        "name": fields["template"],
        # "deterministic" is the only policy the Cloud API defines, and its schema requires it
        "language": {"policy": "deterministic", "code": fields.get("language") or "en_US"},
    }
    parameters = list(fields.get("parameters") or [])
    if parameters:
        template["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
        ]
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.to,
        "type": "template",
        "template": template,
    }


def _error_code(response: Response) -> int | None:
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, int) else None


class WhatsAppTransport(BearerJsonTransport):
    """Sends to ``{base_url}/{phone_number_id}/messages`` with the bearer token in ``token_env``; the
    message's ``to`` is the recipient's phone number (E.164 digits)."""

    name: ClassVar[str] = "whatsapp"
    channels: ClassVar[tuple[str, ...]] = ("whatsapp",)
    service: ClassVar[str] = "WhatsApp Cloud API"
    address: ClassVar[str] = "phone number"

    def __init__(
        self,
        *,
        phone_number_id: str,
        token_env: str = "WHATSAPP_TOKEN",
        base_url: str = "https://graph.facebook.com/v23.0",
        timeout: float = 10.0,
        concurrency: int = 16,
        client: HttpClient | None = None,
    ) -> None:
        url = f"{base_url.rstrip('/')}/{phone_number_id}/messages"
        super().__init__(
            url=url, token_env=token_env, timeout=timeout, concurrency=concurrency, client=client
        )

    def body(self, message: OutgoingMessage) -> dict[str, Any]:
        return whatsapp_body(message)

    def check(self, response: Response) -> None:
        if response.status_code == 400 and _error_code(response) in _THROTTLED:
            raise TransportError(f"throttled (error code {_error_code(response)})", status_code=400)
