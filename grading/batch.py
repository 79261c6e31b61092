"""Grade a whole contest: files → content hashes → pages → readings → one stored, scored submission per file.

The parent process does all the bookkeeping and every write; the reader's own executor (``omr.read.run_pages``,
a process pool with a serial twin) or a Dask cluster reads the pages. Steps:

1. ``contest.load_contest``: layout and keys, validated against each other (``LayoutError``, exit 5), first.
2. ``discover`` the inputs; hash each file (sha256, streamed). A file whose content the store already holds
   is skipped (a re-run or a resumed run adds nothing). A second file with the same content as another one
   (in this run or already stored under another path) is recorded as a *rejected* submission whose reason
   says ``duplicate of <path>`` — never dropped silently. Its stored hash is derived from the content hash
   and its own path, so re-runs skip it too.
3. ``plan_pages``: a file rejected here is recorded at once (with its hash, size and the failure).
   A submission is a sequence of pages: pages the reader finds no sheet on (``not_a_sheet``) are recorded as the
   submission's *essay pages* (``grading.essays.assign_essay_pages``), each essay pending OCR (``omr ocr``).
4. Pages are read in input order; as soon as the last page of a file is in, the parent records the whole file
   in ONE transaction (``Store.record_submission``). A ``kill -9`` therefore loses at most the files being
   read; the next run reads exactly those again.

Inputs that do not exist (or cannot be opened at all) have no content to identify them by: they are reported
in the run's summary and make the exit code 4, but they are not stored as submissions.
"""
from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import timezone, tzinfo
from typing import Any, Callable

from omr.errors import ExitCode
from omr.layout import Layout
from omr.load import LoadOptions, PageRef, discover, plan_pages, require_files
from omr.paths import display_source
from omr.progress import Progress
from omr.read import ReadOptions, run_pages
from omr.records import Flag, Reject, SheetFailure, SheetReading, Status

from .cluster import dask_map
from .contest import Contest, load_roster
from .essays import assign_essay_pages
from .db.discards import Discards, discarded
from .db.queries import problems_by_reason
from .db.submissions import sources_by_hash
from .hashing import duplicate_digest, file_digest
from .i18n import ENGLISH, Say
from .keys import KeySet
from .store import EssayCounts, Store
from .typed import TypedReader, document_kind

Record = SheetReading | SheetFailure


@dataclass(frozen=True, slots=True)
class GradeOptions:
    workers: int = 1
    scheduler: str | None = None           # a Dask scheduler address (tcp://host:port), else local processes
    chunk_pages: int = 16                  # pages per task sent to a worker
    progress: bool = True
    unit: str | None = None                # the unit that collected these files (recorded per submission)
    load: LoadOptions = field(default_factory=LoadOptions)
    participants: Mapping[str, str] = field(default_factory=dict)   # content hash → participant id of a typed
                                                                     # entry (ingestion: its entrant)


