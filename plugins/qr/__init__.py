"""QR codes for door plates, greenhouses and adits, and where scanning one leads.

``/q/{a|g|k}/{code}`` (the URL printed in every code) redirects to the item's page;
``/qr/{kind}/{code}.svg|.png`` draws the code; ``/qr/plates/{grid}.svg`` is a printable
sheet of door plates for every address of a grid, with the address and the grid workers
to call, in Chinese.
"""

from __future__ import annotations

from flask import Blueprint

from gridgeo import hookimpl


@hookimpl
def gridgeo_blueprints() -> list[Blueprint]:
    from gridgeo_plugins.qr.routes import blueprint

    return [blueprint]


@hookimpl
def gridgeo_openapi_paths(server_url: str) -> dict[str, dict[str, object]]:
    from gridgeo.openapi_ops import answer, in_path, operation, refusal

    letter = in_path("letter", "a (address), g (greenhouse) or k (adit)", enum=["a", "g", "k"])
    code = in_path("code", "the item's code, as printed")
    missing = refusal("No item has that code.")
    return {
        "/q/{letter}/{code}": {"get": operation(
            "Where scanning a printed code leads: the item's page", "getScannedCode", "qr",
            {"302": {"description": "Redirect to the item's HTML page."}, "404": missing},
            [letter, code])},
        "/qr/{letter}/{code}.{ext}": {"get": operation(
            "An item's QR code as an image", "getQrImage", "qr",
            {"200": {"description": "The QR code.", "content": {
                "image/svg+xml": {"schema": {"type": "string"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}}}},
             "404": missing},
            [letter, code, in_path("ext", "svg or png", enum=["svg", "png"])])},
        "/qr/plates/{grid_code}.svg": {"get": operation(
            "A printable sheet of door plates for a unit grid's addresses", "getQrPlates", "qr",
            {"200": answer("The sheet.", "image/svg+xml"),
             "400": refusal("The grid has too many addresses for one sheet."),
             "404": refusal("No such grid, or it has no addresses.")},
            [in_path("grid_code", "a unit grid's code")])},
    }
