"""A layer of polygons read from PostGIS straight into the metric CRS.

PostGIS transforms and encodes each geometry as WKB in one query, the rows come
back over a binary cursor, and shapely decodes them all in one vectorised call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import psycopg
import shapely
from numpy.typing import NDArray
from psycopg import sql


@dataclass(frozen=True)
class Layer:
    """Polygons with their codes, all in one metric CRS (``srid``).

    ``attributes`` holds further columns as arrays aligned with ``codes``.
    """

    srid: int
    codes: NDArray[np.object_]
    geoms: NDArray[np.object_]
    attributes: dict[str, NDArray[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.codes)

    @cached_property
    def areas(self) -> NDArray[np.float64]:
        """Areas in m², computed once per layer."""
        return shapely.area(self.geoms)  # type: ignore[no-any-return]

    def subset(self, index: NDArray[np.intp]) -> Layer:
        """The rows at ``index``, attributes included."""
        return Layer(self.srid, self.codes[index], self.geoms[index],
                     {k: v[index] for k, v in self.attributes.items()})


def layer_from_geoms(codes: list[str], geoms: list[Any] | NDArray[np.object_], srid: int,
                     **attributes: list[Any]) -> Layer:
    """A layer from plain Python lists (tests, generated data)."""
    return Layer(srid, np.asarray(codes, dtype=object), np.asarray(geoms, dtype=object),
                 {k: np.asarray(v, dtype=object) for k, v in attributes.items()})


def read_layer(conn: psycopg.Connection, query: sql.Composed | sql.SQL, params: dict[str, Any],
               srid: int, columns: tuple[str, ...] = ()) -> Layer:
    """Run ``query`` and return its rows as a layer.

    The query must select ``code``, then ``wkb`` (``ST_AsBinary`` of the geometry
    already transformed to ``srid``), then ``columns`` in that order.
    """
    with conn.cursor(binary=True) as cur:
        cur.execute(query, params)
        rows = cur.fetchall()
    codes = np.fromiter((row[0] for row in rows), dtype=object, count=len(rows))
    wkb = np.fromiter((row[1] for row in rows), dtype=object, count=len(rows))
    geoms = shapely.from_wkb(wkb) if len(rows) else np.empty(0, dtype=object)
    extra = {name: np.fromiter((row[2 + i] for row in rows), dtype=object, count=len(rows))
             for i, name in enumerate(columns)}
    return Layer(srid, codes, geoms, extra)


def metric_srid(conn: psycopg.Connection) -> int:
    """The deployment's metric CRS (``gridgeo.metric_srid()``)."""
    row = conn.execute("SELECT gridgeo.metric_srid()").fetchone()
    if row is None or row[0] is None:
        raise LookupError("gridgeo.deployment has no metric_srid")
    return int(row[0])
