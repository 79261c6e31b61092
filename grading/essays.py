"""Essays: which pages of a submission are essays, their text (OCR as a resumable stage), near-duplicates and
full-text search.

* ``assign_essay_pages``: a submission is a sequence of pages. A page the reader finds no sheet on
  (``not_a_sheet``) is an essay page of the participant of the answer sheet before it (or the first one); in a
  submission with no answer sheet at all the pages are essays without a participant (the store flags the
  submission ``unmatched_essay``). Other rejections (corrupt, truncated, partial_sheet …) stay rejections.
* ``ocr_pending``: the OCR stage (``omr ocr --contest``). Each pending essay becomes a small picklable
  ``OcrTask``; a process pool (serial twin with one worker) or a Dask cluster runs ``ocr_task`` — an essay page
  goes through ``omr.ocr.ocr_page`` (text layer of a born-digital PDF page, else OCR at full resolution); an
  essay box of a sheet is cropped upright at the OCR resolution (``crop_region``), its printed label and border
  lines painted white (``blank_printed_marks``: the text is only what the participant wrote) and read by
  ``omr.ocr.ocr_image`` as an upright image (never turned: a box holding one line cannot show its direction).
  Only the parent writes, one essay per transaction, and only essays still pending: a killed run resumes with
  what is pending and never writes an essay twice.
* ``find_duplicates``: ``grading.duplicates.find_near_duplicates`` over every essay read, the contest's question
  statements (``essays.json``) ignored; pairs stored once.
* ``snippet``: a few words around the first hit, for ``omr search``.

``essays.json`` (optional, in the contest folder) names the contest's essay questions::

    {"essays": [{"id": "E1", "title": "Nghị luận xã hội", "question": "Suy nghĩ của em về ..."}]}

``id`` matches an essay box of the layout when the essay is written on the sheet; ``question`` is the statement
participants may copy (it is ignored when looking for near-duplicates).
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from omr.errors import AlignmentError, ExitCode, InputError, LayoutError
from omr.layout import EssayBox, Layout, Rect, read_json_document
from omr.load import LoadOptions, PageRef, discover, load_page, plan_pages
from omr.paths import display_source, display_text
from omr.progress import Progress
from omr.records import Reject, SheetFailure, SheetReading
from omr.workers import pool_context, start_worker

from .store import EssayPage, EssayToRead, Store

Record = SheetReading | SheetFailure


# ---------------------------------------------------------------------------------------------------
# Which pages are essays
# ---------------------------------------------------------------------------------------------------
def assign_essay_pages(records: Sequence[Record]) -> list[Record | EssayPage]:
    """The submission's records with every ``not_a_sheet`` page turned into an ``EssayPage``.

    With answer sheets in the submission, an essay page belongs to the sheet page before it (pages before the
    first sheet: to the first sheet), so a scanner PDF of many "sheet + essay" entries assigns each essay to its
    own sheet. Without any sheet, the first essay page carries no owner (the store flags it
    ``unmatched_essay``) and the other essay pages follow it. Nothing else changes.
    """
    essay_at = [i for i, r in enumerate(records)
                if isinstance(r, SheetFailure) and r.reason_code is Reject.NOT_A_SHEET and r.page is not None]
    if not essay_at:
        return list(records)
    out: list[Record | EssayPage] = list(records)
    sheets = [r.page for r in records if isinstance(r, SheetReading)]
    if sheets:
        owner = sheets[0]
        for i, r in enumerate(records):
            if isinstance(r, SheetReading):
                owner = r.page
            elif i in essay_at:
                out[i] = EssayPage(r, owner)  # type: ignore[arg-type]
        return out
    first = records[essay_at[0]].page
    for i in essay_at:
        r = records[i]
        out[i] = EssayPage(r, None if r.page == first else first)  # type: ignore[arg-type]
    return out


# ---------------------------------------------------------------------------------------------------
# The contest's essay questions (essays.json)
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EssayQuestion:
    id: str
    title: str
    question: str


def load_essay_questions(folder: str | Path) -> tuple[EssayQuestion, ...]:
    """``DIR/essays.json`` if there is one (none: no questions). ``LayoutError`` (exit 5) lists every problem."""
    path = Path(folder) / "essays.json"
    if not path.is_file():
        return ()
    raw, path = read_json_document(path, file_name="essays.json", what="essay questions file",
                                   hint="fix it or remove it")
    items = raw.get("essays") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise LayoutError(f'{path} must be an object {{"essays": [{{"id": …, "title": …, "question": …}}]}}')
    problems: list[str] = []
    out: list[EssayQuestion] = []
    for i, e in enumerate(items):
        if not isinstance(e, dict):
            problems.append(f"essays[{i}]: must be an object with id, title and question")
            continue
        for k in ("id", "title", "question"):
            if k in e and not isinstance(e[k], str):
                problems.append(f"essays[{i}].{k}: must be text")
        if not isinstance(e.get("id"), str) or not e["id"].strip():
            problems.append(f"essays[{i}].id: required (the essay box id in the layout, or any short name)")
            continue
        out.append(EssayQuestion(e["id"].strip(), str(e.get("title") or ""), str(e.get("question") or "")))
    if len({q.id for q in out}) != len(out):
        problems.append("essays: ids repeat")
    if problems:
        raise LayoutError(f"{path} is not valid", details=problems)
    return tuple(out)


# ---------------------------------------------------------------------------------------------------
# Cropping an essay box
# ---------------------------------------------------------------------------------------------------
def crop_region(image: np.ndarray, H: np.ndarray, rect: Rect, *, dpi: float = 300.0) -> np.ndarray:
    """The layout rectangle ``rect`` (mm) of a page, warped upright at ``dpi``; ``H`` maps layout mm to image
    pixels (``omr.align.Alignment.H``). Pure: a new grayscale uint8 array, white outside the page."""
    import cv2

    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(f"expected a grayscale uint8 image, got {image.dtype} with shape {image.shape}")
    if dpi <= 0 or rect.w_mm <= 0 or rect.h_mm <= 0:
        raise ValueError(f"bad crop: {rect} at {dpi} dpi")
    s = dpi / 25.4                                       # output pixels per mm
    w, h = int(round(rect.w_mm * s)), int(round(rect.h_mm * s))
    # output pixel (u, v) (centre convention) ↔ layout mm (x0 + (u + ½)/s, y0 + (v + ½)/s) ↔ image H·mm
    to_mm = np.array([[1 / s, 0, rect.x_mm + 0.5 / s], [0, 1 / s, rect.y_mm + 0.5 / s], [0, 0, 1]])
    return cv2.warpPerspective(image, H @ to_mm, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=255)


# What the sheet printed in an essay box is not the participant's text: painted white before OCR. The margins
# cover the alignment error (fiducials reproject within omr.align.MAX_RESIDUAL_MM = 0.6 mm RMS) and the half
# of the 0.5 pt border line that falls inside the box.
LABEL_MARGIN_MM = 1.0        # around the label's rectangle (omr.sheet.essay_label_rect)
BORDER_BAND_MM = 1.0         # along the box's four edges, inside the crop


def blank_printed_marks(crop: np.ndarray, region: Rect, *, label: Rect | None = None, dpi: float = 300.0,
                        label_margin_mm: float = LABEL_MARGIN_MM, border_mm: float = BORDER_BAND_MM) -> np.ndarray:
    """``crop`` (``crop_region`` of ``region`` at ``dpi``) with a band of ``border_mm`` along its four edges
    and the label's rectangle (layout mm, grown by ``label_margin_mm``) painted white. Everything else — the
    first line to the right of the label too — is kept. Pure: a new array."""
    if crop.ndim != 2 or crop.dtype != np.uint8:
        raise ValueError(f"expected a grayscale uint8 image, got {crop.dtype} with shape {crop.shape}")
    if dpi <= 0 or label_margin_mm < 0 or border_mm < 0:
        raise ValueError(f"bad blanking: {dpi} dpi, margins {label_margin_mm} / {border_mm} mm")
    s = dpi / 25.4
    h, w = crop.shape
    out = crop.copy()
    b = int(np.ceil(border_mm * s))
    if b:
        out[:b], out[-b:], out[:, :b], out[:, -b:] = 255, 255, 255, 255
    if label is not None:
        # output pixel u covers layout mm x0 + u/s .. x0 + (u + 1)/s (crop_region's convention)
        c0 = max(0, int(np.floor((label.x_mm - label_margin_mm - region.x_mm) * s)))
        c1 = min(w, int(np.ceil((label.x_mm + label.w_mm + label_margin_mm - region.x_mm) * s)))
        r0 = max(0, int(np.floor((label.y_mm - label_margin_mm - region.y_mm) * s)))
        r1 = min(h, int(np.ceil((label.y_mm + label.h_mm + label_margin_mm - region.y_mm) * s)))
        if c0 < c1 and r0 < r1:
            out[r0:r1, c0:_label_end(out[r0:r1], c0, c1, s, label_margin_mm)] = 255
    return out


def _label_end(band: np.ndarray, c0: int, c1: int, s: float, margin_mm: float) -> int:
    """Where the printed label ends in its band (pixel columns). The estimate ``c1`` comes from the font this
    machine has, which may not be the one the sheet was printed with (DejaVu and Liberation Bold differ by ~15 %):
    the label's ink is followed from its start across gaps under 2 mm (word spaces at 9 pt are ~1 mm), and the
    end taken within 0.75–1.3 times the estimated width; no ink there keeps the estimate."""
    w = band.shape[1]
    width = c1 - c0
    hi = min(w, c0 + int(round(1.3 * width)))
    part = band[:, c0:hi]
    ink = (part < min(200.0, float(np.median(part)) - 50.0)).any(0)   # a scan's 9 pt label is grey, not black
    cols = np.flatnonzero(ink)
    if len(cols) == 0:
        return c1
    gaps = np.flatnonzero(np.diff(cols) > 2 * s)          # the first gap wider than 2 mm ends the label
    last = cols[gaps[0]] if len(gaps) else cols[-1]
    end = c0 + int(last) + 1 + int(np.ceil(margin_mm * s))
    return int(min(hi, max(c0 + int(round(0.75 * width)), end)))


# ---------------------------------------------------------------------------------------------------
# OCR tasks (worker side)
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OcrTask:
    """One page (``region`` None) or one essay box of a page to read. ``key``: the essay id (or page number).
    An essay box is read without its border lines and without ``label``, where its printed label lies (layout
    mm; ``essay_box_task`` fills it in)."""

    key: int
    ref: PageRef
    region: Rect | None = None
    label: Rect | None = None


def essay_box_task(key: int, ref: PageRef, box: EssayBox) -> OcrTask:
    """The task that reads the essay box ``box`` of the page ``ref`` (its label located on the printed sheet)."""
    from omr.sheet import essay_label_rect

    return OcrTask(key, ref, box.rect, essay_label_rect(box))


@dataclass(frozen=True, slots=True)
class OcrOutcome:
    key: int
    result: Any = None           # omr.ocr.OcrResult, or None when the page could not be read
    failure: str | None = None   # why (a message for people), when ``result`` is None

    def __post_init__(self) -> None:
        if self.failure is not None:          # a file name in it shows its undecodable bytes escaped
            object.__setattr__(self, "failure", display_text(self.failure))


def ocr_load_options(ocr: Any) -> LoadOptions:
    """Pages decoded at full resolution; PDF pages that are not one scanned image rasterised at the OCR dpi."""
    return LoadOptions(target_long_side_px=1 << 30, rasterise_dpi=int(ocr.dpi))


def ocr_task(task: OcrTask, layout: Layout | None, ocr: Any) -> OcrOutcome:
    """Read one task. Never raises for a bad page: the outcome says what failed."""
    from omr.align import align
    from omr.ocr import ocr_image, ocr_page

    load = ocr_load_options(ocr)
    try:
        if task.region is None:
            res = ocr_page(task.ref, ocr, load=load)
        else:
            if layout is None:
                return OcrOutcome(task.key, failure="an essay box needs the contest's layout")
            page = load_page(task.ref, load)
            if isinstance(page, SheetFailure):
                return OcrOutcome(task.key, failure=page.reason)
            try:
                al = align(page.image, layout)
            except AlignmentError as exc:
                return OcrOutcome(task.key, failure=f"the essay box cannot be located on the page: {exc.message}")
            crop = crop_region(page.image, al.H, task.region, dpi=float(ocr.dpi))
            res = ocr_image(blank_printed_marks(crop, task.region, label=getattr(task, "label", None),
                                                dpi=float(ocr.dpi)), ocr,
                            upright=True)          # warped upright through the fiducials
    except MemoryError:
        return OcrOutcome(task.key, failure="out of memory while reading this page")
    except Exception as exc:  # noqa: BLE001 — one bad page must not stop the stage; reported with its type
        return OcrOutcome(task.key, failure=f"internal error {type(exc).__name__}: {exc} (please report this file)")
    if isinstance(res, SheetFailure):
        return OcrOutcome(task.key, failure=f"{res.reason} ({res.reason_code.value})")
    return OcrOutcome(task.key, result=res)


_WORKER: dict[str, Any] = {}


def _init_worker(layout: Layout | None, ocr: Any, in_pool: bool) -> None:
    if in_pool:
        start_worker()
        os.environ["OMP_THREAD_LIMIT"] = "1"     # several Tesseracts side by side: one thread each
    _WORKER["layout"], _WORKER["ocr"] = layout, ocr


def _work(task: OcrTask) -> OcrOutcome:
    return ocr_task(task, _WORKER["layout"], _WORKER["ocr"])


def _dask_chunk(tasks: list[OcrTask], layout: Layout | None, ocr: Any) -> list[OcrOutcome]:
    """A Dask task (runs on a cluster worker)."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    return [ocr_task(t, layout, ocr) for t in tasks]


