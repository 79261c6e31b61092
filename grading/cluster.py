"""Work on an existing Dask cluster (``--scheduler ADDRESS``): check the scheduler answers before the first
sheet, and map a function over chunks of work, yielding results in input order. Workers only compute (they need
this package installed and the files at the same paths); the parent writes."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any, Callable

from omr.errors import ExitCode, MissingDependency, OmrError


class SchedulerError(OmrError):
    """The Dask scheduler named with ``--scheduler`` cannot be used."""

    exit_code = ExitCode.MISSING_DEPENDENCY


def check_scheduler(address: str, *, timeout_s: float = 5.0) -> None:
    """Before the first sheet: Dask is installed and the scheduler answers (``SchedulerError`` otherwise)."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise MissingDependency("--scheduler needs Dask: pip install 'dask[distributed]' (on this machine and "
                                "on the workers), or run without --scheduler") from None
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls"):
        return                                   # other protocols: let Dask itself connect
    try:
        host, port = parts.hostname, parts.port or 8786
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except (OSError, ValueError) as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {exc}; check the address "
                             "(tcp://host:8786) and that the scheduler is running, or run without --scheduler") \
            from None


def dask_client(address: str) -> Any:
    """A client of the Dask scheduler at ``address`` (``MissingDependency`` / ``SchedulerError`` otherwise)."""
    try:
        from distributed import Client
    except ImportError:
        raise MissingDependency("--scheduler needs Dask: pip install 'dask[distributed]' (on this machine and "
                                "on the workers), or run without --scheduler") from None
    try:
        return Client(address, timeout=60, set_as_default=False)   # a busy scheduler may be slow to answer
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {exc}; check the address "
                             "(tcp://host:8786) and that the scheduler is running, or run without --scheduler") \
            from None


def dask_map(address: str, fn: Callable[..., list[Any]], items: list[Any], *, chunk: int, shared: Any,
             args: tuple[Any, ...] = ()) -> Iterator[Any]:
    """Run ``fn(items[i:i+chunk], shared, *args)`` (a list of results) as tasks on the Dask cluster at ``address``
    and yield every result, chunk after chunk in input order. ``shared`` is sent to every worker once.
    Workers only compute (they need this package installed and the files at the same paths); the parent writes.
    Ctrl-C (or any error) cancels the tasks not yet done."""
    if not items:
        return
    client = dask_client(address)
    futures: list[Any] = []
    try:
        shared_f = client.scatter(shared, broadcast=True) if shared is not None else None
        n = max(1, chunk)
        futures = [client.submit(fn, items[i:i + n], shared_f, *args, pure=False)
                   for i in range(0, len(items), n)]
        for fut in futures:
            yield from fut.result()
    finally:
        if futures:
            client.cancel(futures)
        client.close()
