"""The field app's files at /field/: the shell, its modules, the service worker, icons.

Served from gridgeo/static/field/ with their own paths (not /static/) because a
service worker controls only the pages below the folder it is served from: /field/sw.js
controls /field/. Every file is revalidated on each load (``no-cache``): the service
worker, not the HTTP cache, is what keeps the app usable offline, and a new release
must reach the phones the next time they are online.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import Blueprint, Response, redirect, request
from werkzeug.wrappers import Response as WerkzeugResponse

import gridgeo
from gridgeo.errors import NotFound

APP = Path(gridgeo.__file__).resolve().parent / "static" / "field"
TYPES = {".js": "text/javascript", ".webmanifest": "application/manifest+json",
         ".css": "text/css", ".html": "text/html", ".png": "image/png",
         ".svg": "image/svg+xml"}


def app_file(name: str) -> Path:
    """The app's file called ``name``; 404 for anything else (no paths outside APP)."""
    path = (APP / name).resolve()
    if path.parent != APP or not path.is_file():
        raise NotFound(f"the field app has no file {name!r}; open /field/.")
    return path


def file_response(path: Path) -> Response:
    media_type = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    response = Response(path.read_bytes(), mimetype=media_type or "application/octet-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    response.make_conditional(request)  # a 304 when the phone's copy is current
    return response


def field_blueprint() -> Blueprint:
    blueprint = Blueprint("gridgeo_field", __name__)

    @blueprint.get("/field")
    def field_root() -> WerkzeugResponse:
        return redirect("/field/", code=308)

    @blueprint.get("/field/")
    def shell() -> Response:
        return file_response(app_file("index.html"))

    @blueprint.get("/field/<name>")
    def app_asset(name: str) -> Response:
        response = file_response(app_file(name))
        if name == "sw.js":
            response.headers["Service-Worker-Allowed"] = "/field/"
        return response

    return blueprint