@dataclass(frozen=True, slots=True)
class OcrRunOptions:
    workers: int = 1
    scheduler: str | None = None     # a Dask scheduler address, else local processes
    retry_failed: bool = False       # read the essays whose OCR failed again
    progress: bool = True
    ocr: Any = None                  # omr.ocr.OcrOptions (None: its defaults)

    def ocr_options(self) -> Any:
        if self.ocr is not None:
            return self.ocr
        from omr.ocr import OcrOptions

        return OcrOptions()


def run_ocr(tasks: list[OcrTask], layout: Layout | None, options: OcrRunOptions, *,
            ordered: bool = False) -> Iterator[OcrOutcome]:
    """Run the tasks serially (one worker), on a local process pool, or on a Dask cluster. With ``ordered``
    outcomes come in task order, else as they finish. Ctrl-C (or any error) cancels what is not done."""
    ocr = options.ocr_options()
    if not tasks:
        return
    if options.scheduler:
        from .cluster import dask_map

        yield from dask_map(options.scheduler, _dask_chunk, tasks, chunk=1, shared=layout, args=(ocr,))
        return
    if options.workers <= 1 or len(tasks) == 1:
        _init_worker(layout, ocr, in_pool=False)
        for t in tasks:
            yield ocr_task(t, layout, ocr)
        return
    pool = ProcessPoolExecutor(max_workers=min(options.workers, len(tasks)), mp_context=pool_context(),
                               initializer=_init_worker, initargs=(layout, ocr, True))
    futures: list[Future] = []
    try:
        futures = [pool.submit(_work, t) for t in tasks]
        if ordered:
            for fut in futures:
                yield fut.result()
        else:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
    except BaseException:
        for fut in futures:
            fut.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


