"""A town's real roads: OpenStreetMap or a line file in, a routable gridgeo.roads out.

Noding, snapping and pricing run vectorised in shapely/numpy in the metric CRS; the
database gets the edges by COPY and answers the connectivity with pgRouting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridgeo.importer.deployment import adopt_metric_srid, terrain_changed
from gridgeo.road_classes import ROAD_CLASSES, SPEED_KMH

NODINGS = ("endpoints", "crossings")
SNAP_M = 0.5
GRID_M = 0.01  # snap-rounding grid of the noding: crossings land on shared coordinates

_OSM_CLASS = {
    **dict.fromkeys(("motorway", "trunk", "primary", "secondary", "motorway_link",
                     "trunk_link", "primary_link", "secondary_link"), "county"),
    **dict.fromkeys(("tertiary", "tertiary_link"), "township"),
    **dict.fromkeys(("unclassified", "residential", "living_street", "service", "road"),
                    "village"),
    "track": "track",
    **dict.fromkeys(("path", "footway", "cycleway", "steps", "pedestrian", "bridleway",
                     "corridor", "trail"), "path"),
}
_ONEWAY = {"yes", "1", "true"}


@dataclass(frozen=True)
class RoadLine:
    geom: shapely.LineString   # lon/lat, EPSG:4490 (treat WGS84 == CGCS2000)
    road_class: str            # one of ROAD_CLASSES
    name: str | None = None
    oneway: bool = False       # True: only drivable from first to last vertex


@dataclass(frozen=True)
class RoadsReport:
    edges: int
    nodes: int
    components: int
    largest_component_share: float  # share of the road length in the largest component
    km_by_class: dict[str, float]
    walk_costs: bool
    seconds: float


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def read_osm_roads(pbf: Path, bbox: tuple[float, float, float, float] | None = None,
                   progress: Callable[[str], None] = lambda _m: None) -> list[RoadLine]:
    """Roads from an OpenStreetMap PBF, split at OSM junction nodes by pyrosm; highway tags
    map to road classes, other ways (construction, platforms...) are left out."""
    from pyrosm import OSM

    progress(f"Reading the OpenStreetMap roads of {pbf.name}")
    osm = OSM(str(pbf), bounding_box=list(bbox) if bbox else None)
    edges = osm.get_network(network_type="all", nodes=True)[1]
    if edges is None or len(edges) == 0:
        return []
    lines = roads_from_osm_edges(edges)
    skipped = int((~edges["highway"].isin(_OSM_CLASS)).sum())
    progress(f"{len(lines):,} road edges from OpenStreetMap ({skipped:,} edges of other "
             "kinds, such as construction or platforms, left out)")
    return lines


def roads_from_osm_edges(edges: Any) -> list[RoadLine]:
    """RoadLines from a GeoDataFrame of OSM ways or edges (highway, oneway, name, geometry in
    lon/lat); MultiLineStrings become one RoadLine per part."""
    road_class = edges["highway"].map(_OSM_CLASS).to_numpy()
    oneway = (edges["oneway"].astype("string").str.lower().to_numpy()
              if "oneway" in edges else np.full(len(edges), None))
    names = edges["name"].to_numpy() if "name" in edges else np.full(len(edges), None)
    parts, index = shapely.get_parts(np.asarray(edges.geometry.to_numpy()), return_index=True)
    lines = []
    for geom, i in zip(parts, index, strict=True):
        if not isinstance(road_class[i], str) or geom.is_empty or geom.geom_type != "LineString":
            continue
        way = oneway[i] if isinstance(oneway[i], str) else ""
        if way == "-1":  # drawn against the traffic
            geom = shapely.reverse(geom)
        lines.append(RoadLine(geom, road_class[i], _text(names[i]),
                              way in _ONEWAY or way == "-1"))
    return lines


def _transformed(geoms: np.ndarray, transformer: Transformer) -> np.ndarray:
    def move(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    return shapely.transform(geoms, move)


def _snap_ends_onto_lines(lines: np.ndarray) -> np.ndarray:
    """Move a line end lying within SNAP_M of another line onto it, so the noding splits
    that line there (a T-junction drawn a little short or a little over)."""
    n = len(lines)
    ends = np.concatenate([shapely.get_point(lines, 0), shapely.get_point(lines, -1)])
    end_i, line_j = shapely.STRtree(lines).query(ends, predicate="dwithin", distance=SNAP_M)
    other = end_i % n != line_j
    end_i, line_j = end_i[other], line_j[other]
    if len(end_i) == 0:
        return lines
    gap = shapely.distance(ends[end_i], lines[line_j])
    order = np.lexsort((gap, end_i))  # nearest line first for each end
    first = np.r_[True, end_i[order][1:] != end_i[order][:-1]]
    end_i, line_j = end_i[order][first], line_j[order][first]
    target = shapely.line_interpolate_point(
        lines[line_j], shapely.line_locate_point(lines[line_j], ends[end_i]))
    coords, index = shapely.get_coordinates(lines, return_index=True)
    starts = np.searchsorted(index, np.arange(n))
    stops = np.r_[starts[1:], len(index)] - 1
    rows = np.where(end_i < n, starts[end_i % n], stops[end_i % n])
    coords[rows] = shapely.get_coordinates(target)
    return shapely.linestrings(coords, indices=index)


def _node_crossings(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split the lines wherever they cross or touch; each piece with its drawn line."""
    lines = _snap_ends_onto_lines(lines)
    pieces = shapely.get_parts(shapely.unary_union(lines, grid_size=GRID_M))
    pieces = pieces[shapely.length(pieces) > 0]
    middle = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    drawn = shapely.STRtree(lines).query_nearest(middle, all_matches=False)[1]
    turned = _against(pieces, lines[drawn])
    pieces[turned] = shapely.reverse(pieces[turned])
    return pieces, drawn


