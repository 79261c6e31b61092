"""PDF pages: planned from the page tree; a page that shows one scanned image has it taken out and decoded like a
picture file; any other page is rasterised by poppler (``pdftoppm``), after its images are checked for
decompression bombs."""
from __future__ import annotations

import math
import os

import cv2
import numpy as np

from .. import external
from ..decodecheck import decoder_text, jpeg_complaint, tiff_complaint
from ..paths import for_library
from ..records import Page, Reject
from .decode import _check_jpeg_data, _damaged_image, _decode_jpeg, _pil_to_gray, _reduce
from .headers import _bytes_reader, _jpeg_header
from .limits import _check_page_count, _check_pixels, _too_large
from .records import LoadOptions, PageRef, _first_line, _open_error, _Rejected

_PAINTING = frozenset({"S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "sh", "BI", "INLINE IMAGE", "d0", "d1"})
_SHOWING = frozenset({"Tj", "TJ", "'", '"'})


def _open_pdf(path: str):
    import pikepdf

    name = os.path.basename(path)
    try:
        return pikepdf.open(for_library(path), inherit_page_attributes=False)
    except pikepdf.PasswordError:
        raise _Rejected(Reject.ENCRYPTED, f"{name} is password-protected; remove the password (for example "
                                          "print it to a new PDF) and add it again") from None
    except pikepdf.PdfError as exc:
        raise _Rejected(Reject.CORRUPT, f"{name} is a damaged PDF that cannot be opened "
                                        f"({_first_line(exc)}); export or scan it again") from None
    except OSError as exc:
        raise _open_error(path, exc) from None


def plan_pdf(path: str, size: int, options: LoadOptions) -> list[PageRef]:
    name = os.path.basename(path)
    with open(path, "rb") as f:
        f.seek(max(0, size - 2048))
        if b"%%EOF" not in f.read():
            raise _Rejected(Reject.TRUNCATED, f"{name} is cut off: the PDF has no end marker (%%EOF) — the "
                                              "copy, upload or scan did not finish; copy or scan it again")
    with _open_pdf(path) as pdf:
        try:
            pages = list(pdf.pages)
        except Exception as exc:  # noqa: BLE001 — qpdf raises several types for a broken page tree
            raise _Rejected(Reject.CORRUPT, f"{name} is a damaged PDF: its page list cannot be read "
                                            f"({_first_line(exc)}); export or scan it again") from None
        _check_page_count(len(pages), options, name)
        objs = [p.obj.objgen for p in pages]
        counts: dict[tuple[int, int], int] = {}
        for o in objs:
            counts[o] = counts.get(o, 0) + 1
        return [PageRef(path, i, "pdf", o if o != (0, 0) and counts[o] == 1 else None)
                for i, o in enumerate(objs)]


def _inherited(page, key: str):
    node, depth = page, 0
    while node is not None and depth < 64:
        if key in node:
            return node[key]
        node = node.get("/Parent")
        depth += 1
    return None


def _pdf_page(pdf, ref: PageRef):
    import pikepdf

    if ref.obj is not None:
        try:
            obj = pdf.get_object(ref.obj)
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/Page":
                return obj
        except (pikepdf.PdfError, ValueError, KeyError):
            pass
    pages = pdf.pages
    if ref.index >= len(pages):
        raise _Rejected(Reject.CORRUPT, f"{os.path.basename(ref.path)} has fewer pages than when it was opened; "
                                        "add it again")
    return pages[ref.index].obj


def _mat_mul(m, n):
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _sole_image(page):
    """The one image a page shows, with its placement matrix, when nothing else is painted; else None.

    Invisible text (render mode 3: the OCR layer of a "searchable" scan), clipping paths and colour settings
    are allowed; any other painting, a form XObject or an inline image means the page must be rasterised.
    """
    import pikepdf

    resources = _inherited(page, "/Resources")
    xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
    if not isinstance(xobjects, pikepdf.Dictionary) or len(xobjects) == 0:
        return None
    try:
        return _sole_image_in(pikepdf.parse_content_stream(page), xobjects)
    except (pikepdf.PdfError, TypeError, ValueError, IndexError):
        return None               # a broken or garbled content stream: poppler is more lenient


def _sole_image_in(instructions, xobjects):
    ctm, stack, mode, found = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0), [], 0, None
    for instruction in instructions:
        op, operands = str(instruction.operator), instruction.operands
        if op == "q":
            stack.append((ctm, mode))
        elif op == "Q":
            if stack:
                ctm, mode = stack.pop()
        elif op == "cm":
            ctm = _mat_mul(tuple(float(v) for v in operands), ctm)
        elif op == "Tr":
            mode = int(operands[0])
        elif op in _SHOWING:
            if mode != 3:
                return None
        elif op == "Do":
            xobj = xobjects.get(str(operands[0]))
            if found is not None or xobj is None or xobj.get("/Subtype") != "/Image":
                return None
            found = (xobj, ctm)
        elif op in _PAINTING:
            return None
    return found


def _page_box(page) -> tuple[float, float]:
    box = _inherited(page, "/CropBox") or _inherited(page, "/MediaBox")
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
        return abs(x1 - x0), abs(y1 - y0)
    except (TypeError, ValueError):
        return 612.0, 792.0          # the PDF default (US Letter) when the box is missing or broken


def _load_pdf(ref: PageRef, options: LoadOptions) -> Page:
    import pikepdf

    name = os.path.basename(ref.path)
    what = f"page {ref.index + 1}"
    with _open_pdf(ref.path) as pdf:
        try:
            page = _pdf_page(pdf, ref)
            sole = _sole_image(page)
        except pikepdf.PdfError as exc:
            raise _Rejected(Reject.CORRUPT, f"{what} of {name} is damaged ({_first_line(exc)}); export or scan "
                                            "the PDF again") from None
        if sole is not None:
            image = _extract_image(*sole, options, name, what)
            if image is not None:
                img, dpi, f = image
                return Page(img, ref.path, ref.index + 1, dpi, float(f))
        w_pt, h_pt = _page_box(page)
        _check_page_images(page, options, name, what)
    return _rasterise(ref, w_pt, h_pt, options)


def _extract_image(xobj, ctm, options: LoadOptions, name: str, what: str
                   ) -> tuple[np.ndarray, float | None, int] | None:
    """Decode the page's one image; None when it must be rasterised instead (masks, JBIG2, exotic types)."""
    import pikepdf

    if xobj.get("/ImageMask", False) or "/SMask" in xobj or "/Mask" in xobj:
        return None
    try:
        width, height = int(xobj.Width), int(xobj.Height)
    except (AttributeError, TypeError, ValueError):
        return None
    _check_pixels(width, height, options, name, what)
    filters = xobj.get("/Filter")
    filters = [str(filters)] if isinstance(filters, pikepdf.Name) else [str(x) for x in (filters or [])]
    colourspace = xobj.get("/ColorSpace")
    cmyk = isinstance(colourspace, pikepdf.Name) and str(colourspace) == "/DeviceCMYK"
    decode = xobj.get("/Decode")
    inverted = decode is not None and len(decode) >= 2 and float(decode[0]) == 1.0 and float(decode[1]) == 0.0
    if filters == ["/DCTDecode"] and not cmyk:
        img, file_dpi, f = _decode_jpeg(bytes(xobj.read_raw_bytes()), options, name, what)
        if inverted:
            img = 255 - img
    else:
        if filters == ["/DCTDecode"]:          # a CMYK JPEG: Pillow decodes it, after the same structure check
            raw = bytes(xobj.read_raw_bytes())
            if raw.startswith(b"\xff\xd8\xff"):
                _check_jpeg_data(raw, _jpeg_header(_bytes_reader(raw), len(raw), name), name, what)
        img = _pdf_image_pixels(xobj, name, what)
        if img is None or img.shape != (height, width):
            return None
        img, f = _reduce(img, options.target_long_side_px)
    a, b, c, d, _, _ = ctm
    if a * d - b * c < 0:        # mirrored placement: flip so what remains is a rotation, which the reader handles
        img = np.ascontiguousarray(img[:, ::-1])
    shown_w, shown_h = math.hypot(a, b) / 72.0, math.hypot(c, d) / 72.0
    dpi = (width / shown_w + height / shown_h) / 2 / f if shown_w > 0 and shown_h > 0 else None
    return img, dpi, f


def _pdf_image_pixels(xobj, name: str, what: str) -> np.ndarray | None:
    """A PDF image that is not a plain JPEG, decoded by pikepdf and Pillow; None when they cannot decode that kind
    (JBIG2 without jbig2dec, an exotic colour space: poppler can still draw it); CORRUPT when its data is
    damaged (a Flate stream that breaks off, a CMYK JPEG or a fax image with bad codes)."""
    import pikepdf
    from pikepdf.models.image import ImageDecompressionError, PdfImage

    try:
        img, said = decoder_text(lambda: _pil_to_gray(PdfImage(xobj).as_pil_image()))
    except (pikepdf.DataDecodingError, ImageDecompressionError, OSError, EOFError) as exc:
        if isinstance(exc, OSError) and "not available" in str(exc):
            return None           # Pillow built without that decoder ("decoder jpeg2k not available")
        raise _damaged_image(name, what, "its data cannot be decoded") from None
    except (pikepdf.PdfError, NotImplementedError, ValueError, pikepdf.UnsupportedImageTypeError,
            pikepdf.DependencyError, pikepdf.NotExtractableError):
        return None
    complaint = tiff_complaint(said) or jpeg_complaint(said) or _flate_complaint(xobj)
    if complaint is not None:
        raise _damaged_image(name, what, complaint)
    return img


def _flate_complaint(xobj) -> str | None:
    """A Flate stream whose data is damaged but still inflates to some bytes (only its checksum tells): qpdf
    hands those bytes over with a warning, so the stream is checked with zlib itself."""
    import zlib

    import pikepdf
    filters = xobj.get("/Filter")
    first = filters[0] if isinstance(filters, pikepdf.Array) and len(filters) else filters
    if first != pikepdf.Name.FlateDecode:
        return None
    try:
        zlib.decompressobj().decompress(xobj.read_raw_bytes())
    except zlib.error as exc:
        return f"its Flate data is damaged ({exc})"
    return None


def _check_page_images(page, options: LoadOptions, name: str, what: str) -> None:
    """TOO_LARGE when an image the page can draw (in its resources, inside its forms, as a mask) has more pixels
    than ``options.max_pixels``: a decompression bomb, refused before poppler spends minutes inflating it."""
    import pikepdf

    todo, seen = [_inherited(page, "/Resources")], set()
    while todo and len(seen) < 10_000:
        resources = todo.pop()
        xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
        if not isinstance(xobjects, pikepdf.Dictionary):
            continue
        for key in list(xobjects.keys()):
            xobj = xobjects.get(key)
            if not isinstance(xobj, pikepdf.Stream) or xobj.objgen in seen:
                continue
            seen.add(xobj.objgen)
            if xobj.get("/Subtype") == "/Form":
                todo.append(xobj.get("/Resources"))
                continue
            for image in (xobj, xobj.get("/SMask"), xobj.get("/Mask")):
                if isinstance(image, pikepdf.Stream):
                    width, height = _int_or_0(image.get("/Width")), _int_or_0(image.get("/Height"))
                    if width * height > options.max_pixels:
                        raise _too_large(width, height, options, name, what)


def _int_or_0(value) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _rasterise(ref: PageRef, w_pt: float, h_pt: float, options: LoadOptions) -> Page:
    name = os.path.basename(ref.path)
    what = f"page {ref.index + 1}"
    dpi = options.rasterise_dpi
    _check_pixels(round(w_pt / 72 * dpi), round(h_pt / 72 * dpi), options, name, what + " (rasterised)")
    try:
        img = pdftoppm(ref.path, ref.index + 1, dpi, cropbox=True, timeout=options.timeout_s)
    except external.ExternalTimeout:
        raise _Rejected(Reject.TIMEOUT, f"{what} of {name} took longer than {options.timeout_s:g} s to rasterise "
                                        "and was skipped; simplify or rescan the page") from None
    except external.ExternalError as exc:
        if exc.returncode is None:
            raise _Rejected(Reject.INTERNAL, f"{what} of {name} could not be rasterised: {exc}; install "
                                             "poppler-utils (sudo apt-get install poppler-utils)") from None
        raise _Rejected(Reject.CORRUPT, f"{what} of {name} could not be rasterised ({exc}); export or scan the "
                                        "PDF again") from None
    if max(img.shape) < options.min_long_side_px:
        _check_pixels(img.shape[1], img.shape[0], options, name, what)
    img, f = _reduce(img, options.target_long_side_px)
    return Page(img, ref.path, ref.index + 1, dpi / f, float(f))


def check_dependencies() -> None:
    """Raise ``MissingDependency`` (with install advice) when a program the loader needs is missing.

    The CLI calls this once before a batch starts; ``load_page`` itself never raises for a missing program.
    """
    external.require_program(
        "pdftoppm", advice="it rasterises PDF pages that are not scanned images; install it with "
                           "'sudo apt-get install poppler-utils' (Debian/Ubuntu) and run the command again")


def pdftoppm(pdf: str | os.PathLike, page: int, dpi: int, *, gray: bool = True, cropbox: bool = False,
             timeout: float) -> np.ndarray:
    """Page ``page`` (1-based) of ``pdf`` rasterised by poppler at ``dpi``: 8-bit gray, or BGR when not ``gray``;
    the crop box instead of the media box when ``cropbox``. The one place poppler is run, through
    ``omr.external.run``: ``ExternalTimeout`` after ``timeout`` seconds, ``ExternalError`` when it fails
    (``returncode`` None: not installed), and ``ExternalError`` with ``returncode`` 0 when it gives no image."""
    args = ["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(dpi)]
    args += ["-gray"] if gray else []
    args += ["-cropbox"] if cropbox else []
    out = external.run([*args, os.fspath(pdf)], timeout=timeout)
    flag = cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR
    img = cv2.imdecode(np.frombuffer(out, np.uint8), flag) if out else None
    if img is None:
        raise external.ExternalError("pdftoppm", 0, "", "no image from pdftoppm")
    return img
