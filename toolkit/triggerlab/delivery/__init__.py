"""Live delivery: transports behind one interface, a durable delivery log, and the loop that drives them.

The package is ``delivery`` rather than ``send`` so that the public function ``triggerlab.send`` is never
shadowed by a submodule of the same name once any part of it is imported.
"""

from __future__ import annotations

from triggerlab.delivery.clevertap import CleverTapTransport, clevertap_calls
from triggerlab.delivery.dryrun import DryRunTransport
from triggerlab.delivery.fcm import FcmTransport
from triggerlab.delivery.log import DeliveryLog
from triggerlab.delivery.loop import DeliverySummary, deliver
from triggerlab.delivery.message import OutgoingMessage, Receipt, idempotency_key
from triggerlab.delivery.pacing import RetryPolicy
from triggerlab.delivery.smtp import SmtpTransport
from triggerlab.delivery.transport import Transport
from triggerlab.delivery.webhook import WebhookTransport
from triggerlab.delivery.whatsapp import WhatsAppTransport

__all__ = [
    "CleverTapTransport",
    "DeliveryLog",
    "DeliverySummary",
    "DryRunTransport",
    "FcmTransport",
    "OutgoingMessage",
    "Receipt",
    "RetryPolicy",
    "SmtpTransport",
    "Transport",
    "WebhookTransport",
    "WhatsAppTransport",
    "clevertap_calls",
    "deliver",
    "idempotency_key",
]