def _against(pieces: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """Which pieces the overlay turned against their drawn line's direction (it carries
    one-ways). Located by two points close together in each piece's middle: a piece's
    ends are ambiguous on a closed line (a roundabout)."""
    half = shapely.length(pieces) / 2
    step = np.minimum(0.05, half / 2)
    a = shapely.line_locate_point(drawn, shapely.line_interpolate_point(pieces, half))
    b = shapely.line_locate_point(drawn, shapely.line_interpolate_point(pieces, half + step))
    wraps = np.abs(b - a) > shapely.length(drawn) / 2  # across a ring's closing vertex
    return (b < a) != wraps


def _snap_nodes(pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Join end points closer than SNAP_M into one node; edges end exactly on their nodes.

    Returns the edges, their source and target node (0-based) and which pieces were kept.
    """
    coords, index = shapely.get_coordinates(pieces, return_index=True)
    starts = np.searchsorted(index, np.arange(len(pieces)))
    stops = np.r_[starts[1:], len(index)] - 1
    unique, inverse = np.unique(coords[np.r_[starts, stops]], axis=0, return_inverse=True)
    points = shapely.points(unique)
    i, j = shapely.STRtree(points).query(points, predicate="dwithin", distance=SNAP_M)
    near = coo_matrix((np.ones(len(i)), (i, j)), shape=(len(unique), len(unique)))
    n_nodes, label = connected_components(near, directed=False)
    size = np.bincount(label, minlength=n_nodes)
    nodes = np.column_stack([np.bincount(label, unique[:, k], n_nodes) / size for k in (0, 1)])
    ends = label[inverse.ravel()]
    source, target = ends[: len(pieces)], ends[len(pieces):]
    coords[starts], coords[stops] = nodes[source], nodes[target]
    edges = shapely.linestrings(coords, indices=index)
    keep = (source != target) | (shapely.length(edges) > 2 * SNAP_M)  # drop collapsed stubs
    return edges[keep], source[keep], target[keep], keep


def _costs(length: np.ndarray, road_class: np.ndarray, oneway: np.ndarray,
           ) -> tuple[np.ndarray, np.ndarray]:
    """Driving seconds both ways; -1 where a car may not go (paths, against a one-way)."""
    speed = np.array([SPEED_KMH.get(c, np.nan) for c in road_class])
    cost = np.where(np.isnan(speed), -1.0, length / (speed / 3.6))
    return cost, np.where(oneway, -1.0, cost)


def _components(conn: psycopg.Connection) -> tuple[int, float]:
    """Connected parts of the network regardless of direction or mode, and the share of
    road length in the largest."""
    rows = conn.execute(
        "WITH c AS (SELECT node, component FROM pgr_connectedComponents("
        "  'SELECT id, source, target, 1.0 AS cost FROM gridgeo.roads')) "
        "SELECT sum(r.length_m) FROM gridgeo.roads r JOIN c ON c.node = r.source "
        "GROUP BY c.component ORDER BY 1 DESC").fetchall()
    total = sum(r[0] for r in rows)
    return len(rows), (rows[0][0] / total if total else 0.0)


def _write(conn: psycopg.Connection, edges: np.ndarray, source: np.ndarray,
           target: np.ndarray, lines: Sequence[RoadLine], drawn: np.ndarray,
           cost: np.ndarray, reverse_cost: np.ndarray) -> None:
    wkb = shapely.to_wkb(shapely.set_srid(edges, 4490), hex=True, include_srid=True)
    columns = "name, road_class, oneway, source, target, cost, reverse_cost, geom"
    with conn.cursor() as cur, cur.copy(f"COPY gridgeo.roads ({columns}) FROM STDIN") as copy:
        for k, j in enumerate(drawn.tolist()):
            line = lines[j]
            copy.write_row((line.name, line.road_class, line.oneway, int(source[k]) + 1,
                            int(target[k]) + 1, float(cost[k]), float(reverse_cost[k]), wkb[k]))


def _network(lines: Sequence[RoadLine], noding: str, srid: int,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Noded, snapped metric edges: geometry, source and target node, drawn line index."""
    parts, owner = shapely.get_parts(np.array([line.geom for line in lines]),
                                     return_index=True)  # a MultiLineString by mistake: parts
    usable = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 0)
    parts, owner = parts[usable], owner[usable]
    metric = _transformed(parts, Transformer.from_crs(4490, srid, always_xy=True))
    if noding == "crossings":
        pieces, drawn = _node_crossings(metric)
        drawn = owner[drawn]
    else:
        pieces, drawn = metric, owner
    edges, source, target, keep = _snap_nodes(pieces)
    return edges, source, target, drawn[keep]


def _summary(conn: psycopg.Connection, edges: int, nodes: int, walk: bool,
             started: float) -> RoadsReport:
    components, share = _components(conn)
    km: dict[str, float] = {c: float(v) for c, v in conn.execute(
        "SELECT road_class, sum(length_m) / 1000 FROM gridgeo.roads GROUP BY road_class "
        "ORDER BY road_class")}
    return RoadsReport(edges, nodes, components, share, km, walk, time.perf_counter() - started)


def replace_roads(conn: psycopg.Connection, lines: Sequence[RoadLine], *,
                  noding: str = "crossings", dem_path: Path | None = None,
                  progress: Callable[[str], None] = lambda _m: None) -> RoadsReport:
    """Replace gridgeo.roads with a routable network made of ``lines``, inside the caller's
    transaction (never committed here).

    ``noding='endpoints'``: lines join only where their ends meet (OSM edges; a bridge over
    a road stays unjoined); ``'crossings'``: lines are also split where they cross or one
    ends on another. End points closer than 0.5 m become one node. Costs are seconds.
    """
    started = time.perf_counter()
    if noding not in NODINGS:
        raise ValueError(f"noding must be one of {', '.join(NODINGS)}; got {noding!r}")
    if not lines:
        raise ValueError("there are no road lines to import")
    unknown = {line.road_class for line in lines} - set(ROAD_CLASSES)
    if unknown:
        raise ValueError(f"unknown road class(es) {sorted(unknown)}: use {', '.join(ROAD_CLASSES)}")
    x0, y0, x1, y1 = shapely.total_bounds(np.array([line.geom for line in lines]))
    conn.execute("DELETE FROM gridgeo.roads")  # first: a roads-only deployment may move
    srid = adopt_metric_srid(conn, (x0 + x1) / 2, (y0 + y1) / 2)
    progress(f"Noding {len(lines):,} road lines at their "
             f"{'end points' if noding == 'endpoints' else 'crossings'} in EPSG:{srid}")
    edges, source, target, drawn = _network(lines, noding, srid)
    nodes = len(np.unique(np.r_[source, target]))
    progress(f"{len(edges):,} edges between {nodes:,} nodes; writing them")
    road_class = np.array([lines[j].road_class for j in drawn])
    oneway = np.array([lines[j].oneway for j in drawn], bool)
    cost, reverse_cost = _costs(shapely.length(edges), road_class, oneway)
    back = _transformed(edges, Transformer.from_crs(srid, 4490, always_xy=True))
    _write(conn, back, source, target, lines, drawn, cost, reverse_cost)
    conn.execute("ANALYZE gridgeo.roads")
    dem = dem_path if dem_path is not None and dem_path.exists() else None
    if dem is not None:
        progress(f"Walking times from the terrain of {dem}")
        terrain_changed(conn, dem)
    report = _summary(conn, len(edges), nodes, dem is not None, started)
    progress(f"Roads replaced: {report.edges:,} edges, {sum(report.km_by_class.values()):,.1f}"
             f" km, {report.components:,} connected part(s), the largest holding "
             f"{report.largest_component_share:.1%} of the length ({report.seconds:.1f} s)")
    return report