@dataclass
class RunTally:
    """What one ``grade`` run did (the store's accounting is ``Accounting``)."""

    files: int = 0                         # files found
    already: int = 0                       # skipped: their content is already recorded
    recorded: int = 0                      # new submissions written by this run (duplicates included)
    duplicates: list[tuple[str, str]] = field(default_factory=list)      # (path, duplicate of)
    not_recorded: list[SheetFailure] = field(default_factory=list)       # inputs with no content to store
    pages_read: int = 0
    page_status: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    interrupted: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"files": self.files, "already_recorded": self.already, "recorded": self.recorded,
                "duplicates": len(self.duplicates), "not_recorded": len(self.not_recorded),
                "pages_read": self.pages_read, "pages": dict(self.page_status),
                "seconds": round(self.seconds, 3), "interrupted": self.interrupted}

    def text(self, how: str, say: Say = ENGLISH) -> str:
        rate = self.pages_read / self.seconds if self.seconds > 0 else 0.0
        lines = [say(f"this run: {self.files} file(s) found · {self.recorded} recorded · {self.already} already "
                     f"recorded (skipped) · {len(self.duplicates)} duplicate(s) · {self.pages_read} page(s) read in "
                     f"{self.seconds:.1f} s ({rate:.1f} pages/s, {how})",
                     f"lần chạy này: tìm thấy {self.files} tệp · ghi mới {self.recorded} · {self.already} đã có từ "
                     f"trước (bỏ qua) · {len(self.duplicates)} bản trùng · đọc {self.pages_read} trang trong "
                     f"{say.decimal(self.seconds)} giây ({say.decimal(rate)} trang/giây, {how})")]
        for path, of in self.duplicates:
            lines.append(say(f"  duplicate: {display_source(path)} (same content as {display_source(of)})",
                             f"  bản trùng: {display_source(path)} (cùng nội dung với {display_source(of)})"))
        for f in self.not_recorded:
            lines.append(say(f"  not recorded ({f.reason_code.value}): {f.reason}",
                             f"  không ghi được ({f.reason_code.value}): {f.reason}"))
        if self.interrupted:
            lines.append(say("  INTERRUPTED: what is recorded stays; run the same command again to finish",
                             "  ĐÃ DỪNG GIỮA CHỪNG: những gì đã ghi vẫn còn; chạy lại đúng lệnh này để làm tiếp"))
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class _File:
    path: str
    digest: str
    size: int


def _same_path(a: str, b: str) -> bool:
    return a == b or os.path.realpath(a) == os.path.realpath(b)


# ---------------------------------------------------------------------------------------------------
# Reading: local processes or a Dask cluster; both yield records in input order
# ---------------------------------------------------------------------------------------------------
ReadPages = Callable[[list[PageRef], Layout, GradeOptions], Iterator[Record]]


def read_local(refs: list[PageRef], layout: Layout, options: GradeOptions) -> Iterator[Record]:
    return run_pages(refs, layout, ReadOptions(workers=options.workers, chunk_pages=options.chunk_pages,
                                               load=options.load))


def _read_chunk(refs: list[PageRef], layout: Layout, load: LoadOptions) -> list[Record]:
    """A Dask task: read a few pages on a cluster worker (never raises for a bad page)."""
    from omr.read import read_ref

    return [read_ref(r, layout, load) for r in refs]


def read_dask(refs: list[PageRef], layout: Layout, options: GradeOptions) -> Iterator[Record]:
    """Read pages on an existing Dask cluster, ``chunk_pages`` pages per task, yielding records in input order."""
    assert options.scheduler is not None
    return dask_map(options.scheduler, _read_chunk, refs, chunk=options.chunk_pages, shared=layout,
                    args=(options.load,))


# ---------------------------------------------------------------------------------------------------
# The batch
# ---------------------------------------------------------------------------------------------------
def grade(inputs: list[str], contest: Contest, store: Store, options: GradeOptions, *,
          run_id: int | None = None, read_pages: ReadPages | None = None,
          tally: RunTally | None = None) -> RunTally:
    """Grade ``inputs`` into ``store``. Returns this run's tally; the store holds the results.

    ``read_pages`` replaces the page reader (tests inject faults this way). Pass ``tally`` to keep the counts
    when ``KeyboardInterrupt`` propagates (``tally.interrupted`` is then set): every submission recorded
    before it stays recorded, and the next run resumes after it.
    """
    if read_pages is None:
        read_pages = read_dask if options.scheduler else read_local
    t0 = time.perf_counter()
    tally = RunTally() if tally is None else tally
    roster = load_roster(contest.folder, contest.layout)         # a roster that cannot be read: exit 9, first
    record = _Recorder(store, contest.keys, tuple(e.id for e in contest.layout.essays), options.unit, run_id, tally,
                       None if roster is None else frozenset(p.id for p in roster.people))
    typed = TypedReader(contest, roster, options.participants)
    try:
        found, missing = discover(inputs)
        require_files(inputs, found, missing)
        tally.files = len(found)
        tally.not_recorded.extend(missing)
        new = _new_files(found, sources_by_hash(store), tally, record)
        refs, reading = _plan(_typed_entries(new, typed, record, options), options, record)
        _read_all(refs, reading, contest.layout, options, read_pages, tally, _ScanOrSheet(record, typed))
    except KeyboardInterrupt:
        tally.interrupted = True
        raise
    finally:
        tally.seconds = time.perf_counter() - t0
    return tally


