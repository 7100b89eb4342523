"""How large a request body may be: files get GRIDGEO_MAX_UPLOAD_BYTES, the rest
GRIDGEO_MAX_BODY_BYTES.

A phone photo is often larger than any JSON document a client sends, so the limit
follows the body's kind, decided before anything reads it (the input check parses
forms and bodies first of all): multipart forms and raw photos or PDFs may be as large as
the attachment limit; JSON and everything else keep the body limit. Routes still judge
what they accept; this only decides how much is read.
"""

from __future__ import annotations

from flask import Request

from gridgeo.errors import RequestError
from gridgeo.settings import get_settings

FILE_TYPES = ("multipart/form-data", "application/pdf", "application/octet-stream")
_DRAIN_CHUNK = 1 << 20


def is_file_body(request: Request) -> bool:
    return request.mimetype in FILE_TYPES or request.mimetype.startswith("image/")


def body_limit(request: Request) -> int:
    settings = get_settings()
    if is_file_body(request):
        return max(settings.max_upload_bytes, settings.max_body_bytes)
    return settings.max_body_bytes


def too_large(request: Request) -> RequestError:
    """The 413 naming the limit that applied. What the client still sends is read and
    dropped (up to a bound), so it receives this sentence, not a reset mid-upload."""
    limit = body_limit(request)
    stream = request.environ.get("wsgi.input")
    left = min(request.content_length or 0, 4 * limit)
    while stream is not None and left > 0 and (chunk := stream.read(min(left, _DRAIN_CHUNK))):
        left -= len(chunk)
    if is_file_body(request):
        return RequestError(f"the file is larger than the attachment limit of {limit:,} bytes "
                            f"({limit / 1048576:g} MiB); send a smaller photo or document.",
                            413, "PayloadTooLarge")
    return RequestError(f"the request body is larger than the limit of {limit:,} bytes.",
                        413, "PayloadTooLarge")


def apply_body_limit(request: Request) -> None:
    """Set this request's limit; refuse a declared larger body before reading any of it."""
    limit = body_limit(request)
    if request.content_length is not None and request.content_length > limit:
        raise too_large(request)
    # A multipart envelope and its small fields around a file at the limit.
    request.max_content_length = limit + (64 * 1024 if is_file_body(request) else 0)
