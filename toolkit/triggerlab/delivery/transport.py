"""The one interface the delivery loop drives. It never knows which channel is behind it.

A transport's ``deliver`` returns a :class:`Receipt` once the receiver acknowledged the message, raises
:class:`~triggerlab.errors.TransportError` for anything worth retrying (timeout, connection error, 429, 5xx)
and :class:`~triggerlab.errors.DeliveryRejected` when the receiver refused it for good. Any other
:class:`~triggerlab.errors.SendError` (a missing credential, a refused login) stops the whole run: retrying
each message against a broken configuration would only mark every one of them dead.
"""

from __future__ import annotations

from types import TracebackType
from typing import ClassVar

from triggerlab.delivery.message import OutgoingMessage, Receipt

__all__ = ["Transport"]


class Transport:
    """Base class of every transport. Subclasses set ``name`` and ``channels`` and implement ``deliver``."""

    name: ClassVar[str] = "transport"
    #: campaign channels this transport carries ("clevertap" carries trigger requests, not messages)
    channels: ClassVar[tuple[str, ...]] = ()
    #: a hard ceiling on requests in flight (CleverTap allows 3); None leaves it to the caller
    max_concurrency: int | None = None

    async def open(self) -> None:
        """Acquire clients and check credentials before the first message (raise SendError if unusable)."""

    async def deliver(self, message: OutgoingMessage) -> Receipt:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release connections."""

    async def __aenter__(self) -> Transport:
        await self.open()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