# ---------------------------------------------------------------------------------------------------
# The OCR stage over a contest's store (parent side)
# ---------------------------------------------------------------------------------------------------
@dataclass
class OcrTally:
    essays: int = 0                 # essays to read in this run
    done: int = 0
    unreliable: int = 0             # done, low confidence (the text is kept, stored reliable = false)
    text_layer: int = 0             # done from a born-digital PDF's text layer (no OCR needed)
    failed: list[tuple[int, str]] = field(default_factory=list)      # (essay id, reason)
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def exit_code(self) -> ExitCode:
        """What this run did: an essay failed → 4, one was read with low confidence → 3, else 0 (essays that
        failed in an earlier run are told, not counted: ``earlier_failures``)."""
        if self.failed:
            return ExitCode.FINISHED_WITH_REJECTS
        if self.unreliable:
            return ExitCode.FINISHED_WITH_FLAGS
        return ExitCode.OK

    def text(self, how: str) -> str:
        lines = [f"this run: {self.essays} essay(s) to read · {self.done} read ({self.unreliable} low confidence, "
                 f"{self.text_layer} from a text layer) · {len(self.failed)} failed · {self.seconds:.1f} s ({how})"]
        for eid, reason in self.failed[:20]:
            lines.append(f"  failed: essay {eid}: {reason}")
        if len(self.failed) > 20:
            lines.append(f"  … and {len(self.failed) - 20} more failed")
        if self.interrupted:
            lines.append("  INTERRUPTED: what is stored stays; run the same command again to finish")
        return "\n".join(lines)


