"""Signed-distance-field glyph ranges (MapLibre's ``{fontstack}/{range}.pbf``) from a font.

MapLibre draws label text from SDF glyphs it fetches per 256-code-point range. The field
app works offline, so gridgeo serves them itself (``/field/glyphs/...``); CJK is drawn
by the browser (``localIdeographFontFamily``), so only a few Latin ranges are made.
Same parameters and encoding as Mapbox's fontnik (24 px, 3 px buffer, radius 8, cutoff
0.25, ``glyphs.proto``), computed from the outlines (fontTools) with numpy.

    python scripts/make_glyphs.py FONT.ttf "Open Sans Regular" OUT_DIR 0-255 256-511 ...

writes OUT_DIR/0-255.pbf and so on.

scripts/vendor-web.sh runs it on the font it fetches; the output is committed.
"""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import numpy as np
from fontTools.pens.basePen import BasePen
from fontTools.ttLib import TTFont

SIZE, BUFFER, RADIUS, CUTOFF = 24, 3, 8, 0.25
CURVE_STEPS = 8  # line pieces per Bézier segment: finer than a pixel at 24 px


class RingPen(BasePen):
    """Collects a glyph's contours as closed rings of points, curves flattened."""

    def __init__(self, glyph_set: object, scale: float) -> None:
        super().__init__(glyph_set)
        self.scale = scale
        self.rings: list[list[tuple[float, float]]] = []

    def _moveTo(self, pt: tuple[float, float]) -> None:
        self.rings.append([self._scaled(pt)])

    def _lineTo(self, pt: tuple[float, float]) -> None:
        self.rings[-1].append(self._scaled(pt))

    def _qCurveToOne(self, pt1: tuple[float, float], pt2: tuple[float, float]) -> None:
        p0 = np.array(self._getCurrentPoint())
        c, p2 = np.array(pt1), np.array(pt2)
        for t in np.linspace(0, 1, CURVE_STEPS + 1)[1:]:
            self._lineTo(tuple((1 - t) ** 2 * p0 + 2 * (1 - t) * t * c + t ** 2 * p2))

    def _curveToOne(self, pt1: tuple[float, float], pt2: tuple[float, float],
                    pt3: tuple[float, float]) -> None:
        p0 = np.array(self._getCurrentPoint())
        c1, c2, p3 = np.array(pt1), np.array(pt2), np.array(pt3)
        for t in np.linspace(0, 1, CURVE_STEPS + 1)[1:]:
            self._lineTo(tuple((1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * c1
                               + 3 * (1 - t) * t ** 2 * c2 + t ** 3 * p3))

    def _closePath(self) -> None:
        if self.rings and self.rings[-1][0] != self.rings[-1][-1]:
            self.rings[-1].append(self.rings[-1][0])

    def _scaled(self, pt: tuple[float, float]) -> tuple[float, float]:
        return (float(pt[0]) * self.scale, float(pt[1]) * self.scale)


def sdf(rings: list[list[tuple[float, float]]]) -> tuple[bytes, int, int, int, int]:
    """The SDF bitmap (rows top-down) and left, top (above the baseline), width, height."""
    points = np.array([p for ring in rings for p in ring])
    left, bottom = round(points[:, 0].min()), round(points[:, 1].min())
    right, top = round(points[:, 0].max()), round(points[:, 1].max())
    width, height = right - left, top - bottom
    if width == 0 or height == 0:
        return b"", 0, 0, 0, 0
    segments = np.array([(*a, *b) for ring in rings for a, b in itertools.pairwise(ring)])
    segments -= np.array([left - BUFFER, bottom - BUFFER] * 2)
    w, h = width + 2 * BUFFER, height + 2 * BUFFER
    ys, xs = np.mgrid[0:h, 0:w]
    px, py = xs.ravel()[:, None] + 0.5, ys.ravel()[:, None] + 0.5
    x1, y1, x2, y2 = (segments[:, i][None, :] for i in range(4))
    dx, dy = x2 - x1, y2 - y1
    length2 = np.where(dx * dx + dy * dy == 0, 1, dx * dx + dy * dy)
    t = np.clip(((px - x1) * dx + (py - y1) * dy) / length2, 0, 1)
    distance = np.sqrt(((x1 + t * dx - px) ** 2 + (y1 + t * dy - py) ** 2).min(axis=1))
    distance = np.where(distance < RADIUS, distance, np.inf)
    crosses = ((y1 > py) != (y2 > py)) & (
        px < dx * (py - y1) / np.where(dy == 0, 1, dy) + x1)
    inside = crosses.sum(axis=1) % 2 == 1
    d = np.where(inside, -distance, distance) * (256 / RADIUS) + CUTOFF * 256
    value = 255 - np.clip(np.nan_to_num(d, posinf=255, neginf=0), 0, 255).astype(np.uint8)
    # Row y counts up from the bottom; the bitmap is written top row first.
    return value.reshape(h, w)[::-1].tobytes(), left, top, width, height


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, value: int | bytes, signed: bool = False) -> bytes:
    if isinstance(value, bytes):
        return varint(number << 3 | 2) + varint(len(value)) + value
    if signed:
        value = (value << 1) ^ (value >> 31)  # zigzag (sint32)
    return varint(number << 3) + varint(value)


def glyph_range(font: TTFont, fontstack: str, start: int) -> bytes:
    """The ``glyphs`` message of code points start..start+255."""
    scale = SIZE / font["head"].unitsPerEm
    ascender = math.ceil(font["hhea"].ascent * scale)
    cmap, glyph_set, metrics = font.getBestCmap(), font.getGlyphSet(), font["hmtx"].metrics
    glyphs = b""
    for code in range(start, start + 256):
        name = cmap.get(code)
        if name is None:
            continue
        pen = RingPen(glyph_set, scale)
        glyph_set[name].draw(pen)
        bitmap, left, top, width, height = sdf(pen.rings) if pen.rings else (b"", 0, 0, 0, 0)
        message = field(1, code) + (field(2, bitmap) if bitmap else b"") + field(3, width) \
            + field(4, height) + field(5, left, True) + field(6, top - ascender, True) \
            + field(7, round(metrics[name][0] * scale))
        glyphs += field(3, message)
    stack = field(1, fontstack.encode()) + field(2, f"{start}-{start + 255}".encode()) + glyphs
    return field(1, stack)


def main(font_path: str, fontstack: str, out_dir: str, *ranges: str) -> None:
    font = TTFont(font_path)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ranges:
        start = int(name.split("-")[0])
        (folder / f"{name}.pbf").write_bytes(glyph_range(font, fontstack, start))


if __name__ == "__main__":
    main(*sys.argv[1:])
