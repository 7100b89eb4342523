"""QR images and the door-plate sheet, drawn with segno (pure Python, no imaging library)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import segno

FONT = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', sans-serif"
# Medium error correction survives a scuffed plate; a 4-module quiet zone is the standard's.
ERROR = "m"
BORDER = 4


def qr_png(payload: str, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make(payload, error=ERROR, micro=False).save(out, kind="png", scale=scale,
                                                       border=BORDER, light="white")
    return out.getvalue()


def qr_svg(payload: str, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make(payload, error=ERROR, micro=False).save(out, kind="svg", scale=scale,
                                                       border=BORDER, title=payload, light="white")
    return out.getvalue()


@dataclass(frozen=True)
class Plate:
    """One door plate: the QR payload and the lines printed under it."""

    payload: str
    lines: Sequence[str]


PLATE_W, PLATE_H, COLUMNS, MARGIN = 260, 330, 3, 20


def plate_sheet_svg(title: str, plates: Sequence[Plate]) -> str:
    """A printable sheet: plates in rows of three, each a QR code and its text."""
    rows = (len(plates) + COLUMNS - 1) // COLUMNS
    width = MARGIN * 2 + PLATE_W * COLUMNS
    height = MARGIN * 2 + 40 + PLATE_H * rows
    parts = [f'<text x="{MARGIN}" y="{MARGIN + 20}" font-size="20" font-weight="bold">'
             f'{escape(title)}</text>']
    for i, plate in enumerate(plates):
        x = MARGIN + (i % COLUMNS) * PLATE_W
        y = MARGIN + 40 + (i // COLUMNS) * PLATE_H
        code = segno.make(plate.payload, error=ERROR, micro=False)
        size = code.symbol_size(scale=5, border=BORDER)[0]
        parts.append(f'<rect x="{x + 5}" y="{y + 5}" width="{PLATE_W - 10}" '
                     f'height="{PLATE_H - 10}" fill="none" stroke="#1f4e9e" stroke-width="2"/>')
        parts.append(f'<g transform="translate({x + (PLATE_W - size) / 2},{y + 12})">'
                     f'{code.svg_inline(scale=5, border=BORDER)}</g>')
        for n, line in enumerate(plate.lines):
            parts.append(f'<text x="{x + PLATE_W / 2}" y="{y + size + 32 + n * 20}" '
                         f'font-size="{14 if n == 0 else 12}" text-anchor="middle">'
                         f'{escape(line)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="{FONT}">'
            f'<rect width="100%" height="100%" fill="white"/>{"".join(parts)}</svg>')