def _plan_tasks(todo: Sequence[EssayToRead], layout: Layout | None, store: Store, tally: OcrTally,
                load: LoadOptions) -> list[OcrTask]:
    """Tasks for the essays whose file is still there, unchanged; the others are marked failed at once."""
    from .hashing import file_digest

    boxes = {e.id: e for e in layout.essays} if layout is not None else {}
    by_file: dict[tuple[str, str], list[EssayToRead]] = {}
    for e in todo:
        by_file.setdefault((e.source, e.content_hash), []).append(e)

    def fail(e: EssayToRead, reason: str) -> None:
        store.fail_ocr(e.id, reason)
        tally.failed.append((e.id, reason))

    tasks: list[OcrTask] = []
    for (source, digest), items in by_file.items():
        shown = display_source(source)
        try:
            actual, _ = file_digest(source)
        except OSError as exc:
            for e in items:
                fail(e, f"{shown} cannot be opened any more ({exc.strerror or exc}); put it back and run with "
                        "--retry-failed")
            continue
        if actual != digest:
            for e in items:
                fail(e, f"{shown} has changed since it was graded; grade the new file (or put the old one back "
                        "and run with --retry-failed)")
            continue
        refs = plan_pages(source, load)
        if isinstance(refs, SheetFailure):
            for e in items:
                fail(e, refs.reason)
            continue
        for e in items:
            if not 1 <= e.page_no <= len(refs):
                fail(e, f"{shown} has no page {e.page_no}")
            elif e.kind == "region" and e.region_id not in boxes:
                fail(e, f"the layout has no essay box {e.region_id!r} any more")
            elif e.kind == "region":
                tasks.append(essay_box_task(e.id, refs[e.page_no - 1], boxes[e.region_id]))
            else:
                tasks.append(OcrTask(e.id, refs[e.page_no - 1]))
    return tasks


