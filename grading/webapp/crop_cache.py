"""Flag pictures drawn ahead of the judge: a judge works down the queue, so while one flag is on screen the next
ones are drawn by one background thread and kept (PNG bytes, least recently used dropped beyond ``max_bytes``).

Drawing a crop re-opens the scan, aligns and straightens it (``images.page_canvas``: 100–250 ms on a busy 2-core
machine with 10,000 sheets in the store, see "Judges' web app" in bench/RESULTS.md); a judge who moves to the next
flag gets it from here. A decision on a page forgets that page's pictures (its overlay changes), and a drawing that
started before the decision is not kept.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

Key = tuple[int, int]           # (page id, flag id)


class CropCache:
    def __init__(self, draw: Callable[[dict[str, Any]], bytes], *, max_bytes: int = 64 << 20, max_pending: int = 8):
        self._draw = draw
        self._max_bytes, self._max_pending = max_bytes, max_pending
        self._items: OrderedDict[Key, bytes] = OrderedDict()
        self._bytes = 0
        self._pending: dict[Key, tuple[Future[bytes], int]] = {}     # with the page's generation
        self._generation: dict[int, int] = {}          # page id → decisions seen (stale drawings are not kept)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="omr-crops")

    @staticmethod
    def key(flag: dict[str, Any]) -> Key:
        return int(flag["page_id"]), int(flag["id"])

    def get(self, flag: dict[str, Any]) -> bytes:
        """The flag's picture: kept, being drawn ahead (waited for), or drawn now. ``draw``'s errors pass through."""
        key = self.key(flag)
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
                return data
            pending = self._pending.get(key)
            generation = self._generation.get(key[0], 0)
        if pending is not None and pending[1] == generation:        # being drawn ahead, for this page state
            try:
                data = pending[0].result()
            except Exception:          # noqa: BLE001 — drawn again below, so the error reaches the judge
                data = None
            with self._lock:
                if data is not None and self._generation.get(key[0], 0) == generation:
                    return data
                generation = self._generation.get(key[0], 0)
        data = self._draw(flag)
        self._keep(key, data, generation)
        return data

    def prefetch(self, flags: list[dict[str, Any]]) -> None:
        """Draw these flags' pictures in the background (those not kept or queued already)."""
        with self._lock:
            for flag in flags:
                key = self.key(flag)
                if key in self._items or key in self._pending or len(self._pending) >= self._max_pending:
                    continue
                generation = self._generation.get(key[0], 0)
                self._pending[key] = (self._pool.submit(self._ahead, flag, key, generation), generation)

    def forget_page(self, page_id: int) -> None:
        with self._lock:
            self._generation[page_id] = self._generation.get(page_id, 0) + 1
            for key in [k for k in self._items if k[0] == page_id]:
                self._bytes -= len(self._items.pop(key))

    def _ahead(self, flag: dict[str, Any], key: Key, generation: int) -> bytes:
        try:
            data = self._draw(flag)
            self._keep(key, data, generation)
            return data
        finally:
            with self._lock:
                self._pending.pop(key, None)

    def _keep(self, key: Key, data: bytes, generation: int) -> None:
        with self._lock:
            if self._generation.get(key[0], 0) != generation or key in self._items:
                return
            self._items[key] = data
            self._bytes += len(data)
            while self._bytes > self._max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= len(old)
