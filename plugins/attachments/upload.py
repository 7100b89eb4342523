"""Reading an upload from the request: multipart/form-data or a raw body, within the
attachment size limit (GRIDGEO_MAX_UPLOAD_BYTES), which is said in the refusal."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from gridgeo_plugins.attachments.records import STAGES
from werkzeug.exceptions import RequestEntityTooLarge

from gridgeo.errors import RequestError
from gridgeo.settings import get_settings

MAX_TITLE = 200
_DRAIN_CHUNK = 1 << 20


@dataclass(frozen=True)
class Upload:
    data: bytes
    title: str | None
    stage: str | None


def _too_large(limit: int) -> RequestError:
    # Read (and drop) what the client still sends, up to a bound, so it receives this
    # sentence instead of a connection reset in the middle of its upload.
    stream, left = request.environ.get("wsgi.input"), min(request.content_length or 0,
                                                            4 * limit)
    while stream is not None and left > 0 and (chunk := stream.read(min(left, _DRAIN_CHUNK))):
        left -= len(chunk)
    return RequestError(f"the file is larger than the attachment limit of {limit:,} bytes "
                        f"({limit / 1048576:g} MiB); send a smaller photo or document.",
                        413, "PayloadTooLarge")


def allow_upload_body() -> int:
    """Raise this request's body limit to the attachment limit; refuse a declared larger
    body before reading it. Returns the limit."""
    limit = get_settings().max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    # The file itself plus a little room for the multipart envelope and form fields.
    request.max_content_length = limit + 64 * 1024
    return limit


def stage_of(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value not in STAGES:
        raise RequestError(f"stage {value!r} is not one: use before (处置前) or after "
                           "(处置后), or leave it out.")
    return STAGES[value]


def title_of(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_TITLE:
        raise RequestError(f"the title is {len(value)} characters long; the limit is "
                           f"{MAX_TITLE}.")
    return value or None


def file_field(name: str) -> bytes | None:
    """A multipart file field's bytes (None when absent), within the limit."""
    limit = allow_upload_body()
    try:
        file = request.files.get(name)
        data = file.read() if file is not None else None
    except RequestEntityTooLarge:
        raise _too_large(limit) from None
    if data is not None and len(data) > limit:
        raise _too_large(limit)
    return data


def read_upload() -> Upload:
    """The upload of an attachment request: a form field ``file`` with ``title`` and
    ``stage`` fields, or the raw body with ``title`` and ``stage`` query parameters."""
    limit = allow_upload_body()
    try:
        if request.mimetype == "multipart/form-data":
            file = request.files.get("file") or request.files.get("media")
            if file is None:
                raise RequestError("send the file in a multipart form field named file (or "
                                   "media), or as the raw body with its Content-Type.")
            data = file.read()
            title, stage = request.form.get("title") or file.filename, request.form.get("stage")
        else:
            data = request.get_data(cache=False)
            title, stage = request.args.get("title"), request.args.get("stage")
    except RequestEntityTooLarge:
        raise _too_large(limit) from None
    if len(data) > limit:
        raise _too_large(limit)
    return Upload(data, title_of(title), stage_of(stage))
