"""DryRunTransport: delivers nothing and remembers what it would have sent (tests, notebooks, dry runs)."""

from __future__ import annotations

from typing import ClassVar

from triggerlab.delivery.message import OutgoingMessage, Receipt
from triggerlab.delivery.transport import Transport

__all__ = ["DryRunTransport"]


class DryRunTransport(Transport):
    name: ClassVar[str] = "dry-run"
    channels: ClassVar[tuple[str, ...]] = ("push", "email", "whatsapp", "webhook", "clevertap")

    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []

    async def deliver(self, message: OutgoingMessage) -> Receipt:
        self.messages.append(message)
        return Receipt(None, "dry run")

    def __repr__(self) -> str:
        return f"DryRunTransport(messages={len(self.messages)})"
