"""omr.workers: what a pool worker does on start, and nothing of it outside a worker (the kill tests of the
commands that use it are with those commands: tests/grading/test_batch.py, test_essays.py, test_read.py)."""
from __future__ import annotations

import ctypes
import signal
from concurrent.futures import ProcessPoolExecutor

from omr.workers import pool_context, start_worker


def _started() -> tuple[object, int]:
    got = ctypes.c_int(0)
    ctypes.CDLL(None).prctl(2, ctypes.byref(got), 0, 0, 0)          # PR_GET_PDEATHSIG
    return str(signal.getsignal(signal.SIGINT)), got.value


def test_a_worker_is_tied_to_its_parent_and_leaves_ctrl_c_to_it():
    with ProcessPoolExecutor(1, mp_context=pool_context(), initializer=start_worker) as pool:
        handler, death_signal = pool.submit(_started).result(timeout=60)
    assert handler == str(signal.SIG_IGN) and death_signal == signal.SIGKILL


def test_start_worker_outside_a_worker_changes_nothing():
    before = signal.getsignal(signal.SIGINT)
    start_worker()
    assert signal.getsignal(signal.SIGINT) is before
    assert _started() == (str(before), 0)
