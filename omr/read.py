"""Reading: one page → a ``SheetReading`` (or a ``SheetFailure``), and a batch of files → JSON Lines.

``read_page`` is the pure per-page pipeline: align → QR → measure → decide → identify.
``read_inputs`` is the batch: discover files, plan their pages, read them on a process pool (or its serial
twin with one worker), write one JSON object per page in input order, and account for every file and page.
Workers get small picklable task records and return records; only the parent writes output and progress.
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

import cv2
import numpy as np

from .csvout import CsvWriter
from .deblur import deconvolve, motion_blur
from .errors import AlignmentError, ExitCode, OutputError
from .identify import NO_QR, decide_participant, digits_from_groups, read_qr
from .layout import Group, GroupKind, Layout, MarkingRules
from .load import LoadOptions, PageRef, discover, load_page, plan_pages, require_files
from .markerless import align_any
from .markrules import RULE_CONFIDENCE, apply_rules
from .numeric import numeric_answers
from .marks import STATE_ORDER, Fills, classify, measure_fills, normalise_labels, page_thresholds
from .progress import Progress
from .records import Flag, GroupRead, MarkState, Page, Reject, SheetFailure, SheetReading, Status
from .workers import pool_context, start_worker

Record = SheetReading | SheetFailure


@dataclass(frozen=True, slots=True)
class ReadOptions:
    workers: int = 1
    detail: bool = False
    chunk_pages: int = 8                      # pages per task sent to a worker
    load: LoadOptions = field(default_factory=LoadOptions)


_DOUBT_TEXT = {
    "ambiguous_mark": "Câu {q}: có ô tô mờ hoặc tô chưa kín, cần người chấm xem lại",
    "crossed_out": "Câu {q}: có ô bị gạch chéo (có thể thí sinh đã huỷ lựa chọn), cần người chấm xem lại",
    "uneven_marks": "Câu {q}: hai ô tô đậm nhạt khác nhau (có thể một ô đã tẩy chưa sạch), cần người chấm xem lại",
    "circled": "Câu {q}: có ô được khoanh tròn thay vì tô, cần người chấm xem lại",
    "tick_or_x": "Câu {q}: có ô được đánh dấu ✓ hoặc ✗ thay vì tô, cần người chấm xem lại",
    "unusual_mark": "Câu {q}: có nét bút lạ trên hoặc quanh một ô, cần người chấm xem lại",
    "blurred_mark": "Câu {q}: ảnh phiếu bị nhoè do rung máy, dấu ở câu này không rõ là tô, tẩy hay gạch, "
                    "cần người chấm xem lại",
}


def _group_reads(fills: Fills, fill: np.ndarray, groups: tuple[Group, ...], th,
                 rules: MarkingRules | None = None) -> tuple[tuple[GroupRead, ...], dict[str, str]]:
    """Per-group readings, and the doubt reason of each doubtful group by key. With ``rules`` (questions), the
    contest's marking rules decide the questions holding unusual marks (``omr.markrules``)."""
    if not groups:
        return (), {}
    idx, state, conf = classify(fill, groups, th)
    doubt_of: dict[int, str] = {}
    rule_of: dict[int, str] = {}
    if rules is not None:
        state, doubt_of, rule_of = apply_rules(fills, fill, groups, state, th, rules)
    values = fill[idx].tolist()
    codes = state.tolist()
    out, doubts, k = [], {}, 0
    for n, (g, c) in enumerate(zip(groups, conf.tolist())):
        end = k + g.size
        states, marked = _decoded(g.labels, tuple(codes[k:end]))
        reason = doubt_of.get(n) or ("ambiguous_mark" if MarkState.AMBIGUOUS in states else None)
        if reason:
            doubts[g.key] = reason
            c = min(c, 0.5)
        elif n in rule_of:
            c = RULE_CONFIDENCE
        out.append(GroupRead(g.key, marked, states, tuple(values[k:end]), c, rule_of.get(n)))
        k = end
    return tuple(out), doubts


_DIGITS: dict[int, tuple[Layout, tuple[Group, ...]]] = {}


def _digit_groups(layout: Layout) -> tuple[Group, ...]:
    """The participant, version and numeric groups as one tuple: the same object for a layout every time, as
    ``marks.group_index`` caches its vectorised view by the tuple's identity (a new tuple per page rebuilt it)."""
    hit = _DIGITS.get(id(layout))
    if hit is None or hit[0] is not layout:
        if len(_DIGITS) > 64:
            _DIGITS.clear()
        hit = _DIGITS[id(layout)] = (layout, layout.digit_groups(GroupKind.PARTICIPANT)
                                     + layout.digit_groups(GroupKind.VERSION) + layout.digit_groups(GroupKind.NUMERIC))
    return hit[1]


