"""WhatsAppTransport: WhatsApp Cloud API template messages (``POST /{phone-number-id}/messages``)."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from triggerlab.delivery._http import HttpTransport, outcome, refuse_credentials, request
from triggerlab.delivery.message import OutgoingMessage, Receipt
from triggerlab.delivery.secrets import Secret, env_secret
from triggerlab.errors import DeliveryRejected, TransportError

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


def _error_code(response: httpx.Response) -> int | None:
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, int) else None


class WhatsAppTransport(HttpTransport):
    """Sends to ``{base_url}/{phone_number_id}/messages`` with the bearer token in ``token_env``; the
    message's ``to`` is the recipient's phone number (E.164 digits)."""

    name: ClassVar[str] = "whatsapp"
    channels: ClassVar[tuple[str, ...]] = ("whatsapp",)

    def __init__(
        self,
        *,
        phone_number_id: str,
        token_env: str = "WHATSAPP_TOKEN",
        base_url: str = "https://graph.facebook.com/v23.0",
        timeout: float = 10.0,
        concurrency: int = 16,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(timeout=timeout, concurrency=concurrency, client=client)
        self.url = f"{base_url.rstrip('/')}/{phone_number_id}/messages"
        self.token_env = token_env
        self._token: Secret | None = None

    async def open(self) -> None:
        self._token = env_secret(self.token_env)

    async def deliver(self, message: OutgoingMessage) -> Receipt:
        if not message.to:
            raise DeliveryRejected("no phone number for this recipient")
        if self._token is None:
            await self.open()
        assert self._token is not None
        headers = {"Authorization": f"Bearer {self._token.reveal()}", "Idempotency-Key": message.key}
        response = await request(self.client, "POST", self.url, json=whatsapp_body(message), headers=headers)
        refuse_credentials(response, "WhatsApp Cloud API")
        if response.status_code == 400 and _error_code(response) in _THROTTLED:
            raise TransportError(f"throttled (error code {_error_code(response)})", status_code=400)
        return outcome(response)

    def __repr__(self) -> str:
        return f"WhatsAppTransport(url={self.url!r}, token from ${self.token_env})"
