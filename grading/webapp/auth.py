"""Login throttling and CSRF checks for the web app (sessions and passwords live in ``grading.judges``)."""
from __future__ import annotations

import hmac
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

SESSION_COOKIE = "omr_session"
LOGIN_CSRF_COOKIE = "omr_login_csrf"


class LoginThrottle:
    """At most ``limit`` failed logins per (username, client address) within ``window`` seconds; after that
    the pair is refused (429) until the oldest failure leaves the window. In memory: one server process."""

    def __init__(self, *, limit: int = 5, window: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._fails: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _prune(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._fails[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, name: str, ip: str) -> int:
        """Seconds to wait before trying again (0: allowed now)."""
        key = (name.strip().lower(), ip)
        with self._lock:
            now = self.clock()
            q = self._prune(key, now)
            if len(q) < self.limit:
                return 0
            return max(1, int(q[0] + self.window - now + 0.999))

    def failed(self, name: str, ip: str) -> None:
        key = (name.strip().lower(), ip)
        with self._lock:
            now = self.clock()
            self._prune(key, now).append(now)

    def succeeded(self, name: str, ip: str) -> None:
        with self._lock:
            self._fails.pop((name.strip().lower(), ip), None)


def same_token(given: str | None, expected: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))
