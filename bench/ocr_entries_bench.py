"""Typed entries read from scans and photos through the OCR, as ``omr entry`` and ``omr grade`` read them:
generated DOCX entries (``samples/entries.py``) → PDF (LibreOffice, rendered once and cached) → pages at 300 dpi
→ degraded like a scanner or a phone (``samples/typed_scans.py``) → a multi-page TIFF (or an image-only PDF),
read by ``read_entry`` with OCR on. Per profile: answers exact / flagged / SILENTLY wrong (read differently from
the truth, unflagged), identity fields exact, entries ``omr grade`` takes as typed (``grading.typed.taken_from_ocr``:
every page reliable, answers found, few questions in doubt — the others are typed in by judges) and the answers
of those alone, flags by reason, seconds per page.

    PYTHONPATH=$PWD python bench/ocr_entries_bench.py -n 10 --profiles scanner,phone [--as .pdf] [--cache DIR]
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grading.typed import taken_from_ocr  # noqa: E402
from omr.documents import DocumentOptions, load_entry_contest, read_entry  # noqa: E402
from omr.records import SheetFailure  # noqa: E402
from samples.typed_scans import degraded, make_scans, raster_pages, save_scan  # noqa: E402,F401

FIELDS = ("name", "date_of_birth", "address", "unit", "class", "phone", "email")
_WHOLE = ("unread_answers", "ocr_failed", "ocr_no_answers", "rejected")


def score(rec: dict, truth: dict, tally: Counter, name: str) -> None:
    """Each answer exact, flagged (its question flagged, or blank in a document a person must check) or a
    silent error, printed with its evidence."""
    flagged = {f["question"] for f in rec["flags"] if "question" in f}
    unsure = any(f.get("reason") in _WHOLE for f in rec["flags"])
    for q, want in truth["answers"].items():
        got = rec["answers"].get(q, "")
        if q in flagged or (unsure and got == "" and want != ""):
            tally["flagged"] += 1
        elif got == want:
            tally["exact"] += 1
        else:
            tally["silent_error"] += 1
            print(f"silent error: {name} question {q}: truth {want!r}, read {got!r} "
                  f"({rec['evidence'].get(q, '')})", file=sys.stderr)


def identity_exact(rec: dict, truth: dict, tally: Counter) -> None:
    for field in FIELDS:
        want = truth["identity"].get(field, "")
        if want:
            tally["fields"] += 1
            tally["fields_exact"] += rec["identity"].get(field, "") == want


def run(n: int, seed: int, profile: str, suffix: str, contest: Path, cache: Path | None) -> dict:
    tally: Counter = Counter()
    reasons: Counter = Counter()
    pages = 0
    seconds = 0.0
    ec = load_entry_contest(contest)
    with tempfile.TemporaryDirectory(prefix="ocr-entries-") as tmp:
        scans = make_scans(Path(tmp), contest, n=n, profile=profile, seed=seed, suffix=suffix, cache=cache)
        for scan in scans:
            truth = json.loads((scan.parent / f"{scan.name[:11]}.truth.json").read_text(encoding="utf-8"))
            t0 = time.perf_counter()
            got = read_entry(str(scan), ec, DocumentOptions(ocr=True))
            seconds += time.perf_counter() - t0
            if isinstance(got, SheetFailure):
                print(f"rejected: {scan.name}: {got.reason}", file=sys.stderr)
                rec = {"answers": {}, "flags": [{"document": None, "reason": "rejected"}], "evidence": {},
                       "identity": {}, "ocr": []}
            else:
                rec = got.to_json()
            pages += truth["pages"]
            taken = not isinstance(got, SheetFailure) and taken_from_ocr(got)
            if taken:                   # what ``omr grade`` scores from the OCR (the rest is typed in by judges)
                kept: Counter = Counter()
                score(rec, truth, kept, scan.name)
                for k in ("exact", "flagged", "silent_error"):
                    tally[f"taken_{k}"] += kept[k]
            score(rec, truth, tally, scan.name)
            identity_exact(rec, truth, tally)
            tally["name_exact"] += rec["identity"].get("name") == truth["identity"].get("name")
            tally["graded_typed"] += taken
            reasons.update(f["reason"] for f in rec["flags"])
            print(f"progress {profile}: {scan.name} {truth['style']['answers']}: "
                  + json.dumps({k: tally[k] for k in ("exact", "flagged", "silent_error")}),
                  file=sys.stderr, flush=True)
    answers = sum(tally[k] for k in ("exact", "flagged", "silent_error"))
    return {"profile": profile, "as": suffix, "entries": n, "pages": pages, "answers": answers,
            **{k: tally[k] for k in ("exact", "flagged", "silent_error")},
            "flagged_pct": round(100 * tally["flagged"] / max(answers, 1), 2),
            "identity_fields_exact": f"{tally['fields_exact']}/{tally['fields']}",
            "name_exact": f"{tally['name_exact']}/{n}",
            "graded_as_typed": f"{tally['graded_typed']}/{n}",
            "in_entries_graded_as_typed": {k: tally[f"taken_{k}"] for k in ("exact", "flagged", "silent_error")},
            "seconds_per_page": round(seconds / max(pages, 1), 2),
            "flags_by_reason": dict(reasons.most_common())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--profiles", default="scanner,phone", help="comma-separated: none, clean, scanner, phone")
    p.add_argument("--as", dest="suffix", choices=(".tif", ".pdf"), default=".tif")
    p.add_argument("--contest", type=Path, default=ROOT / "answer_keys" / "demo")
    p.add_argument("--cache", type=Path, help="keep the rendered PDFs here (LibreOffice runs once per seed)")
    args = p.parse_args(argv)
    print("command: PYTHONPATH=$PWD python bench/ocr_entries_bench.py "
          + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])), file=sys.stderr)
    silent = 0
    for profile in args.profiles.split(","):
        result = run(args.n, args.seed, profile, args.suffix, args.contest, args.cache)
        print(json.dumps(result, ensure_ascii=False), flush=True)
        silent += result["silent_error"]
    return 0 if silent == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
