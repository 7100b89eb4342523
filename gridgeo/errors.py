"""Client errors with a sentence that says what to fix, as OGC exception documents."""

from __future__ import annotations

from http import HTTPStatus

import orjson
import psycopg
from flask import Response


class RequestError(Exception):
    """A request gridgeo refuses; ``message`` is shown to the client as is."""

    def __init__(self, message: str, status: int = HTTPStatus.BAD_REQUEST,
                 code: str = "InvalidParameterValue"):
        super().__init__(message)
        self.message = message
        self.status = int(status)
        self.code = code

    def response(self) -> Response:
        body = {"type": self.code, "code": self.code, "title": HTTPStatus(self.status).phrase,
                "status": self.status, "description": self.message}
        return Response(orjson.dumps(body), status=self.status, mimetype="application/json")


class NotFound(RequestError):
    def __init__(self, message: str):
        super().__init__(message, HTTPStatus.NOT_FOUND, "NotFound")


def trigger_refusal(exc: psycopg.Error, fallback: str) -> RequestError | None:
    """The refusal a gridgeo trigger raised (``RAISE ... USING ERRCODE = 'GG409'``) as the
    HTTP status and sentence it chose; None for any other database error."""
    state = exc.diag.sqlstate or ""
    if state.startswith("GG") and state[2:].isdigit():
        return RequestError(exc.diag.message_primary or fallback, int(state[2:]))
    return None
