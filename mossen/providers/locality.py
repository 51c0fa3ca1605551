"""Whether an endpoint is on this machine, decided from the URL alone (no DNS lookup, no request)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_local_endpoint(url: str) -> bool:
    """True for loopback hosts (127.0.0.0/8, ::1, localhost) and for file: URLs; False otherwise.

    A host name other than localhost counts as remote even if it resolves to
    this machine: resolving it would itself be a network request.
    """
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme == "file":
        return True
    host = (parts.hostname or "").rstrip(".").lower()
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