_DECODED: dict[tuple[tuple[str, ...], tuple[int, ...]], tuple[tuple[MarkState, ...], str]] = {}


def _decoded(labels: tuple[str, ...], codes: tuple[int, ...]) -> tuple[tuple[MarkState, ...], str]:
    """A group's state codes as ``MarkState``s, and its marked labels ("" when none). Few combinations occur
    (labels × states), so each is worked out once per process."""
    hit = _DECODED.get((labels, codes))
    if hit is None:
        if len(_DECODED) > 4096:
            _DECODED.clear()
        hit = _DECODED[(labels, codes)] = (tuple(STATE_ORDER[c] for c in codes),
                                           "".join(lab for lab, c in zip(labels, codes) if c == 1))
    return hit


def read_page(page: Page, layout: Layout, *, align_on: np.ndarray | None = None) -> Record:
    """The whole per-page pipeline. Pure apart from timing; never raises for a bad page. ``align_on``: an image of
    the same geometry to find the sheet and its QR code in (the page deconvolved of a motion smear); the marks are
    read on the page."""
    t0 = time.perf_counter()
    sharp = page.image if align_on is None else align_on
    try:
        al = align_any(sharp, layout)
    except AlignmentError as exc:
        return SheetFailure(page.source, page.page, Reject(exc.code), exc.message,
                            {"align": (time.perf_counter() - t0) * 1000})
    t1 = time.perf_counter()
    qr = read_qr(sharp, al, layout) if layout.qr is not None else NO_QR
    if qr.payload and (qr.payload.contest != layout.contest or qr.payload.layout != layout.id):
        return SheetFailure(page.source, page.page, Reject.WRONG_LAYOUT,
                            f"the QR code says contest {qr.payload.contest!r}, layout {qr.payload.layout!r}; "
                            f"this run reads {layout.contest!r}/{layout.id!r}: read it with the right --layout")
    t2 = time.perf_counter()
    fills = measure_fills(page.image, al, layout)
    qgroups = layout.question_groups
    pgroups = layout.digit_groups(GroupKind.PARTICIPANT)
    vgroups = layout.digit_groups(GroupKind.VERSION)
    ngroups = layout.digit_groups(GroupKind.NUMERIC)
    fill = normalise_labels(fills.fill, qgroups)
    fill = normalise_labels(fill, _digit_groups(layout))
    th = page_thresholds(fill, qgroups)
    q_reads, q_doubts = _group_reads(fills, fill, qgroups, th, layout.marking)
    id_reads, _ = _group_reads(fills, fill, pgroups, th)
    ver_reads, _ = _group_reads(fills, fill, vgroups, th)
    num_reads, _ = _group_reads(fills, fill, ngroups, th)
    t3 = time.perf_counter()

    flags: list[Flag] = []
    if al.markers < 4:
        flags.append(Flag("page", None, "three_markers",
                          "Chỉ tìm thấy 3/4 góc phiếu: vị trí các ô có thể lệch, cần người chấm xem lại cả phiếu",
                          0.5))
    answers: dict[str, str] = {}
    for g in q_reads:
        answers[g.key] = g.marked
        reason = q_doubts.get(g.key)
        if reason:
            flags.append(Flag("question", g.key, reason, _DOUBT_TEXT[reason].format(q=g.key), g.confidence, g.fills))
    if num_reads:
        num_answers, num_flags = numeric_answers(layout, num_reads)
        answers.update(num_answers)
        flags += num_flags

    pid_value, pid_text, pid_flags = digits_from_groups(id_reads, "participant")
    if pgroups or layout.qr is not None:
        participant, p_flags = decide_participant(qr, pid_value, pid_text, pid_flags)
    else:                                     # a sheet printed by others without an id field: nothing to read
        participant, p_flags = None, []
    flags = p_flags + flags
    version: str | None = None
    ver_text = None
    if ver_reads:
        version, ver_text, v_flags = digits_from_groups(ver_reads, "version")
        flags = flags[:len(p_flags)] + v_flags + flags[len(p_flags):]
    t4 = time.perf_counter()
    alignment = al.as_json()
    alignment["blank_level"] = th.blank
    alignment["mark_level"] = th.mark
    alignment["black"] = fills.black
    alignment["qr_ok"] = 1.0 if qr.payload else 0.0
    return SheetReading(
        source=page.source, page=page.page, layout=layout.id,
        status=Status.FLAGGED if flags else Status.OK,
        participant=participant, version=version, answers=answers, flags=tuple(flags),
        qr=qr.payload.as_dict() if qr.payload else None,
        participant_bubbles=pid_text or None, version_bubbles=ver_text,
        groups=q_reads + id_reads + ver_reads + num_reads, alignment=alignment,
        timings_ms={"align": (t1 - t0) * 1000, "identify": (t2 - t1 + t4 - t3) * 1000,
                    "marks": (t3 - t2) * 1000})


