"""Every external program goes through here, with a mandatory timeout.

A program that fails raises :class:`ExternalError` (its name, exit code and the tail of its stderr); one that
runs too long is killed — with anything it started — and raises :class:`ExternalTimeout`. A program dies with
the process that ran it, however that ends (``omr.workers.exit_with_parent_hook``). Callers inside a
batch turn these into ``SheetFailure`` records; ``require_program`` is for the checks made before a batch.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess

from .errors import MissingDependency
from .workers import exit_with_parent_hook

__all__ = ["ExternalError", "ExternalTimeout", "run", "require_program"]

_STDERR_KEEP = 2000          # characters of stderr kept on the exception (the end, where the error usually is)


class ExternalError(Exception):
    """An external program failed: non-zero exit, killed by a signal, or could not be started.

    ``returncode`` is the exit status (negative: killed by that signal; ``None``: never started or timed out).
    """

    def __init__(self, program: str, returncode: int | None, stderr: str, message: str | None = None):
        self.program = program
        self.returncode = returncode
        self.stderr = stderr
        if message is None:
            message = f"{program} failed with exit code {returncode}"
            if stderr.strip():
                message += f": {stderr.strip().splitlines()[-1]}"
        super().__init__(message)

    def __reduce__(self):          # picklable across process pools despite the custom __init__
        return (type(self), (self.program, self.returncode, self.stderr, str(self)))


class ExternalTimeout(ExternalError):
    """The program did not finish within its timeout and was killed."""

    def __init__(self, program: str, returncode: int | None, stderr: str, message: str | None = None,
                 *, timeout: float | None = None):
        self.timeout = timeout
        if message is None:
            message = f"{program} did not finish within {timeout:g} s and was stopped"
        super().__init__(program, returncode, stderr, message)


def _decode_stderr(raw: bytes | None) -> str:
    text = (raw or b"").decode("utf-8", "replace")
    return text[-_STDERR_KEEP:]


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the program and everything it started (it runs in its own session, see ``run``)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass


def run(args: list[str], *, timeout: float, input: bytes | None = None) -> bytes:  # noqa: A002 (mirrors subprocess)
    """Run ``args`` (no shell) and return its stdout. Raise ``ExternalError`` / ``ExternalTimeout``.

    The program gets its own session so that on timeout (or Ctrl-C in the parent) the whole process group is
    killed, not only the direct child; the kernel kills it if this process ends first (SIGKILL included);
    stdin is ``input`` or empty, never the terminal.
    """
    if not args:
        raise ValueError("run() needs a program to run")
    if not timeout or timeout <= 0:
        raise ValueError(f"run() needs a positive timeout, got {timeout!r}")
    program = os.path.basename(args[0])
    try:
        proc = subprocess.Popen(
            args, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            preexec_fn=exit_with_parent_hook())
    except FileNotFoundError:
        raise ExternalError(program, None, "", f"{program} is not installed (not found on PATH)") from None
    except PermissionError as exc:
        raise ExternalError(program, None, "", f"{program} cannot be started: {exc.strerror}") from None
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            _, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:      # a grandchild that left the group still holds the pipes
            err = b""
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
            proc.wait()
        raise ExternalTimeout(program, None, _decode_stderr(err), timeout=timeout) from None
    except BaseException:                      # KeyboardInterrupt and friends: never leave it running
        _kill_group(proc)
        proc.wait()
        raise
    if proc.returncode != 0:
        raise ExternalError(program, proc.returncode, _decode_stderr(err))
    return out


def require_program(name: str, *, advice: str) -> str:
    """Return the path of program ``name``, or raise ``MissingDependency`` with ``advice`` (how to install it)."""
    path = shutil.which(name)
    if path is None:
        raise MissingDependency(f"the program '{name}' is not installed (not found on PATH); {advice}")
    return path