def ocr_pending(store: Store, layout: Layout | None, options: OcrRunOptions,
                tally: OcrTally | None = None) -> OcrTally:
    """Read every pending essay (and failed ones with ``retry_failed``) and store each text as it arrives.
    Pass ``tally`` to keep the counts when ``KeyboardInterrupt`` propagates."""
    tally = OcrTally() if tally is None else tally
    t0 = time.perf_counter()
    try:
        todo = store.essays_to_ocr(retry_failed=options.retry_failed)
        tally.essays = len(todo)
        if not todo:
            return tally
        ocr = options.ocr_options()
        tasks = _plan_tasks(todo, layout, store, tally, ocr_load_options(ocr))
        with Progress(total=len(tasks), label="ocr", enabled=options.progress) as bar:
            for out in run_ocr(tasks, layout, options):
                if out.result is not None:
                    if store.save_ocr(out.key, out.result):
                        tally.done += 1
                        tally.unreliable += 0 if out.result.reliable else 1
                        tally.text_layer += 1 if out.result.source == "text_layer" else 0
                else:
                    store.fail_ocr(out.key, out.failure or "unknown failure")
                    tally.failed.append((out.key, out.failure or "unknown failure"))
                bar.advance()
    except KeyboardInterrupt:
        tally.interrupted = True
        raise
    finally:
        tally.seconds = time.perf_counter() - t0
    return tally


def earlier_failures(store: Store, tally: OcrTally) -> str:
    """A line for people when essays failed in an earlier run and were not tried again ("" when none)."""
    failed = store.essay_counts().failed - len(tally.failed)
    return (f"{failed} essay(s) failed in an earlier run and were not read again: fix their files, then "
            "`omr ocr --contest DIR --retry-failed`") if failed > 0 else ""


