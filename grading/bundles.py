"""Signed bundles between levels: a district running its own installation sends its round's selection to the
city (``omr forward``); the city verifies and imports it (``omr receive``) — equivalent to that unit closing its
round on the city server.

Keys: ``omr keys new --unit U`` makes an Ed25519 pair (the ``cryptography`` package) in the contest folder's
``keys/``: ``U.key`` (private, PKCS#8 PEM, readable by its owner only; it never leaves the district) and ``U.pub``
(public, PEM). The city registers a unit by copying its ``U.pub`` into the city's own ``keys/`` folder.

A bundle is a ZIP: ``entries.json`` (``grading.db.bundles.forward_payload``), ``files/<sha256><suffix>`` (the
scanned files, when the sending machine still has them), ``manifest.json`` (format, unit, round, time, and the
SHA-256 of every other member) and ``manifest.sig`` (the unit's Ed25519 signature of ``manifest.json``'s bytes).
``verify`` refuses (``BundleRefused``, exit 9, with the reason) a file that is no ZIP or is cut short, a member
whose bytes differ from the manifest, a member added or missing, an unsafe member name, a unit without a
registered key, a signature that does not verify with it. Receiving the same bundle again adds nothing; a
different bundle for a round the unit already has is refused.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from omr.errors import BadArguments, InputError, OutputError

from .db import bundles as db
from .db.rounds import round_row
from .rules import Level, Rules
from .store import Store
from .units import Units

FORMAT = 1
MANIFEST, SIGNATURE, ENTRIES = "manifest.json", "manifest.sig", "entries.json"
KEYS_DIR = "keys"
MAX_MEMBER = 2 << 30            # bytes: a member larger than this is refused before it is read


class BundleRefused(InputError):
    """A bundle that is not accepted; the message says why."""


def _unit_code(units: Units | None, unit: str) -> str:
    return units.find(unit).code if units is not None else unit.strip()


def key_paths(folder: str | Path, code: str) -> tuple[Path, Path]:
    d = Path(folder) / KEYS_DIR
    return d / f"{code}.key", d / f"{code}.pub"


def new_keys(folder: str | Path, units: Units | None, unit: str) -> tuple[Path, Path]:
    """A new Ed25519 pair for the unit; refuses to replace an existing private key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    code = _unit_code(units, unit)
    private, public = key_paths(folder, code)
    if private.exists():
        raise BadArguments(f"{private} already exists: a unit keeps its key (delete it yourself to make a new one, "
                           "and register the new public key at the city)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        private.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        public.write_bytes(pub)
    except OSError as exc:
        raise OutputError(f"cannot write the keys in {private.parent}: {exc}") from None
    return private, public


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")


def forward(store: Store, folder: str | Path, rules: Rules, units: Units | None, unit: str, name: str,
            out: str | Path) -> tuple[Path, int]:
    """Write the unit's closed round ``name`` as a signed bundle; (path, entries)."""
    from cryptography.hazmat.primitives import serialization

    rnd = rules.round(name)
    if rnd.level is not Level.UNIT:
        raise BadArguments(f"round {name} is a city round: only a unit round is forwarded")
    code = _unit_code(units, unit)
    private, _ = key_paths(folder, code)
    try:
        key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise BadArguments(f"the unit's private key {private} cannot be read ({exc}); make one with "
                           f"`omr keys new --unit {code}`") from None
    try:
        payload = db.forward_payload(store, name, code, rules.rounds[0].name)
    except LookupError:
        raise BadArguments(f"round {name} of {code} is not closed: omr round close {name} --unit {code}") from None
    except ValueError as exc:
        raise BadArguments(f"round {name} of {code} has ties the committee has not decided ({exc}): omr decide "
                           "--list") from None
    members: dict[str, bytes] = {ENTRIES: json.dumps(payload, ensure_ascii=False).encode("utf-8")}
    for s in payload["submissions"]:
        path = Path(s["source"])
        if path.is_file():
            members[f"files/{s['content_hash']}{path.suffix.lower()}"] = path.read_bytes()
    manifest = {"format": FORMAT, "unit": code, "round": name, "created_at": datetime.now(timezone.utc).isoformat(),
                "files": {n: _sha(b) for n, b in sorted(members.items())}}
    body = _manifest_bytes(manifest)
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(MANIFEST, body)
            z.writestr(SIGNATURE, key.sign(body))     # type: ignore[union-attr]
            for n, b in sorted(members.items()):
                z.writestr(n, b)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc}") from None
    return out, len(payload["entries"])


@dataclass(frozen=True, slots=True)
class Verified:
    unit: str
    round: str
    sha256: str                       # of manifest.json: the bundle's identity
    members: dict[str, bytes]