@dataclass(frozen=True, slots=True)
class _Recorder:
    """Records one file's pages as one submission and counts it in the run's tally."""
    store: Store
    keys: KeySet | None
    regions: tuple[str, ...]               # the layout's essay boxes
    unit: str | None
    run_id: int | None
    tally: RunTally
    roster: frozenset[str] | None = None   # the contest's participant ids, when it has a roster

    def __call__(self, f: _File, results: list[Record], *, read: bool = False, typed: bool = False) -> None:
        # pages that are not answer sheets are the submission's essay pages (never rejected); a typed entry's
        # records are made whole by ``grading.typed``
        assigned = list(results) if typed else [off_roster(r, self.roster) for r in assign_essay_pages(results)]
        if read:
            for r in assigned:
                self.tally.page_status[r.status if isinstance(r.status, str) else r.status.value] += 1
        res = self.store.record_submission(f.path, f.digest, f.size, assigned, self.keys, run_id=self.run_id,
                                           essay_regions=self.regions, unit=self.unit)
        if res.created:
            self.tally.recorded += 1
        else:
            self.tally.already += 1


@dataclass(frozen=True, slots=True)
class _ScanOrSheet:
    """Records a file the page reader has read: a scan of a typed entry (no sheet among its pages, answers read
    by the OCR) as a typed entry, anything else as its pages."""
    record: _Recorder
    typed: TypedReader

    def __call__(self, f: _File, results: list[Record], *, read: bool = False) -> None:
        entry = self.typed.scanned_entry(f.path, results)
        if entry is None:
            self.record(f, results, read=read)
        else:
            self.record(f, self.typed.records(entry, f.digest), read=read, typed=True)  # type: ignore[arg-type]


NOT_ON_ROSTER = "not_on_roster"


def off_roster(rec: Record, roster: frozenset[str] | None) -> Record:
    """A sheet whose participant id is read but is not on the contest's roster, flagged for the organisers (a
    mis-marked id, or someone the roster missed): never counted under an id nobody has checked."""
    if roster is None or not isinstance(rec, SheetReading) or rec.participant is None or rec.participant in roster:
        return rec
    flag = Flag("participant", None, NOT_ON_ROSTER,
                f"Số báo danh {rec.participant} không có trong danh sách thí sinh: kiểm tra các ô số báo danh đã tô; "
                "sửa số báo danh, hoặc xác nhận thí sinh ngoài danh sách", 0.5)
    status = Status.REJECTED if rec.status is Status.REJECTED else Status.FLAGGED
    return replace(rec, status=status, flags=(*rec.flags, flag))


def _new_files(found: list[str], known: dict[str, str], tally: RunTally, record: _Recorder) -> list[_File]:
    """Hash every file found: the files whose content is new, in order. A file that cannot be read is counted
    as not recorded, content already stored under the same path is skipped, and a second copy of some content
    (in this run, or stored under another path) is recorded at once as a rejected duplicate."""
    seen: dict[str, str] = {}                       # content digest → first path in this run
    new: list[_File] = []
    for given in found:
        path = os.path.abspath(given)
        try:
            digest, size = file_digest(path)
        except OSError as exc:
            code = Reject.NOT_FOUND if isinstance(exc, FileNotFoundError) else Reject.UNREADABLE
            tally.not_recorded.append(SheetFailure(path, None, code, f"{path} cannot be read "
                                                   f"({exc.strerror or exc}); check it and run again"))
            continue
        original = seen.get(digest)
        if original is None and digest in known and not _same_path(known[digest], path):
            original = known[digest]
        if original is None:
            if digest in known:
                tally.already += 1
                continue
            seen[digest] = path
            new.append(_File(path, digest, size))
            continue
        dup = _File(path, duplicate_digest(digest, path), size)
        tally.duplicates.append((path, original))
        if dup.digest in known:
            tally.already += 1
            continue
        record(dup, [SheetFailure(path, None, Reject.DUPLICATE,
                                  f"duplicate of {original}: the same file content was already submitted; "
                                  "remove one of the two copies (nothing from this copy is counted)")])
    return new


