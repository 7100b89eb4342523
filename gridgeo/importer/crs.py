"""The source CRS of an imported layer: declared, read from the file, or told from the numbers.

Files from Chinese GIS offices come in CGCS2000 (geographic or Gauss–Krüger), WGS84, and
older data in Xi'an 1980 or Beijing 1954. PROJ knows no published transformation from
those two datums to CGCS2000, only a "ballpark" one that ignores the datum shift (tens of
metres and more): such a layer is refused until the surveying bureau's parameters are
given (``+towgs84=...``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from pyproj.transformer import AreaOfInterest, TransformerGroup

from .problems import ImportError_

TARGET_SRID = 4490
# Datums whose difference from CGCS2000 is below a metre at county scale.
_NEAR_CGCS2000 = re.compile(r"China 2000|CGCS|World Geodetic System 1984|WGS ?84|ITRF|"
                            r"International Terrestrial", re.I)
# CGCS2000 Gauss–Krüger zones with the zone number prefixed to the easting.
_GK3_ZONES = range(25, 46)   # EPSG:4513 (zone 25) .. 4533 (zone 45)
_GK6_ZONES = range(13, 24)   # EPSG:4491 (zone 13) .. 4501 (zone 23)


@dataclass(frozen=True)
class SourceCrs:
    crs: CRS
    note: str  # how it was found, for the report


def parse_crs(text: str) -> CRS:
    """A CRS from what a user writes: ``EPSG:4549``, ``4549``, a WKT or a PROJ string."""
    try:
        return CRS.from_user_input(int(text) if text.strip().isdigit() else text)
    except CRSError as exc:
        raise ImportError_(f"crs '{text}' is not a coordinate reference system PROJ knows; "
                           "write it as EPSG:4490, EPSG:4549 or a PROJ string") from exc


def _in_china(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> bool:
    return bool(lon.min() >= 73 and lon.max() <= 136 and lat.min() >= 3 and lat.max() <= 54)


def guess_crs(xy: NDArray[np.float64], metric_srid: int) -> SourceCrs | None:
    """The CRS the coordinates most likely are in, or None when the numbers do not tell."""
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) == 0:
        return None
    x, y = xy[:, 0], xy[:, 1]
    if _in_china(x, y):
        return SourceCrs(CRS.from_epsg(TARGET_SRID),
                         "no CRS in the file; longitudes and latitudes in China: "
                         "taken as CGCS2000 (EPSG:4490)")
    if _in_china(y, x):
        raise ImportError_("the x coordinates are latitudes and the y coordinates longitudes: "
                           "swap them (coordinates: {x: <longitude column>, y: <latitude "
                           "column>})")
    zones = np.unique((x // 1_000_000).astype(int))
    if len(zones) == 1 and y.min() > 0 and y.max() < 6_000_000:
        zone = int(zones[0])
        if zone in _GK3_ZONES:
            epsg = 4513 + zone - _GK3_ZONES.start
            return SourceCrs(CRS.from_epsg(epsg), f"no CRS in the file; eastings carry "
                             f"zone {zone}: taken as CGCS2000 3-degree zone (EPSG:{epsg})")
        if zone in _GK6_ZONES:
            epsg = 4491 + zone - _GK6_ZONES.start
            return SourceCrs(CRS.from_epsg(epsg), f"no CRS in the file; eastings carry "
                             f"zone {zone}: taken as CGCS2000 6-degree zone (EPSG:{epsg})")
        if zone == 0 and x.min() > 100_000 and x.max() < 900_000:
            return SourceCrs(CRS.from_epsg(metric_srid),
                             "no CRS in the file; Gauss–Krüger coordinates without a zone "
                             f"prefix: taken as the deployment's zone EPSG:{metric_srid} "
                             "(set crs: if they belong to another zone)")
    return None


def resolve_crs(declared: str, found: CRS | None, xy: NDArray[np.float64],
                metric_srid: int) -> SourceCrs:
    """The CRS to read a layer in: the mapping's ``crs`` unless ``auto``, then the file's,
    then a guess from the coordinates; refuses what cannot be known."""
    if declared != "auto":
        crs = parse_crs(declared)
        note = f"as the mapping says ({crs.to_string()})"
        if found is not None and not found.equals(crs, ignore_axis_order=True):
            note += f"; the file itself says {found.name}"
        return SourceCrs(crs, note)
    if found is not None:
        return SourceCrs(found, f"from the file ({found.name})")
    guess = guess_crs(xy, metric_srid)
    if guess is None:
        raise ImportError_("the file has no CRS and its coordinates do not tell which one "
                           "they are in; add crs: (e.g. EPSG:4490 or EPSG:4549) to the mapping")
    return guess


def _area(crs: CRS, xy: NDArray[np.float64]) -> AreaOfInterest | None:
    """Where the data lies, roughly, so PROJ picks a transformation valid there."""
    if len(xy) == 0:
        return None
    rough = Transformer.from_crs(crs, TARGET_SRID, always_xy=True)
    lon, lat = rough.transform(xy[:, 0], xy[:, 1])
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        return None
    return AreaOfInterest(float(np.min(lon)), float(np.min(lat)), float(np.max(lon)),
                          float(np.max(lat)))


def _group(crs: CRS, target: int, area: AreaOfInterest | None, notes: list[str] | None
           ) -> TransformerGroup:
    """PROJ's transformations, best first; a missing grid file becomes a sentence in
    ``notes`` (pyproj only warns, in words meant for programmers)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # said below, as a sentence
        group = TransformerGroup(crs, target, always_xy=True, area_of_interest=area)
    if not group.best_available and notes is not None and group.transformers:
        grids = sorted({g.short_name for op in group.unavailable_operations for g in op.grids
                        if not g.available})
        used = group.transformers[0]
        accuracy = (f" (accurate to about {used.accuracy:g} m)" if used.accuracy and
                    used.accuracy > 0 else "")
        notes.append(f"PROJ's most accurate transformation from {crs.name} needs the grid "
                     f"file{'s' if len(grids) > 1 else ''} {', '.join(grids) or 'it lacks'}, "
                     f"which {'are' if len(grids) > 1 else 'is'} not installed here; the next "
                     f"best was used{accuracy}. For the best, install the grid into PROJ's "
                     "data directory (projsync --file NAME) and import again")
    return group


