"""What the delivery loop moves: one outgoing message with a stable idempotency key, and a receipt."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["OutgoingMessage", "Receipt", "idempotency_key"]


def idempotency_key(campaign_id: str, request_id: str, recipient: int, identity: str) -> str:
    """The message's key: hex sha256 of ``campaign id, request id, recipient, identity`` joined by LF.

    The same trigger row gets the same key in every run (and every resumed run), so a receiver that keeps
    keys can drop a repeat. The recipient position is part of it because a request may name one identity
    twice and the spec sends both.
    """
    text = f"triggerlab/1\n{campaign_id}\n{request_id}\n{recipient}\n{identity}"
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to deliver. ``fields`` are the rendered channel fields (for CleverTap: the API call);
    ``to`` is the channel address (e-mail, phone number, device token), None where the fields carry it."""

    key: str
    channel: str
    campaign_id: str
    identity: str
    fields: Mapping[str, Any]
    to: str | None = None
    request_id: str = ""
    recipient: int = 0


@dataclass(frozen=True, slots=True)
class Receipt:
    """The receiver's acknowledgement: its status code (250 for SMTP; None for a dry run) and a short note."""

    status_code: int | None
    detail: str = ""
