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