FULL_RESOLUTION_BELOW_DPI = 120.0
_RETRY_CODES = (Reject.NOT_A_SHEET, Reject.PARTIAL_SHEET, Reject.BAD_ALIGNMENT)


def _second_look(rec: Record) -> bool:
    """A page decoded at reduced scale deserves a full-resolution look when the sheet came out small (a phone
    photo where the sheet fills a third of the frame), a marker was missed, or no sheet was found at all."""
    if isinstance(rec, SheetFailure):
        return rec.reason_code in _RETRY_CODES
    return rec.alignment.get("dpi", 0.0) < FULL_RESOLUTION_BELOW_DPI or rec.alignment.get("markers", 4) < 4


def _worse(second: Record, first: Record) -> bool:
    """The full-resolution reading is worse than the reduced one when it failed where the first did not, or
    found fewer corner markers (a 3-marker fit can misplace bubbles by millimetres)."""
    if isinstance(second, SheetFailure):
        return isinstance(first, SheetReading)
    if isinstance(first, SheetFailure):
        return False
    return second.alignment.get("markers", 4) < first.alignment.get("markers", 4)


def read_ref(ref: PageRef, layout: Layout, options: LoadOptions) -> Record:
    """Load and read one page; any unexpected error becomes an INTERNAL failure (the batch goes on)."""
    t0 = time.perf_counter()
    try:
        page = load_page(ref, options)
        if isinstance(page, SheetFailure):
            return page
        t1 = time.perf_counter()
        rec = read_page(page, layout)
        first = page
        if page.scale > 1 and _second_look(rec):
            full = load_page(ref, replace(options, target_long_side_px=1 << 30))
            if not isinstance(full, SheetFailure):
                second = read_page(full, layout)
                if not _worse(second, rec):
                    page, rec = full, second
        if (rec.reason_code in _RETRY_CODES if isinstance(rec, SheetFailure)
                else rec.alignment.get("markers", 4) < 4):
            page, rec = _unsmeared(first, layout, page, rec)
        decode_ms = (t1 - t0) * 1000
        if isinstance(rec, SheetReading):
            return _with_timing(rec, decode=decode_ms, scale=page.scale)
        return SheetFailure(rec.source, rec.page, rec.reason_code, rec.reason, {**rec.timings_ms, "decode": decode_ms})
    except MemoryError:
        return SheetFailure(ref.path, ref.index + 1, Reject.TOO_LARGE, "out of memory while reading this page")
    except Exception as exc:  # noqa: BLE001 — a bad page must never kill the batch; reported with its type
        return SheetFailure(ref.path, ref.index + 1, Reject.INTERNAL,
                            f"internal error {type(exc).__name__}: {exc} (please report this file)")


UNSMEAR_LONG_SIDE_PX = 2000     # a smeared page is looked at this size (a phone's 4000 px frame: half)
SMEARED_RING_REL = -0.15        # on a smeared page, a bubble this much lighter than its blanks is ringed by ink


