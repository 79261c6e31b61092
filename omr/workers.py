"""Local worker processes, and the programs they run, die with the process that started them — however it
ends, SIGKILL included.

Every local process pool takes its context from ``pool_context`` and calls ``start_worker`` first in its
initializer; ``omr.external.run`` starts every external program with ``exit_with_parent_hook``. Both rest on
Linux's parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``): the kernel kills the child when its parent
ends, even while the child is stuck in C code. Workers are started with ``spawn``, so their parent is the main
process itself (under a fork server it would be the fork server, which outlives a killed main process: every
worker holds the write end of its "alive" pipe, and each worker blocks on a call queue whose write end it holds
too, so nothing ever sees end-of-file and the fork server, the workers and the resource tracker all stay).
The signal fires when the *thread* that started the child ends: pools here are started and drained by one
thread, and ``external.run`` waits for its program in the thread that started it. Where ``prctl`` does not
exist (not Linux) children are not tied to their parent.
"""
from __future__ import annotations

import ctypes
import functools
import multiprocessing
import multiprocessing.context
import os
import signal
import sys
from typing import Callable

__all__ = ["pool_context", "start_worker", "exit_with_parent", "exit_with_parent_hook"]

_PR_SET_PDEATHSIG = 1
_ORPHANED = 1                   # exit status of a worker that finds its parent already gone


def pool_context() -> multiprocessing.context.BaseContext:
    """Workers start as fresh interpreters, never by forking this process: a parent that has already run
    OpenCV/zxing (or any threads) can leave a lock held in a forked child, which then hangs forever; and a
    spawned worker is a child of this process, so it can be tied to its life (see the module docstring)."""
    return multiprocessing.get_context("spawn")


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, or ``None`` where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    fn.restype = ctypes.c_int
    return fn


def exit_with_parent(parent_pid: int) -> bool:
    """Have the kernel SIGKILL this process when its parent ends; exit now if ``parent_pid`` (the parent this
    process was started by) is gone already. False where the platform cannot do it."""
    prctl = _prctl()
    if prctl is None or prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return False
    if os.getppid() != parent_pid:          # the parent ended before the signal was armed
        os._exit(_ORPHANED)
    return True


def exit_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` for ``subprocess.Popen`` that ties the program to this process (``None`` where the
    platform cannot). Everything it calls is looked up here, before the fork."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(_ORPHANED)
    return hook


def start_worker() -> None:
    """First thing in a pool worker's initializer: die with the parent, and leave Ctrl-C to the parent (it
    cancels pending work; workers racing it can hang the pool). Does nothing outside a worker process."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return
    exit_with_parent(parent.pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
