"""A born-digital PDF page's own text: taken as it is when the page draws visible text (not only an invisible OCR
layer) and is not a scan with a stamp on it."""
from __future__ import annotations

import unicodedata

from .. import external
from ..load import PageRef
from ..paths import for_library

_MIN_TEXT_LAYER_CHARS = 20
_MIN_TEXT_WITH_IMAGE = 300        # letters: less than this next to an image is a stamp on a scan


def visible_text(path: str, index: int) -> tuple[bool, bool]:
    """(draws visible text — not only an invisible OCR layer —, draws an image) for PDF page ``index``."""
    import pikepdf

    with pikepdf.open(for_library(path)) as pdf:
        page = pdf.pages[index]
        seen: set[tuple[int, int]] = set()
        images = [False]

        def scan(obj, depth: int) -> bool:
            try:
                instructions = pikepdf.parse_content_stream(obj)
            except pikepdf.PdfError:
                return False
            mode = 0
            stack: list[int] = []
            xobjs = None
            try:
                res = obj.get("/Resources")
                xobjs = res.get("/XObject") if res is not None else None
            except (AttributeError, pikepdf.PdfError):
                xobjs = None
            for ins in instructions:
                op = str(ins.operator)
                if op == "q":
                    stack.append(mode)
                elif op == "Q" and stack:
                    mode = stack.pop()
                elif op == "Tr":
                    mode = int(ins.operands[0])
                elif op in ("Tj", "TJ", "'", '"') and mode != 3:
                    return True
                elif op == "Do" and depth < 3 and xobjs is not None:
                    x = xobjs.get(str(ins.operands[0]))
                    if x is not None and x.get("/Subtype") == "/Image":
                        images[0] = True
                    if x is not None and x.get("/Subtype") == "/Form" and x.objgen not in seen:
                        seen.add(x.objgen)
                        if scan(x, depth + 1):
                            return True
            return False

        return scan(page, 0), images[0]


def _clean_layout_text(raw: str) -> str:
    """pdftotext -layout output → paragraphs (blank-line separated) of space-joined lines, NFC."""
    text = unicodedata.normalize("NFC", raw.replace("\f", "\n"))
    paras, cur = [], []
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            cur.append(line)
        elif cur:
            paras.append(" ".join(cur))
            cur = []
    if cur:
        paras.append(" ".join(cur))
    return "\n\n".join(paras)


def text_layer(ref: PageRef, timeout_s: float) -> tuple[str | None, list[str]]:
    """(the page's own text, warnings); text None when the page must be recognised by OCR instead."""
    try:
        visible, image = visible_text(ref.path, ref.index)
    except Exception:  # noqa: BLE001 — an odd PDF: let the loader decide what it is
        return None, []
    if not visible:
        return None, []
    n = str(ref.index + 1)
    try:
        raw = external.run(["pdftotext", "-layout", "-enc", "UTF-8", "-f", n, "-l", n, ref.path, "-"],
                           timeout=timeout_s)
    except external.ExternalError as exc:
        return None, [f"text layer not read ({exc}): page recognised by OCR instead"]
    text = _clean_layout_text(raw.decode("utf-8", "replace"))
    letters = sum(ch.isalpha() for ch in text)
    if letters < _MIN_TEXT_LAYER_CHARS:
        return None, []
    if image and letters < _MIN_TEXT_WITH_IMAGE:      # a scan with a stamped header/footer ("Scanned with …")
        return None, []
    if text.count("\ufffd") > 0.02 * letters:
        return None, ["text layer unusable (its fonts have no character mapping): page recognised by OCR instead"]
    return text, []
