"""MapLibre glyph ranges served offline: ``/field/glyphs/{fontstack}/{range}.pbf``.

The ranges are files made by scripts/make_glyphs.py (run by scripts/vendor-web.sh) and
committed under gridgeo/static/glyphs/<font-slug>/ (``open-sans-regular`` serves
"Open Sans Regular"): only a few Latin ranges, because CJK is
drawn by the browser. A range gridgeo does not ship is answered with a valid, empty
range (MapLibre then draws those characters with nothing, instead of failing the map).
"""

from __future__ import annotations

import re
from pathlib import Path

import gridgeo
from gridgeo.errors import NotFound, RequestError

GLYPHS = Path(gridgeo.__file__).resolve().parent / "static" / "glyphs"
_RANGE = re.compile(r"^(\d{1,5})-(\d{1,5})$")


def slug(font: str) -> str:
    """The folder of a font's ranges: its name in lower case, dashes for spaces."""
    return font.strip().lower().replace(" ", "-")


def fonts() -> list[str]:
    """The served fonts by name (``open-sans-regular`` is "Open Sans Regular")."""
    folders = sorted(p.name for p in GLYPHS.iterdir() if p.is_dir()) if GLYPHS.is_dir() else []
    return [" ".join(word.capitalize() for word in folder.split("-")) for folder in folders]


def _field(number: int, value: bytes) -> bytes:
    # Short strings only (names, ranges): one-byte lengths.
    return bytes([number << 3 | 2, len(value)]) + value


def empty_range(fontstack: str, name: str) -> bytes:
    """A ``glyphs`` message with the font stack and range but no glyphs."""
    stack = _field(1, fontstack.encode()[:100]) + _field(2, name.encode())
    return _field(1, stack)


def glyph_range(fontstack: str, name: str) -> bytes:
    """The PBF of range ``name`` (e.g. 0-255) for the first font of ``fontstack`` (a
    comma-separated list, as MapLibre asks) that gridgeo has."""
    match = _RANGE.match(name)
    if match is None or int(match[1]) % 256 or int(match[2]) != int(match[1]) + 255 \
            or int(match[2]) > 65535:
        raise RequestError(f"glyph range {name!r} is not one MapLibre asks for: 256 code "
                           "points from a multiple of 256, e.g. 0-255 or 256-511.")
    known = fonts()
    font = next((f.strip() for f in fontstack.split(",") if f.strip() in known), None)
    if font is None:
        raise NotFound(f"no font of {fontstack!r} is served here; the fonts are "
                       f"{', '.join(known) or 'none'}.")
    path = GLYPHS / slug(font) / f"{name}.pbf"
    return path.read_bytes() if path.is_file() else empty_range(font, name)
