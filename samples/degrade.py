"""What a scanner or a phone camera does to a marked sheet (OpenCV + numpy).

``sample_*`` draw the parameters of one page from a random generator (every range in ``PROFILES``);
``scan``/``photograph`` apply them to a page raster and return the image together with the 3x3 matrix
that maps page pixels to output pixels, so the ground truth can say exactly where every bubble landed.
All parameters end up in the truth file under ``"degradation"``.
"""
from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

# Every range a profile draws from. Tunable; recorded values go to the truth file.
PROFILES: dict[str, dict[str, Any]] = {
    "clean": {
        "dpi": ((300,), (1.0,)),
        "rotation_deg": 0.5,
        "colour_p": 0.0,
        "noise_sigma": (0.0, 0.0),       # a clean raster: no sensor noise (keeps PNGs small)
        "jpeg_quality": (92, 98),
    },
    "scanner": {
        "dpi": ((150, 200, 250, 300), (0.1, 0.3, 0.2, 0.4)),
        "rotation_deg": 10.0,            # |angle|: 70 % within 2°, 25 % within 6°, 5 % up to 10°
        "quarter_turn_p": 0.10,          # fed sideways or upside down
        "scale": (0.975, 1.025),
        "blur_sigma": (0.0, 1.2),
        "noise_sigma": (1.0, 5.0),
        "jpeg_quality": (40, 95),
        "low_contrast_p": 0.3,
        "paper_low": (200, 235), "paper_high": (236, 255),
        "ink_low": (25, 75), "ink_high": (0, 25),
        "light_amp": (0.0, 0.07),
        "colour_p": 0.4,
        "dust_mean": 5.0,
        "margin_mm": (0.0, 4.0),
    },
    "phone": {
        "dpi": ((300,), (1.0,)),
        "frame_long_px": (3000, 4000),
        "aspect": ((4 / 3, 16 / 9), (0.8, 0.2)),
        "coverage": (0.55, 0.90),        # the sheet's share of the frame area (less when rotated: it must fit)
        "upright_p": 0.6,                # 60 % within ±15°, else any angle
        "perspective": (0.01, 0.07),     # corner displacement, fraction of the sheet's short side
        "vignette": (0.0, 0.25),
        "gradient": (0.0, 0.25),
        "shadow_p": 0.6, "shadow_depth": (0.1, 0.35),
        "blur_sigma": (0.3, 1.4), "motion_p": 0.3, "motion_len": (2, 7),
        "noise_sigma": (2.0, 7.0),
        "sharpen": (0.0, 0.6),
        "jpeg_quality": (60, 90),
        "colour_p": 1.0,
    },
}


def _r(x: float, nd: int = 4) -> float:
    return round(float(x), nd)


def _white_balance(rng: np.random.Generator) -> list[float]:
    """B, G, R gains of a camera's white balance: warm (indoor light) or cool (shade), slightly tinted."""
    t = rng.uniform(-0.09, 0.07)
    g = rng.uniform(0.98, 1.03)
    return [_r(1 + t), _r(g), _r(1 - t)]