def _typed_entries(new: list[_File], typed: TypedReader, record: _Recorder, options: GradeOptions) -> list[_File]:
    """Record the typed entries among ``new`` (DOCX, ODT, plain text, a PDF whose text layer answers the
    questions), each as one submission; returns the files left for the page reader (scans, PDFs of sheets)."""
    left: list[_File] = []
    for f in new:
        kind = document_kind(f.path)
        if kind is None:
            left.append(f)
            continue
        entry = typed.read(f.path)
        if kind == "pdf" and not typed.is_entry(entry, options.load):
            left.append(f)
            continue
        if isinstance(entry, SheetFailure):
            record(f, [entry], read=True)
        else:
            record(f, typed.records(entry, f.digest), read=True, typed=True)  # type: ignore[arg-type]
        record.tally.pages_read += 1
    return left


def _plan(new: list[_File], options: GradeOptions, record: _Recorder) -> tuple[list[PageRef], list[tuple[_File, int]]]:
    """The pages to read, and the files they come from with their page counts; a file that cannot be split
    into pages is recorded (rejected) at once."""
    refs: list[PageRef] = []
    reading: list[tuple[_File, int]] = []
    for f in new:
        planned = plan_pages(f.path, options.load)
        if isinstance(planned, SheetFailure):
            record(f, [planned])
            continue
        refs.extend(planned)
        reading.append((f, len(planned)))
    return refs, reading


def _read_all(refs: list[PageRef], reading: list[tuple[_File, int]], layout: Layout, options: GradeOptions,
              read_pages: ReadPages, tally: RunTally, record: _ScanOrSheet) -> None:
    """Read every page in input order, recording each file as soon as its last page is in."""
    with Progress(total=len(refs), label="grading", enabled=options.progress) as bar:
        pending = iter(reading)
        current, need = next(pending, (None, 0))
        buf: list[Record] = []
        for rec in read_pages(refs, layout, options):
            tally.pages_read += 1
            if current is None or rec.source != current.path:
                raise AssertionError(f"page of {rec.source} arrived while reading "
                                     f"{current.path if current else 'nothing'}")
            buf.append(rec)
            if len(buf) == need:
                record(current, buf, read=True)
                buf = []
                current, need = next(pending, (None, 0))
            bar.advance()
        if current is not None:
            raise AssertionError(f"the reader stopped before the last page of {current.path}")


