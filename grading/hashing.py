"""Files are identified by their content: a sha256 digest read in blocks, and the digest a duplicate is stored
under (one per content and path, so that a re-run recognises it)."""
from __future__ import annotations

import hashlib
import os

_HASH_BLOCK = 1 << 20


def file_digest(path: str) -> tuple[str, int]:
    """sha256 hex digest and size of a file, read in 1 MiB blocks. Raises ``OSError``."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(_HASH_BLOCK):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def duplicate_digest(content_digest: str, path: str) -> str:
    """The stored hash of a duplicate: one per (content, path), so a re-run recognises it and skips it. The path
    counts by its exact bytes (a name that is not UTF-8 included)."""
    return hashlib.sha256(f"duplicate\0{content_digest}\0".encode("utf-8") + os.fsencode(path)).hexdigest()


