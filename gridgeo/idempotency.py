"""Idempotency-Key: a retried create gets the first answer, never a second row.

Every create route (items POST, Open311 service requests, scans, process executions)
runs its create through ``respond`` (or the ``idempotent`` decorator). With an
``Idempotency-Key`` header, the key is claimed in ``gridgeo.idempotency_keys`` and the
create and its answer are written in ONE transaction (``unit_of_work``): a crash leaves
both or neither, so a client whose answer was lost retries safely.

- Same caller, key and request (method, path, query, body): the first answer again
  (status, body, Location and ETag), marked ``Idempotent-Replayed: true``.
- Same caller and key, another request: 422.
- The same key while its first request still runs: the retry waits a moment for the
  first to finish and answers as above, or 409 when it is still running.
- A key is the caller's own (two callers may use the same key) and expires after
  GRIDGEO_IDEMPOTENCY_TTL_S; expired keys are purged by later requests.
- Only successful (2xx) answers are kept: a refused request changed nothing and a retry
  runs it again.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from flask import Request, Response, make_response, request
from psycopg.types.json import Jsonb

from gridgeo.db.pool import unit_of_work
from gridgeo.errors import RequestError
from gridgeo.identity import current_identity
from gridgeo.settings import get_settings

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# How long a retry waits for the first request with its key to finish before the 409.
IN_PROGRESS_WAIT = "2s"
# The headers of an answer that are part of it; the rest (Date, Vary ...) is made anew.
_KEPT_HEADERS = ("Content-Type", "Location", "ETag", "Content-Crs", "Preference-Applied",
                 "Content-Disposition")
_PURGE_BATCH = 100

_PURGE = """
DELETE FROM gridgeo.idempotency_keys WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM gridgeo.idempotency_keys
     WHERE created < now() - make_interval(secs => %(ttl)s)
     LIMIT %(batch)s FOR UPDATE SKIP LOCKED))
"""
_FORGET_EXPIRED = """
DELETE FROM gridgeo.idempotency_keys
 WHERE caller = %(caller)s AND key = %(key)s AND created < now() - make_interval(secs => %(ttl)s)
"""
_INSERT = """
INSERT INTO gridgeo.idempotency_keys (caller, key, request_hash)
VALUES (%(caller)s, %(key)s, %(hash)s) ON CONFLICT DO NOTHING RETURNING 1
"""
_STORED = """
SELECT request_hash, status, headers, body FROM gridgeo.idempotency_keys
 WHERE caller = %(caller)s AND key = %(key)s
"""
_REMEMBER = """
UPDATE gridgeo.idempotency_keys SET status = %(status)s, headers = %(headers)s, body = %(body)s
 WHERE caller = %(caller)s AND key = %(key)s
"""


@dataclass(frozen=True)
class Claim:
    """A caller's key and what it was sent with."""

    caller: str
    key: str
    request_hash: bytes

    def params(self, **more: Any) -> dict[str, Any]:
        return {"caller": self.caller, "key": self.key, "hash": self.request_hash, **more}


class _NotKept(Exception):
    """A non-2xx answer: its transaction is rolled back and the key stays free."""

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


def request_key(req: Request) -> str | None:
    """The request's Idempotency-Key, None without one; 400 for a key that cannot be one."""
    key = req.headers.get(KEY_HEADER)
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise RequestError(f"{KEY_HEADER} must be 1 to {MAX_KEY_LENGTH} characters long "
                           f"(it is {len(key)}); a UUID makes a good key.")
    if any(unicodedata.category(c) == "Cc" for c in key):
        raise RequestError(f"{KEY_HEADER} contains control characters; use printable "
                           "characters only, e.g. a UUID.")
    return key


def request_hash(req: Request) -> bytes:
    """What makes two requests the same request: method, path, query and body.

    A form body may have been parsed (and its stream read) before: its fields and files
    count then.
    """
    body = req.get_data()
    form = orjson.dumps(sorted(req.form.items(multi=True)))
    digest = hashlib.sha256()
    for part in (req.method.encode(), req.path.encode(), req.query_string, body, form,
                 _files_digest(req)):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


