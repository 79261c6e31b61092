"""Exceptions that carry exit codes. Exactly one place (``omr.cli``) maps them to a process exit.

Per-file problems inside a batch are *not* raised to the top: they become ``SheetFailure`` records and the
batch goes on (see ``omr.records``). The exceptions here are for things that stop a whole command.
"""
from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    INTERNAL = 1                 # a bug: please report it with the traceback
    BAD_ARGS = 2                 # argparse uses 2 as well
    FINISHED_WITH_FLAGS = 3      # everything read, some pages need a human (flagged)
    FINISHED_WITH_REJECTS = 4    # finished, some files/pages could not be read at all (rejected)
    BAD_LAYOUT = 5               # the layout or answer key is invalid
    MISSING_DEPENDENCY = 6       # a program, language pack or font is not installed
    DATABASE = 7                 # the results store cannot be opened or written
    OUTPUT = 8                   # an output path cannot be written
    INPUT = 9                    # a single-input command got an unreadable input
    NOT_YET = 10                 # a feature that is not built yet
    NO_INPUT = 11                # the inputs hold no file at all (an empty folder)
    MAILBOX = 12                 # a mail server (IMAP, SMTP) cannot be reached, refused the login, or went away
    INTERRUPTED = 130            # Ctrl-C
    TERMINATED = 143             # SIGTERM (128 + 15, what a shell reports for a process it ended)


# what each exit code means and what to do next, for people who read Vietnamese (printed above the error's own
# English detail when the contest's language is vi)
HEADLINES_VI: dict[ExitCode, str] = {
    ExitCode.INTERNAL: "lỗi trong chương trình: hãy gửi toàn bộ thông báo này cho nhóm kỹ thuật",
    ExitCode.BAD_ARGS: "lệnh chưa đúng: xem lại tham số (chi tiết bên dưới, hoặc chạy lệnh với --help)",
    ExitCode.BAD_LAYOUT: "tệp của cuộc thi (mẫu phiếu, đáp án, thang điểm, thiết lập…) có lỗi: sửa tệp được nêu "
                         "rồi chạy lại; `omr check --contest DIR` liệt kê mọi lỗi",
    ExitCode.MISSING_DEPENDENCY: "máy còn thiếu chương trình hoặc gói cần thiết: cài theo hướng dẫn bên dưới "
                                 "(hoặc chạy `make run`)",
    ExitCode.DATABASE: "không mở hoặc không ghi được kho kết quả: kiểm tra đường dẫn --db và quyền ghi",
    ExitCode.OUTPUT: "không ghi được tệp ra: chọn nơi ghi khác (và đóng tệp nếu đang mở trong Excel)",
    ExitCode.INPUT: "không đọc được tệp đầu vào: kiểm tra tệp được nêu bên dưới",
    ExitCode.NOT_YET: "chức năng này chưa được xây dựng",
    ExitCode.NO_INPUT: "không có tệp nào để đọc: kiểm tra thư mục đầu vào",
}


class OmrError(Exception):
    """Base class: a message that says what to do next, and an exit code."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, details: list[str] | tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.details = tuple(details)

    def __str__(self) -> str:
        if not self.details:
            return self.message
        return self.message + "\n" + "\n".join(f"  - {d}" for d in self.details)


class BadArguments(OmrError):
    exit_code = ExitCode.BAD_ARGS


class LayoutError(OmrError):
    """The sheet layout (or an answer key) is invalid. ``details`` lists every problem with its field path."""

    exit_code = ExitCode.BAD_LAYOUT


class MissingDependency(OmrError):
    exit_code = ExitCode.MISSING_DEPENDENCY


class OutputError(OmrError):
    exit_code = ExitCode.OUTPUT


class InputError(OmrError):
    """A single input that a command needed could not be read (in a batch this becomes a rejection)."""

    exit_code = ExitCode.INPUT


class NoInput(OmrError):
    """The folders given hold no file to read: nothing was done (a wrong folder, or scans not copied yet)."""

    exit_code = ExitCode.NO_INPUT


class NotYet(OmrError):
    exit_code = ExitCode.NOT_YET


class Terminated(KeyboardInterrupt):
    """SIGTERM: the command stops the way Ctrl-C stops it (a ``KeyboardInterrupt``: pending work is cancelled,
    what is stored stays, a re-run resumes), and exits with ``ExitCode.TERMINATED``."""

    exit_code = ExitCode.TERMINATED


class AlignmentError(Exception):
    """The page could not be mapped onto the layout. Carries a reason code and a human message.

    Raised by ``omr.align``; the batch turns it into a rejected page. Never a NaN matrix or ``None``.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
