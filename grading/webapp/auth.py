"""Login throttling, the client's address and CSRF checks for the web app (sessions and passwords live in
``grading.judges``)."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from starlette.requests import Request

from ..judges import normalise_name

SESSION_COOKIE = "omr_session"
LOGIN_CSRF_COOKIE = "omr_login_csrf"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class LoginThrottle:
    """At most ``limit`` failed logins per (user name, client address) within ``window`` seconds; after that
    the pair is refused (429) until the oldest failure leaves the window. In memory: one server process.

    The user name is the account's (``judges.normalise_name``: case kept). A pair is kept as a 32-byte hash
    with at most ``limit`` times, and at most ``max_keys`` pairs are kept: when full, pairs whose failures have
    all left the window go first, then the pairs still below the limit, then the locked ones, each oldest
    last failure first. Two ordered maps (below the limit / locked), each in the order of the last failure.
    """

    def __init__(self, *, limit: int = 5, window: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000):
        if limit < 1 or max_keys < 1:
            raise ValueError("limit and max_keys must be at least 1")
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        self._counting: OrderedDict[bytes, list[float]] = OrderedDict()
        self._locked: OrderedDict[bytes, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def kept(self) -> int:
        """The number of (user name, address) pairs kept."""
        return len(self._counting) + len(self._locked)

    @staticmethod
    def _key(name: str, ip: str) -> bytes:
        n = normalise_name(name).encode("utf-8", "surrogatepass")
        h = hashlib.sha256(len(n).to_bytes(8, "big"))
        h.update(n)
        h.update(ip.encode("utf-8", "surrogatepass"))
        return h.digest()

    def _recent(self, key: bytes, now: float) -> list[float]:
        """The pair's failures still in the window (a new list; nothing is added to the maps)."""
        times = self._counting.get(key) or self._locked.get(key) or []
        return [t for t in times if t > now - self.window]

    def retry_after(self, name: str, ip: str) -> int:
        """Seconds to wait before trying again (0: allowed now)."""
        key = self._key(name, ip)
        with self._lock:
            now = self.clock()
            times = self._recent(key, now)
            if len(times) < self.limit:
                return 0
            return max(1, int(times[-self.limit] + self.window - now + 0.999))

    def failed(self, name: str, ip: str) -> None:
        key = self._key(name, ip)
        with self._lock:
            now = self.clock()
            times = self._recent(key, now)[-(self.limit - 1):] if self.limit > 1 else []
            times.append(now)
            self._counting.pop(key, None)
            self._locked.pop(key, None)
            self._make_room(now)
            (self._locked if len(times) >= self.limit else self._counting)[key] = times

    def succeeded(self, name: str, ip: str) -> None:
        key = self._key(name, ip)
        with self._lock:
            self._counting.pop(key, None)
            self._locked.pop(key, None)

    def _make_room(self, now: float) -> None:
        """Drop pairs until one more fits: expired ones first, then below the limit, then locked."""
        for pairs in (self._counting, self._locked):
            while pairs and next(iter(pairs.values()))[-1] <= now - self.window:
                pairs.popitem(last=False)
        while self.kept() >= self.max_keys:
            (self._counting or self._locked).popitem(last=False)


def parse_proxy(text: str) -> IPNetwork:
    """A trusted proxy as given to ``omr review --trusted-proxy``: an address or a network (``10.0.0.0/8``)."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address or network") from None


def _address(text: str) -> IPAddress | None:
    try:
        a = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return a.ipv4_mapped if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped else a


def _trusted(a: IPAddress | None, trusted: Iterable[IPNetwork]) -> bool:
    return a is not None and any(a.version == n.version and a in n for n in trusted)


def client_address(request: Request, trusted: Iterable[IPNetwork] = ()) -> str:
    """The address a login is counted under. ``X-Forwarded-For`` counts only when the direct peer is a trusted
    proxy: then the right-most address in it that is not a trusted proxy is the client (a hop that is not an
    address stops the walk at the proxy that added it); otherwise the header is ignored."""
    trusted = tuple(trusted)
    peer = request.client.host if request.client else "?"
    hop = _address(peer)
    if not _trusted(hop, trusted):
        return str(hop) if hop is not None else peer
    forwarded = [h for v in request.headers.getlist("x-forwarded-for") for h in v.split(",") if h.strip()]
    client = str(hop)
    for entry in reversed(forwarded):
        a = _address(entry)
        if a is None:
            break
        client = str(a)
        if not _trusted(a, trusted):
            break
    return client


def same_token(given: str | None, expected: str | None) -> bool:
    # bytes: compare_digest refuses str holding anything but ASCII (a forged form field must be a 403, not a 500)
    return bool(given) and bool(expected) and hmac.compare_digest(str(given).encode("utf-8", "surrogatepass"),
                                                                  str(expected).encode("utf-8", "surrogatepass"))