def _unsmeared(page: Page, layout: Layout, failed_page: Page, failed: Record) -> tuple[Page, Record]:
    """A phone moved during the shot smears the corner markers past recognition: when the page shows a straight
    motion smear (``omr.deblur``), the sheet is looked for again on the page deconvolved of it, and its marks read
    on the page as taken (a deconvolution's ringing must not make marks). The reading records the smear's length
    (``alignment.motion_blur_px``); the failure stands when the sheet is still not found. A sheet found by three
    of its markers (the fourth lost in the smear) is looked at the same way, and the new reading replaces it only
    when it finds all four."""
    if max(page.image.shape) > UNSMEAR_LONG_SIDE_PX:       # the cepstrum's square sees more of a smaller page
        f = UNSMEAR_LONG_SIDE_PX / max(page.image.shape)
        page = replace(page, image=cv2.resize(page.image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA),
                       scale=page.scale / f)
    smear = motion_blur(page.image, strict=False)
    if smear is None:
        return failed_page, failed
    again = read_page(page, layout, align_on=deconvolve(page.image, *smear))
    if not isinstance(again, SheetReading) or (isinstance(failed, SheetReading)
                                               and again.alignment["markers"] <= failed.alignment["markers"]):
        return failed_page, failed
    more = smeared_doubts(again, {g.key for g in layout.question_groups})
    flags = tuple(again.flags) + more
    return page, replace(again, flags=flags, status=Status.FLAGGED if flags else Status.OK,
                         alignment={**again.alignment, "motion_blur_px": round(smear[0], 1)})


def smeared_doubts(rec: SheetReading, keys: set[str]) -> tuple[Flag, ...]:
    """The doubts a motion smear adds to a sheet read on the page as taken: the smear also blurs what tells an
    X from a fill's overflow, residue from a light mark, so only plain marks are read as they are; every question
    (of ``keys``) holding anything else goes to a judge — residue, a cancelled or ambiguous bubble, two marks, a
    rule's decision, or a bubble lighter than the page's blanks (ink smeared all round it: a loop drawn round it
    blurs into its surround; blanks of smeared pages ≥ -0.06 of the page's mark level, such loops ≤ -0.24)."""
    flagged = {f.key for f in rec.flags if f.target == "question"}
    unsure = (MarkState.ERASED, MarkState.CANCELLED, MarkState.AMBIGUOUS)
    blank, mark = rec.alignment["blank_level"], rec.alignment["mark_level"]
    ringed = blank + SMEARED_RING_REL * max(mark - blank, 1e-6)
    return tuple(Flag("question", g.key, "blurred_mark", _DOUBT_TEXT["blurred_mark"].format(q=g.key),
                      min(g.confidence, 0.5), g.fills)
                 for g in rec.groups if g.key in keys and g.key not in flagged
                 and (g.rule is not None or len(g.marked) > 1 or any(st in unsure for st in g.states)
                      or min(g.fills) < ringed))


def _with_timing(rec: SheetReading, *, decode: float, scale: float) -> SheetReading:
    return replace(rec, timings_ms={"decode": decode, **rec.timings_ms},
                   alignment={**rec.alignment, "decode_scale": float(scale)})


# -- worker side ------------------------------------------------------------------------------------
_WORKER: dict[str, object] = {}


def _init_worker(layout: Layout, options: LoadOptions, *, in_pool: bool = False) -> None:
    import cv2
    if in_pool:
        start_worker()
    cv2.setNumThreads(1)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    _WORKER["layout"] = layout
    _WORKER["options"] = options


def _init_worker_in_pool(layout: Layout, options: LoadOptions) -> None:
    _init_worker(layout, options, in_pool=True)


def _work(refs: list[PageRef]) -> list[Record]:
    layout, options = _WORKER["layout"], _WORKER["options"]
    return [read_ref(r, layout, options) for r in refs]  # type: ignore[arg-type]


