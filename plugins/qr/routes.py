"""QR routes: the redirect printed in every code, the code images, the door-plate sheet."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, redirect
from gridgeo_plugins.qr.images import Plate, plate_sheet_svg, qr_png, qr_svg
from gridgeo_plugins.qr.notice import notice_page
from gridgeo_plugins.qr.targets import QrKind, qr_kinds
from psycopg import sql
from werkzeug.wrappers import Response as WerkzeugResponse

from gridgeo.db.pool import connection
from gridgeo.errors import NotFound, RequestError
from gridgeo.security.access import allowed_for
from gridgeo.settings import get_settings

blueprint = Blueprint("gridgeo_qr", __name__)
_CODE = re.compile(r"^[0-9A-Za-z]{1,40}$")
MAX_PLATES = 2000


def public_url() -> str:
    """The URL clients reach (pygeoapi's server.url), without a trailing slash."""
    return get_settings().server_url


def _kind(letter: str) -> QrKind:
    kinds = qr_kinds()
    kind = kinds.get(letter)
    if kind is None:
        known = ", ".join(f"{k.letter} ({k.collection})" for k in kinds.values())
        raise NotFound(f"no QR kind {letter!r}; the kinds are {known}.")
    return kind


def find_target(letter: str, code: str) -> tuple[QrKind, Any, str]:
    """The target's collection, its id and its QR payload, or a 404."""
    kind = _kind(letter)
    if not _CODE.match(code):
        raise NotFound(f"{code!r} is not a code of a {kind.collection} item.")
    with connection() as conn:
        row = conn.execute(sql.SQL("SELECT id, qr_payload FROM {} WHERE {} = %s").format(
            kind.view, sql.Identifier(kind.code_column)), (code,)).fetchone()
    if row is None:
        raise NotFound(f"no item of {kind.collection} has the code {code}.")
    return kind, row[0], row[1]


@blueprint.get("/q/<letter>/<code>")
def scanned(letter: str, code: str) -> WerkzeugResponse:
    """Where a phone lands after scanning a code: the item's own page, or, for a caller
    who may not read the collection (a resident scanning an adit plate), a notice page."""
    kind, item_id, _ = find_target(letter, code)
    if not allowed_for(kind.collection, "read"):
        return Response(notice_page(kind, code), mimetype="text/html",
                        headers={"Cache-Control": "no-cache"})
    return redirect(f"{public_url()}/collections/{kind.collection}/items/{item_id}?f=html",
                    code=302)


@blueprint.get("/qr/<letter>/<code>.<ext>")
def image(letter: str, code: str, ext: str) -> Response:
    """The QR code of one item, as SVG or PNG."""
    if ext not in ("svg", "png"):
        raise RequestError(f"QR images come as .svg or .png, not .{ext}.", 404, "NotFound")
    _, _, payload = find_target(letter, code)
    if ext == "png":
        return Response(qr_png(payload), mimetype="image/png")
    return Response(qr_svg(payload), mimetype="image/svg+xml")


_PLATES = """
SELECT qr_payload, village || road || house_number || coalesce(building, '')
           || coalesce(unit, '') || coalesce(room, ''),
       county || township, grid_name, grid_worker_names, grid_worker_phones
  FROM gridgeo.addresses_view WHERE grid_code = %(grid)s OR dedicated_grid_code = %(grid)s
 ORDER BY address_code LIMIT %(limit)s
"""


@blueprint.get("/qr/plates/<grid_code>.svg")
def plates(grid_code: str) -> Response:
    """A printable sheet of door plates for every address of a unit grid."""
    with connection() as conn:
        grid = conn.execute("SELECT name, level FROM gridgeo.grids WHERE code = %s",
                            (grid_code,)).fetchone()
        if grid is None:
            raise NotFound(f"no grid has the code {grid_code}.")
        rows = conn.execute(_PLATES, {"grid": grid_code, "limit": MAX_PLATES + 1}).fetchall()
    if len(rows) > MAX_PLATES:
        raise RequestError(f"grid {grid_code} has more than {MAX_PLATES} addresses; print "
                           "the sheets of its unit grids one by one.")
    if not rows:
        raise RequestError(f"grid {grid_code} ({grid[0]}, level {grid[1]}) has no addresses; "
                           "door-plate sheets are made per unit grid.", 404, "NotFound")
    sheet = [Plate(r[0], [r[1], r[2], f"网格：{r[3] or '-'}",
                          f"网格员：{r[4] or '-'} {r[5] or ''}".rstrip()]) for r in rows]
    svg = plate_sheet_svg(f"{grid[0]}（{grid_code}）门牌二维码", sheet)
    return Response(svg, mimetype="image/svg+xml",
                    headers={"Content-Disposition": f'inline; filename="plates-{grid_code}.svg"'})
