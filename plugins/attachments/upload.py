"""Reading an upload from the request: multipart/form-data or a raw body.

How much is read is decided before any route runs (``gridgeo.security.bodies``: files
may be as large as GRIDGEO_MAX_UPLOAD_BYTES); a larger one is a 413 naming the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from gridgeo_plugins.attachments.records import STAGES
from werkzeug.exceptions import RequestEntityTooLarge

from gridgeo.errors import RequestError
from gridgeo.security.bodies import too_large
from gridgeo.settings import get_settings

MAX_TITLE = 200


@dataclass(frozen=True)
class Upload:
    data: bytes
    title: str | None
    stage: str | None


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


def _within_limit(data: bytes) -> bytes:
    if len(data) > get_settings().max_upload_bytes:
        raise too_large(request)
    return data


def file_field(name: str) -> bytes | None:
    """A multipart file field's bytes (None when absent), within the limit."""
    try:
        file = request.files.get(name)
        return _within_limit(file.read()) if file is not None else None
    except RequestEntityTooLarge:
        raise too_large(request) from None


def read_upload() -> Upload:
    """The upload of an attachment request: a form field ``file`` with ``title`` and
    ``stage`` fields, or the raw body with ``title`` and ``stage`` query parameters."""
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
        raise too_large(request) from None
    return Upload(_within_limit(data), title_of(title), stage_of(stage))
