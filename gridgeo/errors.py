"""Client errors with a sentence that says what to fix, as OGC exception documents."""

from __future__ import annotations

import logging
from http import HTTPStatus

import orjson
import psycopg
from flask import Response
from psycopg_pool import PoolTimeout


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


class DatabaseUnavailable(RequestError):
    """The database cannot be reached (down, restarting, every connection lost): a 503
    that tells the client when to try again, instead of a long wait and a 500."""

    RETRY_AFTER_S = 5

    def __init__(self) -> None:
        super().__init__("the database cannot be reached (or has no free connection) at the "
                         "moment; try again in a few seconds (send a create again with the "
                         "same Idempotency-Key and it is never made twice).",
                         HTTPStatus.SERVICE_UNAVAILABLE, "ServiceUnavailable")

    def response(self) -> Response:
        response = super().response()
        response.headers["Retry-After"] = str(self.RETRY_AFTER_S)
        return response


# Connection failures (class 08), and the server shutting down, crashed or still starting.
_UNREACHABLE_STATES = ("57P01", "57P02", "57P03")


def database_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot be reached, not that it refused a query
    (a statement timeout is an OperationalError too, with its own SQLSTATE)."""
    if isinstance(exc, DatabaseUnavailable | PoolTimeout):
        return True
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate or ""
    return state == "" or state.startswith("08") or state in _UNREACHABLE_STATES


def trigger_refusal(exc: psycopg.Error, fallback: str) -> RequestError | None:
    """The refusal a gridgeo trigger raised (``RAISE ... USING ERRCODE = 'GG409'``) as the
    HTTP status and sentence it chose, a 503 when the database cannot be reached; None for
    any other database error."""
    if database_unreachable(exc):
        return DatabaseUnavailable()
    state = exc.diag.sqlstate or ""
    if state.startswith("GG") and state[2:].isdigit():
        return RequestError(exc.diag.message_primary or fallback, int(state[2:]))
    return None


def write_refusal(exc: psycopg.Error, refused: str, failed: str) -> RequestError:
    """What a client hears of a failed write: a trigger's own refusal (``refused`` when it
    gave no sentence) or a 503, else the generic ``failed`` (the raw text is only logged)."""
    refusal = trigger_refusal(exc, refused)
    if refusal is not None:
        return refusal
    logging.getLogger(__name__).error("write failed: %s", exc)
    return RequestError(failed, 500, "ServerError")
