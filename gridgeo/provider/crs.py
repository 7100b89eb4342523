"""Output and input CRSs: URIs to integer SRIDs (PostGIS transforms fast only with those)."""

from __future__ import annotations

from dataclasses import dataclass

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@dataclass(frozen=True)
class OutputCrs:
    """How to write coordinates: target SRID, axis flip, decimal digits."""

    srid: int
    lat_first: bool
    digits: int


# Geographic EPSG CRSs are defined latitude first; CRS84 is longitude first.
_KNOWN = {
    CRS84: OutputCrs(4326, False, 7),
    _EPSG + "4326": OutputCrs(4326, True, 7),
    _EPSG + "4490": OutputCrs(4490, True, 7),
    _EPSG + "3857": OutputCrs(3857, False, 2),
}


def output_crs(uri: str | None) -> OutputCrs:
    """The output CRS for a ``crs`` URI; CRS84 when none was asked for."""
    try:
        return _KNOWN[uri or CRS84]
    except KeyError:
        raise ValueError(f"unsupported CRS {uri}; use one of {', '.join(_KNOWN)}") from None


def storage_bbox_xy(bbox: list[float], storage_lat_first: bool = True) -> list[float]:
    """pygeoapi hands bboxes over in the storage CRS's authority axis order; return x/y order."""
    if len(bbox) == 6:
        bbox = [bbox[0], bbox[1], bbox[3], bbox[4]]
    if storage_lat_first:
        return [bbox[1], bbox[0], bbox[3], bbox[2]]
    return list(bbox)
