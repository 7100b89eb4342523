"""The deployment's own settings an import may have to choose: the metric CRS.

A new database starts with the demo town's metric CRS (EPSG:4546, CM 111°E). When the
first real data arrives somewhere else, areas and lengths must be measured in the zone
nearest that data, so an import into an empty database adopts the zone of its extent.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

# CGCS2000 3-degree Gauss-Krüger "CM" zones: EPSG:4534 (CM 75°E) to EPSG:4554 (CM 135°E).
_GK_FIRST_EPSG, _GK_FIRST_CM, _GK_LAST_CM = 4534, 75, 135


def metric_srid_for(lon: float, lat: float) -> int:
    """The metric CRS for data centred at (lon, lat): the CGCS2000 3-degree Gauss-Krüger
    zone whose central meridian is nearest, inside China's zones; UTM elsewhere."""
    central = round(lon / 3) * 3
    if _GK_FIRST_CM <= central <= _GK_LAST_CM:
        return _GK_FIRST_EPSG + (central - _GK_FIRST_CM) // 3
    zone = min(int((lon + 180) // 6) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


def deployment_is_empty(conn: psycopg.Connection) -> bool:
    """True while no grid and no road has been loaded: the metric CRS may still change."""
    row = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM gridgeo.grids)"
                       " AND NOT EXISTS (SELECT 1 FROM gridgeo.roads)").fetchone()
    return bool(row and row[0])


def adopt_metric_srid(conn: psycopg.Connection, lon: float, lat: float) -> int:
    """Set the metric CRS from the data's centre if the deployment is still empty.

    Returns the metric SRID in force afterwards (unchanged when data already exists).
    """
    if deployment_is_empty(conn):
        srid = metric_srid_for(lon, lat)
        conn.execute("UPDATE gridgeo.deployment SET value = %s WHERE key = 'metric_srid'",
                     (str(srid),))
    row = conn.execute("SELECT gridgeo.metric_srid()").fetchone()
    assert row is not None
    return int(row[0])


def terrain_changed(conn: psycopg.Connection, dem_path: Path) -> int:
    """Plugins recompute what hangs on the roads and the terrain (the patrol plugin: the
    walking times) in the caller's transaction; the number of roads they updated."""
    from gridgeo.plugins import get_plugin_manager

    return sum(get_plugin_manager().hook.gridgeo_terrain_changed(conn=conn, dem_path=dem_path))
