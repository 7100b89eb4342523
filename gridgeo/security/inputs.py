"""The one input check every request passes before any route sees it.

PostgreSQL cannot store a NUL character in text, nor a lone UTF-16 surrogate (JSON
can spell both: ``"\\u0000"``, ``"\\ud800"``). Left to the routes, such text reached
the database and came back as a 500; here it is refused up front on every route: in
the path a 404 (no resource can have such a name), in query arguments, form fields
and JSON bodies (keys and values, however deeply nested) a 400 naming the place.

Bodies that create or change things (item writes, scans, process executions) must
also say they are JSON: a body sent as ``text/plain`` or ``application/xml`` is a
415, not a guess.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Request

from gridgeo.errors import RequestError

# NUL and the UTF-16 surrogate range: text PostgreSQL refuses to hold.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
JSON_TYPES = ("application/json", "application/geo+json", "application/merge-patch+json")
# Routes whose body is a JSON document to store or run: methods and path pattern.
_JSON_BODY_ROUTES = (
    (("POST", "PUT", "PATCH"), re.compile(r"^/collections/[^/]+/items(/[^/]+)?/?$")),
    (("POST",), re.compile(r"^/scans(/batch)?/?$")),
    (("POST",), re.compile(r"^/processes/[^/]+/execution/?$")),
)


def unstorable(text: str) -> bool:
    """Whether ``text`` holds a character PostgreSQL text cannot store."""
    return _UNSTORABLE.search(text) is not None


def check_request_input(request: Request) -> None:
    """Refuse unstorable text anywhere in the request and non-JSON bodies to JSON routes."""
    if unstorable(request.path):
        raise RequestError("No resource has a name with a NUL or surrogate character.",
                           404, "NotFound")
    _check_pairs(request.args.items(multi=True), "query argument")
    if request.mimetype in _FORM_TYPES:
        _check_pairs(request.form.items(multi=True), "form field")
    _check_content_type(request)
    if request.mimetype not in _FORM_TYPES and request.content_length != 0:
        _check_json_body(request.get_data(cache=True))


def _check_pairs(pairs: Any, kind: str) -> None:
    for name, value in pairs:
        if unstorable(name) or unstorable(value):
            raise RequestError(f"{kind} {_printable(name)!r} holds a NUL (\\u0000) or a lone "
                               "surrogate character, which cannot be stored; remove it.")


def _check_content_type(request: Request) -> None:
    if not any(request.method in methods and pattern.match(request.path)
               for methods, pattern in _JSON_BODY_ROUTES):
        return
    mimetype = request.mimetype
    if mimetype in JSON_TYPES or (mimetype.startswith("application/")
                                  and mimetype.endswith("+json")):
        return
    raise RequestError(f"this body must be JSON; it was sent as {mimetype or 'no type'!r}. "
                       "Send it with 'Content-Type: application/json' (or application/geo+json"
                       ", application/merge-patch+json).", 415, "UnsupportedMediaType")


def _check_json_body(body: bytes) -> None:
    """Walk a JSON body's decoded strings; a body that is not JSON is the route's to judge.

    The standard library decoder is used because it keeps lone surrogates, as
    pygeoapi's own parsing does.
    """
    if not body or body.lstrip()[:1] not in (b"{", b"["):
        return
    try:
        where = _first_unstorable(json.loads(body), "")
    except (ValueError, RecursionError):
        return
    if where is not None:
        raise RequestError(f"the JSON body holds a NUL (\\u0000) or a lone surrogate "
                           f"character at {where or 'its top level'}, which cannot be "
                           "stored; remove it.")


def _first_unstorable(value: Any, where: str) -> str | None:
    """The JSON path of the first key or string that cannot be stored, else None."""
    if isinstance(value, str):
        return where if unstorable(value) else None
    if isinstance(value, list):
        items: Any = ((f"{where}[{i}]", v) for i, v in enumerate(value))
    elif isinstance(value, dict):
        for key in value:
            if unstorable(key):
                return f"{where}.{_printable(key)}" if where else _printable(key)
        items = ((f"{where}.{k}" if where else k, v) for k, v in value.items())
    else:
        return None
    for path, item in items:
        found = _first_unstorable(item, path)
        if found is not None:
            return found
    return None


def _printable(text: str) -> str:
    return _UNSTORABLE.sub("\N{REPLACEMENT CHARACTER}", text)
