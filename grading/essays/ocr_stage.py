"""The OCR stage (``omr ocr``): every essay waiting in the store read as a small task, in a process pool, on a Dask
cluster or serially, with the parent storing each text as it arrives.

Each pending essay becomes a small picklable ``OcrTask``; a process pool (serial twin with one worker) or a Dask
cluster runs ``ocr_task`` — an essay page goes through ``omr.ocr.ocr_page`` (text layer of a born-digital PDF
page, else OCR at full resolution); an essay box of a sheet is cropped upright at the OCR resolution
(``omr.ocr.essaybox.crop_region``), its printed label and border lines painted white (``blank_printed_marks``:
the text is only what the participant wrote) and read by ``omr.ocr.ocr_image`` as an upright image (never turned:
a box holding one line cannot show its direction). Only the parent writes, one essay per transaction, and only
essays still pending: a killed run resumes with what is pending and never writes an essay twice.

``OcrTally`` counts what one run did; its ``exit_code`` is the command's (4: an essay failed in this run, 3: one
was read with low confidence). ``ocr_file`` reads one image or PDF without a store (``omr ocr FILE``).
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from omr.errors import ExitCode, InputError
from omr.layout import EssayBox, Layout, Rect
from omr.load import LoadOptions, PageRef, discover, plan_pages
from omr.paths import display_source, display_text
from omr.progress import Progress
from omr.records import SheetFailure
from omr.workers import pool_context, start_worker

from ..store import EssayToRead, Store


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
    from omr.ocr import ocr_page
    from omr.ocr.essaybox import EssayBoxError, read_essay_box

    load = ocr_load_options(ocr)
    try:
        if task.region is None:
            res = ocr_page(task.ref, ocr, load=load)
        else:
            if layout is None:
                return OcrOutcome(task.key, failure="an essay box needs the contest's layout")
            res = read_essay_box(task.ref, layout, task.region, getattr(task, "label", None), ocr, load=load)
    except EssayBoxError as exc:
        return OcrOutcome(task.key, failure=exc.message)
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
        from ..cluster import dask_map

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
    from ..hashing import file_digest

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
