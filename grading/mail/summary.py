"""What an ingest run did, and what the store holds, per state and per collecting unit — for people, in the
contest's language."""
from __future__ import annotations

from collections import Counter
from typing import Any

from ..i18n import Say

MESSAGE_STATES = ("taken", "no_entry", "rejected", "ignored")
ENTRY_STATES = ("pending", "graded", "late", "superseded")
LABELS = {
    "vi": {"taken": "có bài", "no_entry": "không có bài", "rejected": "bị từ chối", "ignored": "thư tự động",
           "pending": "chờ chấm", "graded": "đã chấm", "late": "nộp muộn", "superseded": "bị thay thế",
           "messages": "Thư", "entries": "Bài dự thi", "unit": "Đơn vị", "total": "Tổng", "flagged": "có cờ",
           "run": "Lần này: {n} thư trong hộp thư · {new} thư mới · {old} đã có (bỏ qua) · {s} giây",
           "vanished": "  thư biến mất khi đang đọc ({key}): {error}", "none": "(chưa có)"},
    "en": {"taken": "taken", "no_entry": "no entry", "rejected": "rejected", "ignored": "ignored",
           "pending": "pending", "graded": "graded", "late": "late", "superseded": "superseded",
           "messages": "Messages", "entries": "Entries", "unit": "Unit", "total": "Total", "flagged": "flagged",
           "run": "this run: {n} message(s) in the mailbox · {new} new · {old} already recorded (skipped) · {s} s",
           "vanished": "  vanished while reading ({key}): {error}", "none": "(none)"},
}


def _line(title: str, counts: Counter, states: tuple[str, ...], w: dict[str, str]) -> str:
    total = sum(counts[s] for s in states)
    return f"{title}: {total} — " + " · ".join(f"{w[s]} {counts[s]}" for s in states)


def run_text(tally: Any, language: str) -> str:
    w = LABELS.get(language, LABELS["vi"])
    new = sum(tally.states.values())
    lines = [w["run"].format(n=tally.messages, new=new, old=tally.already, s=Say(language).decimal(tally.seconds)),
             "  " + _line(w["messages"], tally.states, MESSAGE_STATES, w),
             "  " + _line(w["entries"], tally.entries, ENTRY_STATES, w)]
    lines += [w["vanished"].format(key=v.key, error=v.error) for v in tally.vanished]
    return "\n".join(lines)


FLAG_LABELS = {
    "vi": {"identity_pending": "chưa rõ người dự thi", "age_unknown": "chưa rõ tuổi", "under_age": "dưới 12 tuổi",
           "staff": "thuộc Ban Tổ chức/Giám khảo", "duplicate_participant": "có thể trùng người", "late": "nộp muộn",
           "received_unknown": "không rõ thời điểm nhận"},
    "en": {"identity_pending": "identity pending", "age_unknown": "age unknown", "under_age": "under 12",
           "staff": "on the staff list", "duplicate_participant": "possibly the same person", "late": "late",
           "received_unknown": "time received unknown"},
}


def flags_text(flags: Counter, language: str) -> str:
    """Entries by flag: kept, never ranked until an organiser decides."""
    labels = FLAG_LABELS.get(language, FLAG_LABELS["vi"])
    head = "Bài dự thi cần xem" if language == "vi" else "Entries to check"
    return f"{head}: " + " · ".join(f"{labels.get(k, k)} {n}" for k, n in sorted(flags.items()))


def store_text(messages: Counter, entries: Counter, language: str, flagged: Counter | None = None) -> str:
    """Messages and entries per state per collecting unit (rows), with a total row; with ``flagged`` (entries
    kept out of rankings by a flag, per unit) a last column of those."""
    w = LABELS.get(language, LABELS["vi"])
    units = sorted({u for u, _ in messages} | {u for u, _ in entries}, key=lambda u: (u is None, u or ""))
    head = [w["unit"], *(w[s] for s in MESSAGE_STATES), "|", *(w[s] for s in ENTRY_STATES)]
    if flagged is not None:
        head.append(w["flagged"])
    rows = [head]
    for u in [*units, "__total__"]:
        if u == "__total__":
            m = Counter({s: sum(n for (_, st), n in messages.items() if st == s) for s in MESSAGE_STATES})
            e = Counter({s: sum(n for (_, st), n in entries.items() if st == s) for s in ENTRY_STATES})
            name = w["total"]
        else:
            m = Counter({s: messages[(u, s)] for s in MESSAGE_STATES})
            e = Counter({s: entries[(u, s)] for s in ENTRY_STATES})
            name = u or "?"
        rows.append([name, *(str(m[s]) for s in MESSAGE_STATES), "|", *(str(e[s]) for s in ENTRY_STATES)])
        if flagged is not None:
            rows[-1].append(str(sum(flagged.values()) if u == "__total__" else flagged[u]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    out = [f"{w['messages']} | {w['entries']}"]
    out += ["  ".join(c.rjust(wd) if i else c.ljust(wd) for i, (c, wd) in enumerate(zip(r, widths))).rstrip()
            for r in rows]
    return "\n".join(out)
