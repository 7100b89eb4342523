"""What an uploaded file is, by its bytes: sniffed, decoded, re-encoded, thumbnailed.

The name and declared type of an upload say nothing trustworthy (a PNG renamed .jpg,
a script named photo.jpg): the first bytes decide the type, and an image must decode
whole with Pillow before anything is stored. Roles without personal-data rights get a
copy re-encoded from the pixels, which carries no EXIF and so no GPS position.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from gridgeo.errors import RequestError

ACCEPTED = "JPEG, PNG or HEIC photos, or PDF documents"
THUMBNAIL_PX = 320
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_PILLOW_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/heic": "HEIF"}
_GPS_IFD, _EXIF_IFD = 0x8825, 0x8769
_DATETIME_ORIGINAL, _DATETIME = 0x9003, 0x0132


@dataclass(frozen=True)
class Photo:
    """Where and when the camera says a photo was taken (None when it does not say)."""

    taken_at: datetime | None  # naive: the camera's wall clock, without a zone
    lon: float | None
    lat: float | None


@dataclass(frozen=True)
class PreparedFile:
    """An upload checked and made ready to store: the original and what is derived."""

    sha256: str
    media_type: str
    original: bytes
    public_type: str
    public: bytes  # what roles without personal-data rights receive
    thumbnail: bytes | None
    width: int | None
    height: int | None
    photo: Photo


def sniff(data: bytes) -> str:
    """The media type the first bytes show, or a 415 naming what is accepted."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "image/heic"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    raise RequestError(f"this file is none of the accepted kinds ({ACCEPTED}); its content "
                       "decides, not its name or declared type.", 415, "UnsupportedMediaType")


def _register_heif() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()


def _decode(data: bytes, media_type: str) -> Image.Image:
    if media_type == "image/heic":
        _register_heif()
    try:
        image = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[media_type]])
        image.load()  # a truncated or corrupt file fails here, not later
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        kind = media_type.split("/")[1].upper()
        raise RequestError(f"the file starts like a {kind} image but does not decode "
                           f"({exc}); send the photo as the camera saved it.") from None
    return image


def _rational(value: Any) -> float:
    return float(value[0]) / float(value[1]) if isinstance(value, tuple) else float(value)


def _degrees(parts: Any, ref: Any, negative: str) -> float | None:
    try:
        d, m, s = (_rational(p) for p in parts)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    return -value if str(ref).upper().startswith(negative) else value


def _taken_at(exif: Image.Exif) -> datetime | None:
    raw = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    try:
        return datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S") if raw else None
    except ValueError:
        return None


def read_photo(image: Image.Image) -> Photo:
    """EXIF time and GPS position, where the camera wrote them."""
    exif = image.getexif()
    gps = exif.get_ifd(_GPS_IFD)
    lat = _degrees(gps[2], gps.get(1, "N"), "S") if 2 in gps else None
    lon = _degrees(gps[4], gps.get(3, "E"), "W") if 4 in gps else None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        lat = lon = None
    return Photo(_taken_at(exif), lon, lat)


def _encode(image: Image.Image, media_type: str) -> tuple[str, bytes]:
    """The pixels alone, upright, in a type every browser shows (HEIC becomes JPEG)."""
    upright = ImageOps.exif_transpose(image)
    out = io.BytesIO()
    if media_type == "image/png":
        upright.save(out, "PNG", optimize=True)
        return "image/png", out.getvalue()
    upright.convert("RGB").save(out, "JPEG", quality=90)
    return "image/jpeg", out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    small = ImageOps.exif_transpose(image).convert("RGB")
    small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()


def _check_pdf(data: bytes) -> None:
    if b"%%EOF" not in data[-1024:]:
        raise RequestError("the file starts like a PDF but has no end (%%EOF): it was cut "
                           "short; send the whole document.")


def prepare(data: bytes) -> PreparedFile:
    """Check an upload by its content and derive the public copy and the thumbnail."""
    if not data:
        raise RequestError("the upload is empty; send the file's bytes.")
    media_type = sniff(data)
    digest = hashlib.sha256(data).hexdigest()
    if media_type == "application/pdf":
        _check_pdf(data)
        return PreparedFile(digest, media_type, data, media_type, data, None, None, None,
                            Photo(None, None, None))
    image = _decode(data, media_type)
    public_type, public = _encode(image, media_type)
    return PreparedFile(digest, media_type, data, public_type, public, _thumbnail(image),
                        image.width, image.height, read_photo(image))