def _safe(name: str) -> bool:
    p = PurePosixPath(name)
    return not (p.is_absolute() or ".." in p.parts or "\\" in name or name.startswith("/") or not name)


def _read_zip(data: bytes, source: str) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            bad = [i.filename for i in infos if not _safe(i.filename)]
            if bad:
                raise BundleRefused(f"bundle {source} has unsafe member names: {', '.join(bad)}")
            if any(i.file_size > MAX_MEMBER for i in infos) or len({i.filename for i in infos}) != len(infos):
                raise BundleRefused(f"bundle {source} has an oversized or repeated member")
            return {i.filename: z.read(i) for i in infos}
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, ValueError, zlib.error, NotImplementedError,
            OSError) as exc:
        raise BundleRefused(f"bundle {source} is damaged or cut short ({exc}): ask the unit to send it again") \
            from None


def verify(path: str | Path, folder: str | Path, units: Units | None) -> Verified:
    """The bundle checked as the module's docstring says, or ``BundleRefused``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BundleRefused(f"cannot read bundle {source}: {exc}") from None
    members = _read_zip(data, source)
    if MANIFEST not in members or SIGNATURE not in members:
        raise BundleRefused(f"bundle {source} has no {MANIFEST} or {SIGNATURE}: not a bundle of omr forward")
    try:
        manifest = json.loads(members[MANIFEST].decode("utf-8"))
        code, name, files = str(manifest["unit"]), str(manifest["round"]), dict(manifest["files"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BundleRefused(f"bundle {source}: {MANIFEST} cannot be read") from None
    if units is not None and code not in units.by_code():
        raise BundleRefused(f"bundle {source} comes from unit {code!r}, which is not in the contest's units file")
    _, public = key_paths(folder, code)
    if not public.is_file():
        raise BundleRefused(f"bundle {source} comes from unit {code}, whose public key is not registered: copy "
                            f"its {code}.pub into {public.parent}")
    key = serialization.load_pem_public_key(public.read_bytes())
    try:
        key.verify(members[SIGNATURE], members[MANIFEST])     # type: ignore[union-attr]
    except InvalidSignature:
        raise BundleRefused(f"bundle {source}: the signature does not match unit {code}'s registered key (signed "
                            "with another key, or the manifest was changed)") from None
    others = set(members) - {MANIFEST, SIGNATURE}
    added, missing = sorted(others - set(files)), sorted(set(files) - others)
    if added or missing:
        raise BundleRefused(f"bundle {source}: members differ from its manifest",
                            details=[f"not in the manifest: {n}" for n in added] + [f"missing: {n}" for n in missing])
    changed = sorted(n for n in others if _sha(members[n]) != files[n])
    if changed:
        raise BundleRefused(f"bundle {source}: contents changed since it was signed", details=changed)
    return Verified(code, name, _sha(members[MANIFEST]), members)


@dataclass(frozen=True, slots=True)
class Received:
    unit: str
    round: str
    added: bool
    counts: dict[str, int]


def receive(store: Store, path: str | Path, folder: str | Path, rules: Rules, units: Units | None) -> Received:
    """Verify the bundle, then import it (once)."""
    v = verify(path, folder, units)
    rnd = rules.round(v.round)
    if rnd.level is not Level.UNIT:
        raise BundleRefused(f"bundle {path} carries round {v.round}, which is not a unit round in rules.json")
    payload = json.loads(v.members[ENTRIES].decode("utf-8"))
    if payload.get("unit") != v.unit or payload.get("round") != v.round:
        raise BundleRefused(f"bundle {path}: {ENTRIES} is for another unit or round than its manifest")
    now = datetime.now(timezone.utc)
    saved = Path(folder) / "out" / "received" / v.unit
    with store.write_tx("receive a bundle") as conn:
        row = round_row(conn, v.round, v.unit)
        if row is not None:
            if f"bundle {v.sha256[:12]}" in (row.opened_by or ""):
                return Received(v.unit, v.round, False, {})
            raise BundleRefused(f"round {v.round} of {v.unit} is already in this store (opened by {row.opened_by}): "
                                "a second, different bundle is not merged")
        source_of = {}
        for n, b in v.members.items():
            if n.startswith("files/"):
                saved.mkdir(parents=True, exist_ok=True)
                (saved / PurePosixPath(n).name).write_bytes(b)
                source_of[PurePosixPath(n).stem] = str(saved / PurePosixPath(n).name)
        counts = db.import_payload(conn, payload, bundle=v.sha256, source_of=source_of, now=now)
    return Received(v.unit, v.round, True, counts)
