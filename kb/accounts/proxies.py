"""Who is on the other end of a request behind reverse proxies (``KB_TRUSTED_PROXIES``).

``X-Forwarded-For`` is whatever the client wrote, plus one address per proxy it passed. Read
right to left, each hop is vouched for by the one after it only while that one is a proxy we
trust; the first address that is not ours is the client. A request that did not come from a
trusted proxy has its header ignored entirely: anyone can send one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str | None:
    """The client's address: ``peer`` unless it is a trusted proxy, then the right-most
    ``X-Forwarded-For`` hop (all header values, in order) that is not one."""
    if peer is None or not _is_trusted(peer, trusted):
        return peer
    nearest = peer  # the last hop we know to be ours
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        parsed = _parse(hop)
        if parsed is None:
            return nearest  # unreadable: the proxy that passed it on is as far as we can see
        if not _is_trusted(hop, trusted):
            return str(parsed)  # one spelling per address: no fresh throttle key by rewriting
        nearest = str(parsed)
    return nearest


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    parsed = _parse(address)
    return parsed is not None and any(parsed in network for network in trusted)