def to_cgcs2000(crs: CRS, xy: NDArray[np.float64] | None = None,
                notes: list[str] | None = None) -> Transformer:
    """A transformer to EPSG:4490 (x = longitude), refusing datum shifts PROJ does not know.

    WGS84 and CGCS2000 agree within a metre here, so another datum goes through the best
    published transformation to WGS84 valid where the data lies (Beijing 1954 has some;
    a ``+towgs84`` in the CRS is one). PROJ's "ballpark" offsets, which ignore the datum
    shift (tens of metres and more), are refused.
    """
    area = _area(crs, xy) if xy is not None else None
    datum = crs.geodetic_crs.datum.name if crs.geodetic_crs and crs.geodetic_crs.datum else ""
    if _NEAR_CGCS2000.search(datum) and not crs.is_bound:  # bound: carries +towgs84
        group = _group(crs, TARGET_SRID, area, notes)
        if group.transformers:
            return group.transformers[0]
    group = _group(crs, 4326, area, notes)
    published = [t for t in group.transformers if "Ballpark" not in t.description]
    if published:
        return published[0]
    raise ImportError_(
        f"{crs.name} ({datum}) differs from CGCS2000 by tens of metres and PROJ knows no "
        "published transformation between them; give your surveying bureau's parameters "
        "as crs: '+proj=... +towgs84=dx,dy,dz,rx,ry,rz,s' in the mapping")
