"""``omr read … --csv FILE``: one row per sheet read, in OMRChecker's column layout, so that scripts written for
OMRChecker's results CSV keep working: ``file_id``, ``input_path``, ``output_path``, ``score``, then the
template's ``outputColumns`` (its custom labels joined, a blank field written as its ``emptyValue``).

``output_path`` (OMRChecker's marked-up image) and ``score`` (``omr grade`` scores) are left empty. A page
that could not be read has no row: the JSON Lines output carries it with the reason.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import IO

from .errors import OutputError
from .layout import GroupKind, Layout
from .layout_fields import OutputSpec
from .records import SheetFailure, SheetReading

FIXED = ("file_id", "input_path", "output_path", "score")


def default_output(layout: Layout) -> OutputSpec:
    """Columns for a layout that has no OMRChecker settings: every group by its id."""
    names = [g.name or g.key for g in layout.question_groups] + list(layout.numeric_ids)
    pid = layout.digit_groups(GroupKind.PARTICIPANT)
    ver = layout.digit_groups(GroupKind.VERSION)
    custom = (("participant", tuple(g.name or f"participant{g.key}" for g in pid)),) if pid else ()
    custom += (("version", tuple(g.name or f"version{g.key}" for g in ver)),) if ver else ()
    return OutputSpec(columns=tuple(([c for c, _ in custom]) + names), custom_labels=custom, empty_value="",
                      empty_of=())


class CsvWriter:
    def __init__(self, path: str, layout: Layout):
        self.layout = layout
        self.spec = layout.output or default_output(layout)
        groups = (layout.question_groups + layout.digit_groups(GroupKind.PARTICIPANT)
                  + layout.digit_groups(GroupKind.VERSION))
        self.names = [g.name or g.key for g in groups]
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.fh: IO[str] = open(path, "w", newline="", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc}") from None
        self.out = csv.writer(self.fh, quoting=csv.QUOTE_NONNUMERIC)
        self.out.writerow([*FIXED, *self.spec.columns])
        self.rows = 0

    def add(self, rec: SheetReading | SheetFailure) -> None:
        if not isinstance(rec, SheetReading):
            return
        values = {name: (g.marked or self.spec.empty(name)) for name, g in zip(self.names, rec.groups)}
        values.update({q: rec.answers.get(q) or self.spec.empty(q) for q in self.layout.numeric_ids})
        joined = {col: "".join(values.get(p, self.spec.empty(p)) for p in parts)
                  for col, parts in self.spec.custom_labels}
        name = Path(rec.source).name + (f"#{rec.page}" if rec.page > 1 else "")
        row = [name, rec.source, "", ""]
        row += [joined[c] if c in joined else values.get(c, self.spec.empty(c)) for c in self.spec.columns]
        self.out.writerow(row)
        self.rows += 1

    def close(self) -> None:
        self.fh.close()