# ---------------------------------------------------------------------------------------------------
# Parameter sampling
# ---------------------------------------------------------------------------------------------------
def sample_params(profile: str, rng: np.random.Generator, cfg: dict[str, Any] | None = None) -> dict[str, Any]:
    cfg = PROFILES[profile] if cfg is None else cfg
    dpis, w = cfg["dpi"]
    p: dict[str, Any] = {"dpi": int(rng.choice(dpis, p=w)), "colour": bool(rng.random() < cfg["colour_p"])}
    if profile == "clean":
        p.update(rotation_deg=_r(rng.uniform(-cfg["rotation_deg"], cfg["rotation_deg"])), quarter_turns=0,
                 scale=1.0, shift_mm=[0.0, 0.0], blur_sigma=0.0, noise_sigma=_r(rng.uniform(*cfg["noise_sigma"])),
                 jpeg_quality=int(rng.integers(cfg["jpeg_quality"][0], cfg["jpeg_quality"][1] + 1)),
                 paper=255, ink=0, light_amp=0.0, cast=[1.0, 1.0, 1.0], dust=0, margin_mm=0.0, lid=255)
        return p
    if profile == "scanner":
        u = rng.random()
        lim = 2.0 if u < 0.7 else 6.0 if u < 0.95 else cfg["rotation_deg"]
        low = bool(rng.random() < cfg["low_contrast_p"])
        paper = float(rng.uniform(*cfg["paper_low" if low else "paper_high"]))
        p.update(
            rotation_deg=_r(rng.uniform(-lim, lim)),
            quarter_turns=int(rng.integers(1, 4)) if rng.random() < cfg["quarter_turn_p"] else 0,
            scale=_r(rng.uniform(*cfg["scale"])),
            blur_sigma=_r(rng.uniform(*cfg["blur_sigma"]), 3),
            noise_sigma=_r(rng.uniform(*cfg["noise_sigma"]), 3),
            jpeg_quality=int(rng.integers(cfg["jpeg_quality"][0], cfg["jpeg_quality"][1] + 1)),
            low_contrast=low, paper=_r(paper, 1),
            ink=_r(rng.uniform(*cfg["ink_low" if low else "ink_high"]), 1),
            light_amp=_r(rng.uniform(*cfg["light_amp"])),
            cast=[_r(v) for v in (rng.uniform(0.96, 1.03, 3) if p["colour"] else np.ones(3))],
            dust=int(rng.poisson(rng.uniform(0, 2 * cfg["dust_mean"]))),
            margin_mm=_r(rng.uniform(*cfg["margin_mm"]), 2),
            lid=_r(rng.uniform(215, 255), 1),
        )
        # where the paper lies on the glass: anywhere inside the margin of lid around it
        p["shift_mm"] = [_r(v, 2) for v in rng.uniform(-1, 1, 2) * p["margin_mm"]]
        return p
    if profile == "phone":
        aspects, aw = cfg["aspect"]
        upright = bool(rng.random() < cfg["upright_p"])
        rot = rng.normal(0, 6) if upright else rng.uniform(-180, 180)
        if upright:
            rot = float(np.clip(rot, -15, 15))
        p.update(
            frame_long_px=int(rng.integers(cfg["frame_long_px"][0], cfg["frame_long_px"][1] + 1)),
            aspect=_r(rng.choice(aspects, p=aw)),
            rotation_deg=_r(rot), coverage=_r(rng.uniform(*cfg["coverage"])),
            perspective=_r(rng.uniform(*cfg["perspective"])),
            vignette=_r(rng.uniform(*cfg["vignette"])), gradient=_r(rng.uniform(*cfg["gradient"])),
            shadow=bool(rng.random() < cfg["shadow_p"]), shadow_depth=_r(rng.uniform(*cfg["shadow_depth"])),
            blur_sigma=_r(rng.uniform(*cfg["blur_sigma"]), 3),
            motion_len=int(rng.integers(cfg["motion_len"][0], cfg["motion_len"][1] + 1))
            if rng.random() < cfg["motion_p"] else 0,
            motion_angle=_r(rng.uniform(0, 180), 1),
            noise_sigma=_r(rng.uniform(*cfg["noise_sigma"]), 3),
            sharpen=_r(rng.uniform(*cfg["sharpen"]), 3),
            jpeg_quality=int(rng.integers(cfg["jpeg_quality"][0], cfg["jpeg_quality"][1] + 1)),
            white_balance=_white_balance(rng),
            exposure=_r(rng.uniform(0.85, 1.05)),
            background=str(rng.choice(["wood", "grey_desk", "dark", "white_desk", "fabric"])),
        )
        return p
    raise ValueError(f"unknown profile {profile!r}")


# ---------------------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------------------
def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], cells: int = 5) -> np.ndarray:
    """Low-frequency random field in [-1, 1], upsampled with a cubic filter."""
    g = rng.uniform(-1, 1, (cells, cells)).astype(np.float32)
    return np.clip(cv2.resize(g, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC), -1, 1)


