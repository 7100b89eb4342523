"""GPX 1.1 for a phone's map app: one track per patrol, a waypoint per stop."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape, quoteattr

GPX_NS = "http://www.topografix.com/GPX/1/1"
XSD = "schema/gpx-1.1.xsd"


def _time(value: str | None) -> str:
    if not value:
        return ""
    when = dt.datetime.fromisoformat(value).astimezone(dt.UTC)
    return f"<time>{when.strftime('%Y-%m-%dT%H:%M:%SZ')}</time>"


def _text(tag: str, value: Any) -> str:
    return f"<{tag}>{escape(str(value))}</{tag}>" if value not in (None, "") else ""


def _pt(tag: str, lon: float, lat: float, body: str = "") -> str:
    return f"<{tag} lat={quoteattr(f'{lat:.7f}')} lon={quoteattr(f'{lon:.7f}')}>{body}</{tag}>"


def patrols_to_gpx(patrols: list[dict[str, Any]], title: str = "gridgeo patrol") -> bytes:
    """``patrols``: dicts with route_no, name, starts_at (ISO), coordinates [[lon, lat]…]
    and stops [{seq, name, task, arrival, lon, lat}]."""
    created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<gpx version="1.1" creator="gridgeo" xmlns="{GPX_NS}">',
           f"<metadata>{_text('name', title)}<time>{created}</time></metadata>"]
    for p in patrols:
        for s in p["stops"]:
            body = (_time(s.get("arrival")) + _text("name", f"{s['seq']}. {s['name']}")
                    + _text("desc", s.get("task")) + _text("type", s.get("collection")))
            out.append(_pt("wpt", s["lon"], s["lat"], body))
    for p in patrols:
        desc = f"{p.get('length_m', 0) / 1000:.1f} km, {p.get('duration_s', 0) / 60:.0f} min"
        points = "".join(_pt("trkpt", lon, lat) for lon, lat in p["coordinates"])
        out.append(f"<trk>{_text('name', p['route_no'] + ' ' + p['name'])}"
                   f"{_text('desc', desc)}<trkseg>{points}</trkseg></trk>")
    out.append("</gpx>")
    return "\n".join(out).encode("utf-8")


def gpx_schema():  # type: ignore[no-untyped-def]
    """The GPX 1.1 schema shipped with this plugin, as an lxml XMLSchema."""
    from lxml import etree

    path = resources.files("gridgeo_plugins.patrol").joinpath(XSD)
    with resources.as_file(path) as file:
        return etree.XMLSchema(etree.parse(str(file)))