def _chunks(items: list[PageRef], n: int) -> Iterator[list[PageRef]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def run_pages(refs: list[PageRef], layout: Layout, options: ReadOptions, *,
              work: Callable[[list[PageRef]], list[Record]] | None = None) -> Iterator[Record]:
    """Read pages in input order: serially with one worker, else on a process pool. Ctrl-C cancels.

    A worker process that dies (a crash in a decoder, the kernel's OOM killer) breaks the pool; the batch goes
    on: the pages of the chunk that was waiting are read again one by one, each in a fresh process, and a
    page that kills its process again becomes a ``SheetFailure`` — never a lost page, never a dead batch.
    ``work`` replaces the worker function (tests pass one that crashes on purpose).
    """
    work = work or _work
    if options.workers <= 1 or len(refs) <= 1:
        _init_worker(layout, options.load)
        for ref in refs:
            yield read_ref(ref, layout, options.load)
        return
    size = max(1, min(options.chunk_pages, len(refs) // (options.workers * 4) or 1))
    chunks = list(_chunks(refs, size))
    done = 0
    while done < len(chunks):
        try:
            for recs in _pool_map(work, chunks[done:], layout, options, options.workers):
                done += 1
                yield from recs
        except BrokenProcessPool:
            for ref in chunks[done]:
                try:
                    yield from next(_pool_map(work, [[ref]], layout, options, 1))
                except BrokenProcessPool:
                    yield SheetFailure(ref.path, ref.index + 1, Reject.INTERNAL,
                                       "the reading process crashed on this page (it was tried twice, alone the "
                                       "second time); the rest of the batch was read — please report this file")
            done += 1


def _pool_map(work: Callable[[list[PageRef]], list[Record]], chunks: list[list[PageRef]], layout: Layout,
              options: ReadOptions, workers: int) -> Iterator[list[Record]]:
    """Results of ``work`` over ``chunks``, in order, from a fresh pool; cancels what is pending on exit."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=pool_context(),
                             initializer=_init_worker_in_pool, initargs=(layout, options.load)) as pool:
        futures = [pool.submit(work, c) for c in chunks]
        try:
            for fut in futures:
                yield fut.result()
        finally:
            for fut in futures:
                fut.cancel()


# -- the batch --------------------------------------------------------------------------------------
@dataclass
class ReadSummary:
    files: int = 0
    pages: int = 0
    status: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, rec: Record) -> None:
        self.pages += 1
        self.status[rec.status.value] += 1
        if isinstance(rec, SheetFailure):
            self.reasons[rec.reason_code.value] += 1

    @property
    def exit_code(self) -> ExitCode:
        if self.status["rejected"]:
            return ExitCode.FINISHED_WITH_REJECTS
        if self.status["flagged"]:
            return ExitCode.FINISHED_WITH_FLAGS
        return ExitCode.OK

    def text(self, workers: int) -> str:
        rate = self.pages / self.seconds if self.seconds > 0 else 0.0
        lines = [f"read {self.files} file(s), {self.pages} page(s) in {self.seconds:.1f} s "
                 f"({rate:.1f} pages/s, {workers} worker(s))",
                 f"  ok {self.status['ok']} · flagged {self.status['flagged']} · rejected {self.status['rejected']}"]
        if self.reasons:
            lines.append("  rejected because: " + ", ".join(f"{k} {v}" for k, v in self.reasons.most_common()))
        return "\n".join(lines)


def plan(inputs: list[str], options: LoadOptions) -> tuple[list[str], list[PageRef], list[SheetFailure]]:
    """Files found, the pages to read, and the files rejected before reading (each with a reason)."""
    files, failures = discover(inputs)
    require_files(inputs, files, failures)
    refs: list[PageRef] = []
    for f in files:
        planned = plan_pages(f, options)
        if isinstance(planned, SheetFailure):
            failures.append(planned)
        else:
            refs.extend(planned)
    return files, refs, failures


def _open_out(path: str) -> IO[str]:
    if path == "-":
        return sys.stdout
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc}") from None


def read_inputs(inputs: list[str], layout: Layout, *, json_out: str, options: ReadOptions,
                progress: bool = True, csv_out: str | None = None) -> ReadSummary:
    from .load import check_dependencies

    check_dependencies()
    files, refs, failures = plan(inputs, options.load)
    table = CsvWriter(csv_out, layout) if csv_out else None
    out = _open_out(json_out)
    t0 = time.perf_counter()
    summary = ReadSummary()
    summary.files = len(files) + sum(1 for f in failures if f.reason_code is Reject.NOT_FOUND)
    try:
        with _writing(json_out), Progress(total=len(refs) + len(failures), label="reading", enabled=progress) as bar:
            for rec in _records(failures, run_pages(refs, layout, options)):
                out.write(_JSON.encode(rec.to_json(detail=options.detail)) + "\n")
                if table is not None:
                    table.add(rec)
                summary.add(rec)
                bar.advance()
    finally:
        with _writing(json_out):
            out.close() if out is not sys.stdout else out.flush()
        if table is not None:
            with _writing(csv_out or ""):
                table.close()
    summary.seconds = time.perf_counter() - t0
    print(summary.text(options.workers), file=sys.stderr)
    return summary


# one encoder for the whole batch (``json.dumps`` with options builds one per call); records hold no cycles
_JSON = json.JSONEncoder(ensure_ascii=False, check_circular=False)


@contextmanager
def _writing(path: str) -> Iterator[None]:
    """A failed write of the results (a full disk, ``/dev/full``, a closed pipe's peer gone) is ``OutputError``."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}; free some space or choose another "
                          "--json-out") from None


def _records(first: Iterable[Record], rest: Iterable[Record]) -> Iterator[Record]:
    yield from first
    yield from rest