def _noise(img: np.ndarray, rng: np.random.Generator, sigma: float, chroma: float = 0.0) -> np.ndarray:
    """Sensor noise on a uint8 image: per-pixel luminance noise, plus blotchy chroma noise for colour."""
    if sigma <= 0:
        return img
    h, w = img.shape[:2]
    cv2.setRNGSeed(int(rng.integers(2**31)))   # cv2's generator is fast; seeded from ours, so deterministic
    n = np.empty((h, w), np.int16)
    cv2.randn(n, 0.0, float(sigma))
    if img.ndim == 2:
        return cv2.add(img, n, dtype=cv2.CV_8U)
    n3 = cv2.merge([n, n, n])
    if chroma > 0:
        c = np.empty((h // 2, w // 2, 3), np.int16)
        cv2.randn(c, (0.0, 0.0, 0.0), (chroma, chroma, chroma))
        n3 = cv2.add(n3, cv2.resize(c, (w, h), interpolation=cv2.INTER_NEAREST))
    return cv2.add(img, n3, dtype=cv2.CV_8U)


def _multiply(img: np.ndarray, field: np.ndarray) -> np.ndarray:
    """uint8 image times a float32 field (h, w) or (h, w, 3), saturated."""
    if img.ndim == 3 and field.ndim == 2:
        field = cv2.merge([field, field, field])
    return cv2.multiply(img, field, dtype=cv2.CV_8U)


def _dust(img: np.ndarray, rng: np.random.Generator, count: int, px_mm: float) -> None:
    h, w = img.shape[:2]
    for _ in range(count):
        x, y = int(rng.integers(w)), int(rng.integers(h))
        v = float(rng.uniform(40, 170))
        col = v if img.ndim == 2 else (v, v, v)
        if rng.random() < 0.75:
            ax = max(1, int(rng.uniform(0.05, 0.3) * px_mm))
            cv2.ellipse(img, (x, y), (ax, max(1, int(ax * rng.uniform(0.4, 1)))), float(rng.uniform(0, 180)),
                        0, 360, col, -1, cv2.LINE_AA)
        else:  # a hair or fibre
            t = np.linspace(0, 1, 20)
            L = rng.uniform(1.5, 8) * px_mm
            a = rng.uniform(0, np.pi)
            bend = rng.normal(0, 0.15) * L
            xs = x + L * t * math.cos(a) + bend * np.sin(np.pi * t) * -math.sin(a)
            ys = y + L * t * math.sin(a) + bend * np.sin(np.pi * t) * math.cos(a)
            pts = np.stack([xs, ys], 1).round().astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(img, [pts], False, col, 1, cv2.LINE_AA)


def _rot90_matrix(k: int, w: int, h: int) -> np.ndarray:
    """Homography of np.rot90(img, k) (counter-clockwise) on pixel-centre coordinates of a w×h image."""
    k %= 4
    if k == 0:
        return np.eye(3)
    if k == 1:   # new(x', y') = (y, w-1-x)
        return np.array([[0, 1, 0], [-1, 0, w - 1], [0, 0, 1]], dtype=np.float64)
    if k == 2:
        return np.array([[-1, 0, w - 1], [0, -1, h - 1], [0, 0, 1]], dtype=np.float64)
    return np.array([[0, -1, h - 1], [1, 0, 0], [0, 0, 1]], dtype=np.float64)


# ---------------------------------------------------------------------------------------------------
# Flatbed / document-feeder scan
# ---------------------------------------------------------------------------------------------------
def scan(page: np.ndarray, p: dict[str, Any], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A scanned page: skew, shift, scale, lid around the paper, optics blur, levels, light, dust, noise."""
    dpi = p["dpi"]
    px_mm = dpi / 25.4
    h, w = page.shape[:2]
    ang, s = p["rotation_deg"], p["scale"]
    # rotated, scaled page corners -> canvas that holds them all plus a margin of lid
    M = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), ang, s)
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], np.float64) @ M.T
    margin = p["margin_mm"] * px_mm
    lo, hi = corners.min(0) - margin, corners.max(0) + margin
    W, H = int(math.ceil(max(hi[0] - lo[0], w))), int(math.ceil(max(hi[1] - lo[1], h)))
    M[:, 2] += -lo + (np.array([W, H]) - (hi - lo)) / 2 + np.asarray(p["shift_mm"]) * px_mm
    # levels (white paper -> paper grey, black ink -> ink level, colour cast) as a lookup table
    paper, ink = p["paper"], p["ink"]
    ramp = ink + (paper - ink) * np.arange(256, dtype=np.float64) / 255.0
    if page.ndim == 2:
        lut = np.clip(np.round(ramp), 0, 255).astype(np.uint8)
    else:
        lut = np.clip(np.round(ramp[:, None] * np.asarray(p["cast"])[None, :]), 0, 255).astype(np.uint8)
        lut = lut.reshape(256, 1, 3)
    page = cv2.LUT(page, lut)
    lid = np.clip(np.round(p["lid"] * (paper - ink) / 255.0 + ink), 0, 255)
    border = float(lid) if page.ndim == 2 else tuple(float(lid * c) for c in p["cast"])
    img = cv2.warpAffine(page, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=border)
    A = np.vstack([M, [0, 0, 1]])
    if p["blur_sigma"] >= 0.2:
        img = cv2.GaussianBlur(img, (0, 0), p["blur_sigma"])
    if p["light_amp"] > 0:
        img = _multiply(img, 1.0 + p["light_amp"] * _smooth_field(rng, img.shape[:2], 4))
    _dust(img, rng, p["dust"], px_mm)
    img = _noise(img, rng, p["noise_sigma"], chroma=p["noise_sigma"] * 0.3)
    k = p["quarter_turns"]
    if k:
        A = _rot90_matrix(k, img.shape[1], img.shape[0]) @ A
        img = np.ascontiguousarray(np.rot90(img, k))
    return img, A


# ---------------------------------------------------------------------------------------------------
# Phone photo
# ---------------------------------------------------------------------------------------------------
_BACKGROUNDS = {  # BGR base colours
    "wood": [(60, 105, 150), (40, 80, 125), (85, 130, 170)],
    "grey_desk": [(120, 122, 125), (150, 150, 148), (95, 98, 100)],
    "dark": [(40, 38, 35), (30, 30, 32), (55, 45, 40)],
    "white_desk": [(205, 210, 212), (190, 195, 200)],
    "fabric": [(120, 60, 40), (50, 90, 60), (90, 60, 120)],
}


def _background(rng: np.random.Generator, kind: str, W: int, H: int) -> np.ndarray:
    """A table surface at low resolution (upsampled by the caller)."""
    w, h = max(8, W // 8), max(8, H // 8)
    base = np.asarray(_BACKGROUNDS[kind][int(rng.integers(len(_BACKGROUNDS[kind])))], np.float32)
    base = base * rng.uniform(0.85, 1.15)
    bg = np.empty((h, w, 3), np.float32)
    bg[:] = base
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "wood":
        a = rng.uniform(0, np.pi)
        u = xx * math.cos(a) + yy * math.sin(a)
        v = -xx * math.sin(a) + yy * math.cos(a)
        warp = 12 * _smooth_field(rng, (h, w), 6)
        grain = np.sin((v + warp) / rng.uniform(2.5, 6) * 2 * np.pi) * 0.5 + 0.5
        grain += 0.1 * np.sin(u / 40)
        bg *= (0.82 + 0.22 * grain)[..., None]
    elif kind == "fabric":
        weave = (np.sin(xx * 2.2) * np.sin(yy * 2.2)) * 0.06
        bg *= (1 + weave)[..., None]
    bg *= (1 + 0.12 * _smooth_field(rng, (h, w), 5))[..., None]
    bg += rng.normal(0, 4, bg.shape).astype(np.float32)
    return bg


def photograph(page: np.ndarray, p: dict[str, Any], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A phone photo of the sheet lying on a table: perspective, background, light, shadow, blur, noise."""
    if page.ndim == 2:
        page = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
    h, w = page.shape[:2]
    L = p["frame_long_px"]
    S = int(round(L / p["aspect"]))
    ang = math.radians(p["rotation_deg"])
    # the frame is held the way the sheet lies: portrait when the sheet is roughly upright or upside down
    portrait = abs(math.cos(ang)) >= abs(math.sin(ang))
    FW, FH = (S, L) if portrait else (L, S)
    src, d2, scale = _sheet_corners(p, w, h, FW, FH, rng)
    Hm = cv2.getPerspectiveTransform(src.astype(np.float32), d2.astype(np.float32)).astype(np.float64)
    frame = _sheet_on_table(page, Hm, scale, d2, p, FW, FH, rng)
    img = _multiply(frame, cv2.resize(_light(p, FW, FH, rng), (FW, FH), interpolation=cv2.INTER_LINEAR))
    img = _camera_blur(img, p)
    img = _noise(img, rng, p["noise_sigma"], chroma=p["noise_sigma"] * 0.5)
    p["frame_size"] = [FW, FH]
    p["sheet_area_frac"] = _r(abs(cv2.contourArea(d2.astype(np.float32))) / (FW * FH))
    return img, Hm


def _sheet_corners(p: dict[str, Any], w: int, h: int, FW: int, FH: int, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """(the page's corners, where they land in the FW × FH frame, the page's scale): turned, scaled to the
    requested coverage, each corner moved by the perspective, the whole shifted within the room left."""
    L = p["frame_long_px"]
    ang = math.radians(p["rotation_deg"])
    # similarity: page centre -> frame centre, rotated, scaled to the requested extent
    ca, sa = math.cos(ang), math.sin(ang)
    bw, bh = abs(w * ca) + abs(h * sa), abs(w * sa) + abs(h * ca)
    # the sheet covers `coverage` of the frame's area, as far as its rotated outline still fits in the frame
    scale = min(math.sqrt(p["coverage"] * FW * FH / (w * h)), 0.96 * min(FW / bw, FH / bh))
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64) - 0.5
    c = src.mean(0)
    R = np.array([[ca, -sa], [sa, ca]]) * scale
    dst = (src - c) @ R.T
    # perspective: move every corner by up to `perspective` of the sheet's short side (in or out)
    short = min(w, h) * scale
    for _ in range(20):
        jitter = rng.uniform(-1, 1, (4, 2)) * p["perspective"] * short
        d2 = dst + jitter
        room = np.array([FW, FH]) / 2 - np.abs(d2).max(0) - 0.01 * L
        if (room > 0).all():
            break
    else:
        d2, room = dst, np.array([FW, FH]) / 2 - np.abs(dst).max(0)
    shift = rng.uniform(-1, 1, 2) * np.maximum(room, 0) * 0.8
    d2 = d2 + np.array([FW, FH]) / 2 + shift - 0.5
    return src, d2, scale


def _sheet_on_table(page: np.ndarray, Hm: np.ndarray, scale: float, d2: np.ndarray, p: dict[str, Any],
                    FW: int, FH: int, rng: np.random.Generator) -> np.ndarray:
    """The frame: the table surface with the sheet's soft drop shadow, the page warped onto it by ``Hm``."""
    h, w = page.shape[:2]
    # downsample the page first when the photo is smaller, to avoid aliasing in the warp
    if scale < 0.85:
        f = scale * 1.1
        small = cv2.resize(page, (int(round(w * f)), int(round(h * f))), interpolation=cv2.INTER_AREA)
        pre = np.array([[small.shape[1] / w, 0, 0], [0, small.shape[0] / h, 0], [0, 0, 1]], np.float64)
        # pixel-centre convention: x' = (x + 0.5) * f - 0.5
        pre[0, 2] = 0.5 * pre[0, 0] - 0.5
        pre[1, 2] = 0.5 * pre[1, 1] - 0.5
        Hw = Hm @ np.linalg.inv(pre)
        page_in = small
    else:
        Hw, page_in = Hm, page

    # background with the sheet's soft drop shadow, at 1/8 resolution, then upsampled
    bg = _background(rng, p["background"], FW, FH)
    bh_, bw_ = bg.shape[:2]
    sc = np.array([[bw_ / FW, 0, 0], [0, bh_ / FH, 0], [0, 0, 1]])
    quad = (np.c_[d2, np.ones(4)] @ sc.T)[:, :2]
    sh = np.zeros((bh_, bw_), np.float32)
    off = rng.normal(0, 2, 2)
    cv2.fillPoly(sh, [np.round(quad + off).astype(np.int32).reshape(-1, 1, 2)], 1.0)
    sh = cv2.GaussianBlur(sh, (0, 0), rng.uniform(1.5, 4))
    bg *= (1 - rng.uniform(0.2, 0.45) * sh)[..., None]
    frame = cv2.resize(np.clip(bg, 0, 255).astype(np.uint8), (FW, FH), interpolation=cv2.INTER_LINEAR)
    cv2.warpPerspective(page_in, Hw, (FW, FH), dst=frame, flags=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_TRANSPARENT)
    return frame


def _light(p: dict[str, Any], FW: int, FH: int, rng: np.random.Generator) -> np.ndarray:
    """The light over the frame at 1/16 resolution, per colour channel: vignetting, a gradient across the frame,
    maybe a soft shadow (hand / phone), exposure and white balance."""
    lw, lh = FW // 16, FH // 16
    yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
    rr = ((xx / lw - 0.5) ** 2 + (yy / lh - 0.5) ** 2) / 0.5
    light = 1 - p["vignette"] * rr
    ga = rng.uniform(0, 2 * np.pi)
    light *= 1 + p["gradient"] * ((xx / lw - 0.5) * math.cos(ga) + (yy / lh - 0.5) * math.sin(ga))
    if p["shadow"]:
        m = np.zeros((lh, lw), np.float32)
        cx, cy = rng.uniform(-0.2, 1.2) * lw, rng.uniform(-0.2, 1.2) * lh
        axes = (int(rng.uniform(0.3, 0.8) * lw), int(rng.uniform(0.2, 0.6) * lh))
        cv2.ellipse(m, (int(cx), int(cy)), axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        m = cv2.GaussianBlur(m, (0, 0), rng.uniform(4, 12))
        light *= 1 - p["shadow_depth"] * m
    light *= p["exposure"]
    return light[..., None] * np.asarray(p["white_balance"], np.float32)[None, None, :]


def _camera_blur(img: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    """The camera's motion smear (a line ``motion_len`` px each way), defocus, and its pipeline's sharpening."""
    if p["motion_len"] > 1:
        k = np.zeros((p["motion_len"] * 2 + 1,) * 2, np.float32)
        m = p["motion_len"]
        a = math.radians(p["motion_angle"])
        cv2.line(k, (int(m - m * math.cos(a)), int(m - m * math.sin(a))),
                 (int(m + m * math.cos(a)), int(m + m * math.sin(a))), 1.0, 1, cv2.LINE_AA)
        k /= k.sum()
        img = cv2.filter2D(img, -1, k)
    if p["blur_sigma"] >= 0.2:
        img = cv2.GaussianBlur(img, (0, 0), p["blur_sigma"])
    if p["sharpen"] > 0.05:   # phone pipelines sharpen (unsharp mask)
        img = cv2.addWeighted(img, 1 + p["sharpen"], cv2.blur(img, (5, 5)), -p["sharpen"], 0)
    return img


# ---------------------------------------------------------------------------------------------------
# Clean profile
# ---------------------------------------------------------------------------------------------------
def clean(page: np.ndarray, p: dict[str, Any], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A near-perfect scan: a tiny rotation about the centre (same canvas), barely any noise."""
    h, w = page.shape[:2]
    M = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), p["rotation_deg"], 1.0)
    out = cv2.warpAffine(page, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=255 if page.ndim == 2 else (255, 255, 255))
    if p["noise_sigma"] > 0.05:
        out = _noise(out, rng, p["noise_sigma"])
    return out, np.vstack([M, [0, 0, 1]])


def degrade(page: np.ndarray, profile: str, p: dict[str, Any], rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    if profile == "clean":
        return clean(page, p, rng)
    if profile == "scanner":
        return scan(page, p, rng)
    if profile == "phone":
        return photograph(page, p, rng)
    raise ValueError(f"unknown profile {profile!r}")
