"""Guards for targets taken from templates: no header injection, no requests into private networks.

A webhook URL is rendered from a template and so may carry payload text; without a guard a trigger could
make the sender call a service on the sender's own network (SSRF). Targets that resolve to private,
loopback, link-local, multicast, reserved or unspecified addresses are refused unless the address is inside a
network the operator allowed explicitly (``allow_networks``, e.g. ``["127.0.0.0/8"]`` in tests).
Redirects are not followed. Known limit: a host is resolved here once per run and again by the HTTP client
when it connects, so a DNS answer that changes in between (rebinding) is not caught; where triggers are
hostile, also restrict the sender's egress.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from triggerlab.errors import DeliveryRejected, SendError

__all__ = ["TargetGuard", "check_header"]

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


#: what RFC 9110 does not allow in a field value: control characters other than horizontal tab (CR, LF and
#: NUL among them: header injection), and DEL
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def check_header(name: str, value: str) -> None:
    """Refuse a header whose name is not an HTTP token or whose value holds a control character (CR, LF,
    NUL or any other but tab): the message is refused, not sent, and the run goes on."""
    if not _TOKEN.match(name):
        raise DeliveryRejected(f"header name {name!r} is not a valid HTTP token (header injection refused)")
    found = _CONTROL.search(value)
    if found is not None:
        if found.group() in "\r\n\0":
            raise DeliveryRejected(f"header {name} holds CR, LF or NUL (header injection refused)")
        raise DeliveryRejected(f"header {name} holds the control character {found.group()!r} (refused)")


def _restricted(address: _Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


class TargetGuard:
    """Checks that a URL is http(s) and that every address its host resolves to is public or allowed."""

    def __init__(self, allow_networks: Iterable[str] = ()) -> None:
        try:
            self.allowed: tuple[_Network, ...] = tuple(
                ipaddress.ip_network(n, strict=False) for n in allow_networks
            )
        except ValueError as exc:
            raise SendError(f"allowed network: {exc}") from None
        self._cache: dict[str, tuple[_Address, ...]] = {}

    def _allowed(self, address: _Address) -> bool:
        return not _restricted(address) or any(address in n for n in self.allowed)

    async def _resolve(self, host: str) -> tuple[_Address, ...]:
        if host in self._cache:
            return self._cache[host]
        try:
            addresses: tuple[_Address, ...] = (ipaddress.ip_address(host),)
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
            except OSError:
                # Unresolvable now may resolve later: let the transport fail it as a connection error.
                return ()
            addresses = tuple(ipaddress.ip_address(info[4][0]) for info in infos)
        self._cache[host] = addresses
        return addresses

    async def check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DeliveryRejected(f"target {url!r} is not an http(s) URL with a host")
        for address in await self._resolve(parts.hostname):
            if not self._allowed(address):
                raise DeliveryRejected(
                    f"target host {parts.hostname} resolves to {address}, a private/loopback/link-local "
                    "address; allow its network explicitly to send there"
                )