# ---------------------------------------------------------------------------------------------------
# One file, no store (``omr ocr FILE``)
# ---------------------------------------------------------------------------------------------------
def ocr_file(path: str, options: OcrRunOptions) -> Iterator[OcrOutcome]:
    """Every page of one image or PDF, in page order (``key`` = page number). ``InputError`` if the file
    cannot be opened at all."""
    if os.path.isdir(path):
        raise InputError(f"{path} is a folder; give one image or PDF file")
    _, missing = discover([path])
    if missing:
        raise InputError(missing[0].reason)
    refs = plan_pages(path, ocr_load_options(options.ocr_options()))
    if isinstance(refs, SheetFailure):
        raise InputError(f"{path}: {refs.reason}")
    yield from run_ocr([OcrTask(r.index + 1, r) for r in refs], None, options, ordered=True)


# ---------------------------------------------------------------------------------------------------
# Near-duplicates
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FoundPair:
    a: int
    b: int
    code_a: str
    code_b: str
    similarity: float
    containment: float
    passages: tuple[dict[str, Any], ...]


_PASSAGE_FIELDS = ("a_start", "a_end", "b_start", "b_end", "text")


def find_duplicates(store: Store, questions: Iterable[EssayQuestion] = (), *,
                    threshold: float | None = None) -> tuple[list[FoundPair], int]:
    """Near-duplicate pairs among the essays read (question statements ignored), stored once each.
    Returns the pairs (highest containment first) and how many were new."""
    import dataclasses

    from .duplicates import DuplicateOptions, find_near_duplicates

    texts = store.essay_texts()
    codes = {eid: code for eid, code, _ in texts}
    opts = DuplicateOptions()
    opts = dataclasses.replace(opts, ignore=tuple(opts.ignore) + tuple(q.question for q in questions if q.question))
    if threshold is not None:
        opts = dataclasses.replace(opts, threshold=threshold)
    found: list[FoundPair] = []
    for p in find_near_duplicates([(str(eid), text) for eid, _, text in texts if text.strip()], opts):
        a, b = int(p.a), int(p.b)
        passages = [{f: getattr(x, f) for f in _PASSAGE_FIELDS} for x in p.passages]
        if a > b:
            a, b = b, a
            passages = [{"a_start": x["b_start"], "a_end": x["b_end"], "b_start": x["a_start"],
                         "b_end": x["a_end"], "text": x["text"]} for x in passages]
        found.append(FoundPair(a, b, codes[a], codes[b], float(p.similarity), float(p.containment),
                               tuple(passages)))
    found.sort(key=lambda f: (-f.containment, -f.similarity, f.a, f.b))
    new = store.record_duplicate_pairs([(f.a, f.b, f.similarity, f.containment, list(f.passages)) for f in found])
    return found, new


# ---------------------------------------------------------------------------------------------------
# Search results
# ---------------------------------------------------------------------------------------------------
_WORD = re.compile(r"\w+")


def snippet(text: str, query: str, *, plain: bool = False, words_around: int = 8) -> str:
    """A few words of ``text`` around the first word of ``query`` found (marked «like this»), on one line."""
    import unicodedata

    def norm(w: str) -> str:
        w = unicodedata.normalize("NFC", w).casefold()
        if plain:
            from .duplicates import strip_diacritics

            w = strip_diacritics(w).casefold()
        return w

    toks = list(_WORD.finditer(text or ""))
    if not toks:
        return ""
    wanted = {norm(w) for w in _WORD.findall(query)}
    hit = next((i for i, m in enumerate(toks) if norm(m.group()) in wanted), None)
    if hit is None:
        first = toks[min(len(toks), 2 * words_around) - 1]
        return " ".join(text[:first.end()].split()) + ("…" if first.end() < len(text) else "")
    start = toks[max(0, hit - words_around)].start()
    end = toks[min(len(toks) - 1, hit + words_around)].end()
    m = toks[hit]
    s = text[start:m.start()] + "«" + m.group() + "»" + text[m.end():end]
    return ("…" if start > 0 else "") + " ".join(s.split()) + ("…" if end < len(text) else "")