# ---------------------------------------------------------------------------------------------------
# Accounting from the store (``omr grade`` ends with it; ``omr status`` prints it again)
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Accounting:
    counts: dict[str, int]                 # Store.counts()
    rejected_by: dict[str, int]            # rejected pages by reason code
    open_flags_by: dict[str, int]          # open flags by reason
    essays: EssayCounts | None = None      # essay pages and regions, and their OCR
    discards: Discards | None = None       # pages an organiser took out (``omr discard``)
    tz: tzinfo = timezone.utc              # the contest's time zone, for the times shown

    @property
    def exit_code(self) -> ExitCode:
        c = self.counts
        if c["submissions_rejected"] or c["pages_rejected"]:
            return ExitCode.FINISHED_WITH_REJECTS
        if c["submissions_flagged"] or c["pages_flagged"] or c["flags_open"]:
            return ExitCode.FINISHED_WITH_FLAGS
        return ExitCode.OK

    def text(self, say: Say = ENGLISH) -> str:
        c, e, d = self.counts, self.essays, self.discards
        rows = [(say("graded (ok)", "đã chấm (ổn)"), "ok"), (say("flagged", "cần xem"), "flagged"),
                (say("rejected", "bị loại"), "rejected")]
        lines = [f"{'':<{W}}{say('files', 'tệp'):>8}{say('pages', 'trang'):>8}"]
        for label, s in rows:
            lines.append(f"{label:<{W}}{c[f'submissions_{s}']:>8}{c[f'pages_{s}']:>8}")
        if e is not None and e.pages:
            lines.append(f"{say('essay pages', 'trang tự luận'):<{W}}{'':>8}{e.pages:>8}")
        if d is not None and d.pages:
            lines.append(f"{say('discarded', 'đã loại bỏ'):<{W}}{d.files:>8}{len(d.pages):>8}")
        lines.append(f"{say('total', 'tổng'):<{W}}{c['submissions']:>8}{c['pages']:>8}")
        lines.append(say(f"pages scored: {c['pages_graded']} final · open flags: {c['flags_open']} · "
                         f"resolved flags: {c['flags_resolved']} · pages without a key: {c['pages_no_key']}",
                         f"trang đã có điểm: {c['pages_graded']} · cờ chưa xử lý: {c['flags_open']} · "
                         f"cờ đã xử lý: {c['flags_resolved']} · trang chưa có đáp án: {c['pages_no_key']}"))
        if self.rejected_by:
            lines.append(say("rejected because: ", "bị loại vì: ")
                         + ", ".join(f"{k} {v}" for k, v in _by_count(self.rejected_by)))
        if self.open_flags_by:
            lines.append(say("open flags: ", "cờ chưa xử lý theo lý do: ")
                         + ", ".join(f"{k} {v}" for k, v in _by_count(self.open_flags_by)))
        if e is not None and (e.pages or e.regions):
            lines.append(self._essay_line(e, say))
        if d is not None:
            lines += self._discarded_lines(d, say)
        return "\n".join(lines)

    @staticmethod
    def _essay_line(e: EssayCounts, say: Say) -> str:
        pairs = f" · near-duplicate pairs {e.duplicate_pairs}" if e.duplicate_pairs else ""
        if say.language != "vi":
            return (f"essays: {e.pages} page(s) ({e.no_participant} without a participant), {e.regions} region(s) · "
                    f"OCR pending {e.pending}, done {e.done} ({e.unreliable} low confidence), failed {e.failed}"
                    + pairs + (" — run `omr ocr --contest DIR`" if e.pending else ""))
        return (f"tự luận: {e.pages} trang ({e.no_participant} chưa biết của ai), {e.regions} ô tự luận · OCR chờ "
                f"{e.pending}, xong {e.done} ({e.unreliable} độ tin cậy thấp), lỗi {e.failed}"
                + (f" · cặp bài gần giống nhau {e.duplicate_pairs}" if e.duplicate_pairs else "")
                + (" — chạy `omr ocr --contest DIR`" if e.pending else ""))

    def _discarded_lines(self, d: Discards, say: Say) -> list[str]:
        out = [say(f"discarded page {p.page_id} ({p.source}, page {p.page_no}): {p.note(self.tz)}",
                   f"trang đã loại bỏ {p.page_id} ({p.source}, trang {p.page_no}): {p.note(self.tz)}")
               for p in d.pages[:SHOWN_DISCARDS]]
        if len(d.pages) > SHOWN_DISCARDS:
            more = len(d.pages) - SHOWN_DISCARDS
            out.append(say(f"… and {more} more discarded page(s): see the export's issues list or "
                           "`omr audit --action discard_page`",
                           f"… và {more} trang đã loại bỏ khác: xem danh sách vấn đề trong bản xuất hoặc "
                           "`omr audit --action discard_page`"))
        return out


W = 14                       # the width of the accounting table's first column
SHOWN_DISCARDS = 20          # discarded pages listed by name in the accounting; the rest are counted


def _by_count(d: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))


def accounting(store: Store, tz: tzinfo = timezone.utc) -> Accounting:
    """The store's accounting; times of discards are shown in ``tz`` (the contest's time zone)."""
    counts = store.counts()
    rejected, open_flags = problems_by_reason(store)
    return Accounting(counts, rejected, open_flags, store.essay_counts(), discarded(store), tz)


def run_exit_code(tally: RunTally, acc: Accounting) -> ExitCode:
    """The store's state decides (so a re-run returns the same code); inputs that were not even there
    count as rejects of this run."""
    if tally.not_recorded:
        return ExitCode.FINISHED_WITH_REJECTS
    return acc.exit_code
