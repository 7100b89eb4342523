"""Client errors with a sentence that says what to fix, as OGC exception documents."""

from __future__ import annotations

from http import HTTPStatus

import orjson
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
