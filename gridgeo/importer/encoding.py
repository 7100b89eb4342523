"""Attribute encodings of the files towns have: UTF-8, or GBK/GB18030 from Chinese desktop GIS.

A shapefile says its encoding in a ``.cpg`` file when it says it at all; older ones set
only the DBF language byte, or nothing, and then the bytes must be read to tell.
GB18030 is a superset of GBK and GB2312, so it decodes all three.
"""

from __future__ import annotations

import codecs
from pathlib import Path

# DBF "language driver" bytes that name a Chinese code page (936 = GBK).
_LDID_ENCODINGS = {0x4D: "GB18030", 0x7A: "GB18030"}
_SAMPLE_BYTES = 1 << 20


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def guess_bytes_encoding(data: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8 (plain ASCII is too), GB18030 otherwise."""
    if data.startswith(codecs.BOM_UTF8):
        return "UTF-8-SIG"
    # A sample may end inside a multi-byte character: drop a few trailing bytes.
    for cut in range(4):
        if _decodes(data[: len(data) - cut] if cut else data, "utf-8"):
            return "UTF-8"
    return "GB18030"


def _cpg_encoding(cpg: Path) -> str:
    name = cpg.read_text(encoding="ascii", errors="replace").strip()
    if name.upper() in {"936", "CP936", "GBK", "GB2312", "GB18030"}:
        return "GB18030"
    if name.upper() in {"UTF8", "UTF-8", "65001"}:
        return "UTF-8"
    return name


def shapefile_encoding(shp: Path) -> tuple[str, str]:
    """The encoding of a shapefile's attributes and how it was found."""
    for cpg in (shp.with_suffix(".cpg"), shp.with_suffix(".CPG")):
        if cpg.exists():
            return _cpg_encoding(cpg), f"from {cpg.name}"
    dbf = next((p for p in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None:
        return "UTF-8", "no attribute table"
    with dbf.open("rb") as fh:
        header = fh.read(32)
        header_len = int.from_bytes(header[8:10], "little")
        fh.seek(header_len)
        records = fh.read(_SAMPLE_BYTES)
        fh.seek(32)
        field_names = fh.read(max(header_len - 32, 0))
    ldid = header[29] if len(header) > 29 else 0
    if ldid in _LDID_ENCODINGS:
        return _LDID_ENCODINGS[ldid], "from the DBF language byte (code page 936)"
    encoding = guess_bytes_encoding(field_names + records)
    return encoding, "detected from the attribute bytes (no .cpg file)"


def text_file_encoding(path: Path) -> tuple[str, str]:
    """The encoding of a CSV or text file: BOM, then UTF-8 if it decodes, else GB18030."""
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
    return guess_bytes_encoding(sample), "detected from the file's bytes"
