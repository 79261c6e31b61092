"""Finding the files to read: folders walked in natural order, hidden and junk files skipped, each file once,
loops and things that are no files (pipes, devices, broken links) reported."""
from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from ..errors import NoInput
from ..records import Reject, SheetFailure


_JUNK_FILES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini"})


def _natural_key(text: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t.casefold() for t in re.split(r"(\d+)", text))


def discover(inputs: list[str]) -> tuple[list[str], list[SheetFailure]]:
    """Expand files and folders into files to read, and report inputs that do not exist.

    Folders are walked recursively in natural order ("scan2" before "scan10"), links to folders followed;
    files and folders whose name starts with '.' and Windows thumbnail caches are skipped; a file named directly
    is always taken. A file reached twice (named twice, via a symlink, or inside two given folders) is kept
    once, at its first place; a folder reached twice is walked once, and a link back into its own folder (a
    loop) is reported, not followed.
    """
    files: list[str] = []
    failures: list[SheetFailure] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            problem = _not_a_file(path)
            if problem is None:
                files.append(path)
            else:
                failures.append(problem)

    for given in inputs:
        if not os.path.lexists(given):
            failures.append(SheetFailure(given, None, Reject.NOT_FOUND,
                                         f"{given} does not exist; check the path (and that the drive or "
                                         "network share holding it is mounted)"))
            continue
        if not os.path.isdir(given):
            add(given)
            continue
        found: list[tuple[tuple, str]] = []

        def on_error(err: OSError, given: str = given) -> None:
            where = err.filename or given
            failures.append(SheetFailure(str(where), None, Reject.UNREADABLE,
                                         f"the folder {where} cannot be listed ({err.strerror}); check its "
                                         "permissions"))

        walked = {os.path.realpath(given)}
        for root, dirs, names in os.walk(given, onerror=on_error, followlinks=True):
            dirs[:] = _folders_to_walk(given, root, [d for d in dirs if not d.startswith(".")], walked, failures)
            rel_parts = Path(os.path.relpath(root, given)).parts
            for name in names:
                if name.startswith(".") or name.casefold() in _JUNK_FILES:
                    continue
                parts = (*(p for p in rel_parts if p != "."), name)
                found.append((tuple(_natural_key(p) for p in parts), os.path.join(root, name)))
        for _, path in sorted(found, key=lambda t: t[0]):
            add(path)
    return files, failures


def _not_a_file(path: str) -> SheetFailure | None:
    """Why ``path`` is no file to read (a broken link, a pipe, a device), or None. Found here, before anything
    opens it: opening a pipe waits for a writer forever."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return SheetFailure(path, None, Reject.NOT_FOUND, _broken_link(path))
        return None                      # gone since it was listed: plan_pages says so
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return SheetFailure(path, None, Reject.UNREADABLE, f"{path} is a link that leads back to itself (a "
                                                               "loop), not to a scan; give the scan itself")
        return None                      # plan_pages reports it with its reason
    if stat.S_ISREG(st.st_mode):
        return None
    return SheetFailure(path, None, Reject.UNSUPPORTED_TYPE, f"{path} {_NOT_REGULAR}")


_NOT_REGULAR = "is not a regular file (a device, pipe or socket); give scan files only"


def _broken_link(path: str) -> str:
    return f"{path} is a broken link (its target does not exist); give the scan itself"


def require_files(inputs: list[str], files: list[str], failures: list[SheetFailure]) -> None:
    """``NoInput`` when ``discover`` found nothing at all in ``inputs``: no file and nothing to report."""
    if not files and not failures:
        shown = ", ".join(inputs)
        raise NoInput(f"no file to read in {shown}: the folder is empty (or holds only hidden files); check the "
                      "path, or copy the scans there first")


def _folders_to_walk(top: str, root: str, dirs: list[str], walked: set[str],
                     failures: list[SheetFailure]) -> list[str]:
    """The sub-folders of ``root`` (inside the given folder ``top``) still to walk: each real folder once; a link
    to a folder that holds it on the way from ``top`` (a loop) becomes a failure that says so."""
    above, at = set(), root
    while True:
        above.add(os.path.realpath(at))
        if os.path.samefile(at, top) or at == os.path.dirname(at):
            break
        at = os.path.dirname(at)
    keep = []
    for d in dirs:
        path = os.path.join(root, d)
        real = os.path.realpath(path)
        if os.path.islink(path) and real in above:
            failures.append(SheetFailure(path, None, Reject.UNREADABLE,
                                         f"the folder link {path} points back to {real}, a folder that holds it (a "
                                         "loop): it was not followed; remove the link or give the folder itself"))
        elif real not in walked:
            walked.add(real)
            keep.append(d)
    return keep