def _files_digest(req: Request) -> bytes:
    """A multipart body's files (an uploaded photo): another file is another request."""
    digest = hashlib.sha256()
    for name, file in sorted(req.files.items(multi=True), key=lambda pair: pair[0]):
        digest.update(name.encode() + b"\0" + (file.filename or "").encode() + b"\0")
        digest.update(file.stream.read())
        file.stream.seek(0)  # the route reads it again
    return digest.digest()


def respond(req: Request, create: Callable[[], Response]) -> Response:
    """``create()``'s answer, made at most once per caller and Idempotency-Key."""
    key = request_key(req)
    if key is None:
        return create()
    claim = Claim(current_identity().subject or "", key, request_hash(req))
    try:
        with unit_of_work() as conn:
            stored = _claim(conn, claim)
            if stored is not None:
                return stored
            response = create()
            if not 200 <= response.status_code < 300:
                raise _NotKept(response)
            _remember(conn, claim, response)
            return response
    except _NotKept as not_kept:
        return not_kept.response


def idempotent(view: Callable[..., Any]) -> Callable[..., Response]:
    """A create route that honours Idempotency-Key (see ``respond``)."""
    if getattr(view, "gridgeo_idempotent", False):
        return view  # type: ignore[no-any-return]

    @functools.wraps(view)
    def create(*args: Any, **kwargs: Any) -> Response:
        return respond(request, lambda: make_response(view(*args, **kwargs)))

    create.gridgeo_idempotent = True  # type: ignore[attr-defined]
    return create


def _claim(conn: psycopg.Connection, claim: Claim) -> Response | None:
    """Take the key for this request (None), or the stored answer of its first use."""
    ttl = get_settings().idempotency_ttl_s
    conn.execute(_PURGE, {"ttl": ttl, "batch": _PURGE_BATCH})
    for _ in range(3):  # a stored key may expire and be purged between two statements
        if _insert(conn, claim, ttl):
            return None
        row = conn.execute(_STORED, claim.params()).fetchone()
        if row is not None:
            return _stored_answer(claim, row)
    raise _in_progress(claim)


def _insert(conn: psycopg.Connection, claim: Claim, ttl: int) -> bool:
    """Insert the key; a concurrent first use is waited for, briefly (lock_timeout)."""
    try:
        with conn.transaction():
            conn.execute(_FORGET_EXPIRED, claim.params(ttl=ttl))
            conn.execute("SELECT set_config('lock_timeout', %s, true)", (IN_PROGRESS_WAIT,))
            inserted = conn.execute(_INSERT, claim.params()).fetchone() is not None
    except psycopg.errors.LockNotAvailable:
        raise _in_progress(claim) from None
    finally:
        if not conn.broken:
            conn.execute("SET LOCAL lock_timeout TO DEFAULT")
    return inserted


def _stored_answer(claim: Claim, row: tuple[Any, ...]) -> Response:
    stored_hash, status, headers, body = row
    if bytes(stored_hash) != claim.request_hash:
        raise RequestError(f"{KEY_HEADER} {claim.key!r} was used for another request (another "
                           "body, path or method); send a new key with every new request.",
                           422, "UnprocessableEntity")
    if status is None:
        raise _in_progress(claim)
    answer = Response(bytes(body or b""), status=status, headers=headers)
    answer.headers[REPLAYED_HEADER] = "true"
    return answer


def _remember(conn: psycopg.Connection, claim: Claim, response: Response) -> None:
    headers = {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers}
    conn.execute(_REMEMBER, claim.params(status=response.status_code, headers=Jsonb(headers),
                                         body=response.get_data()))


def _in_progress(claim: Claim) -> RequestError:
    return RequestError(f"a request with {KEY_HEADER} {claim.key!r} is still in progress; "
                        "retry in a moment to get its answer.", 409, "Conflict")
