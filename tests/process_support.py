"""The processes a command started, for tests that kill it and check that nothing it started outlives it."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

import psutil


class ProcessTree:
    """Every process seen below one command (started in its own session), by pid and create time, so that a
    pid reused by an unrelated process is never taken for a survivor. ``kill_all`` is for a test's ``finally``:
    the command's process group, and whatever was seen below it that left the group."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.root = psutil.Process(proc.pid)
        self.seen: dict[int, float] = {}

    def snapshot(self) -> int:
        """Record the command's descendants now; returns how many are Python processes other than
        multiprocessing's resource tracker (the workers, and a fork server where there is one)."""
        workers = 0
        for p in self.root.children(recursive=True):
            try:
                self.seen.setdefault(p.pid, p.create_time())
                cmd = " ".join(p.cmdline())
            except psutil.Error:
                continue
            workers += "python" in cmd and "resource_tracker" not in cmd
        return workers

    def wait_for_workers(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.snapshot() < n:
            assert self.proc.poll() is None, f"the command ended (exit {self.proc.returncode}) before its workers"
            assert time.monotonic() < deadline, f"no {n} worker processes after {timeout} s: {self.seen}"
            time.sleep(0.05)

    def alive(self) -> list[tuple[int, str]]:
        """The recorded processes still running (a zombie waiting to be reaped has ended)."""
        out = []
        for pid, created in self.seen.items():
            try:
                p = psutil.Process(pid)
                if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                    out.append((pid, " ".join(p.cmdline())[:160]))
            except psutil.Error:
                continue
        return out

    def survivors(self, within: float = 20) -> list[tuple[int, str]]:
        """The recorded processes still running after waiting up to ``within`` seconds for them to end."""
        deadline = time.monotonic() + within
        while (left := self.alive()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return left

    def kill_all(self) -> None:
        left = [pid for pid, _ in self.alive()]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
