"""Streets inside settlements and tracks into the mountains, as named polylines.

Every street starts on a point of an existing road (or at a network node), so noding the
whole set later joins it to the network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from shapely.geometry import LineString, Point, Polygon

from gridgeo.demo import names
from gridgeo.demo.terrain import Terrain
from gridgeo.demo.valleys import Settlement, Valleys

OVERSHOOT_M = 0.5


@dataclass
class RoadLine:
    """A named road as drawn, before noding into edges."""

    line: LineString
    road_class: str
    name: str
    seat_street: bool = False


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _bent_line(start: np.ndarray, direction: np.ndarray, length: float,
               rng: np.random.Generator) -> LineString:
    """A slightly bent street from a point on another road. It starts half a metre behind
    that point, so it crosses the road and noding finds the junction; the stub is dropped
    when the graph is built."""
    normal = np.array([-direction[1], direction[0]])
    bend = rng.normal(0.0, 0.06) * length
    return LineString([start - direction * OVERSHOOT_M, start + direction * length * 0.5
                       + normal * bend, start + direction * length])


def _anchors(line: LineString, centre: Point, reach: float, count: int,
             rng: np.random.Generator) -> np.ndarray:
    """Positions along ``line`` within ``reach`` of the settlement centre."""
    around = line.project(centre)
    low, high = max(25.0, around - reach), min(line.length - 25.0, around + reach)
    if high - low < 40.0:
        return np.empty(0)
    return np.sort(rng.uniform(low, high, count))


def _lane(line: LineString, position: float, terrain: Terrain,
          rng: np.random.Generator) -> tuple[LineString, int, np.ndarray]:
    """A lane leaving ``line`` at ``position`` to one side, roughly square to it and about
    as long as the valley floor is wide there; also its side and direction."""
    start = np.array(line.interpolate(position).coords[0])
    ahead = np.array(line.interpolate(min(line.length, position + 2.0)).coords[0])
    behind = np.array(line.interpolate(max(0.0, position - 2.0)).coords[0])
    tangent = _unit(ahead - behind)
    side = 1 if rng.random() < 0.5 else -1
    angle = rng.normal(0.0, 0.2)
    normal = side * np.array([-tangent[1], tangent[0]])
    direction = _unit(normal * math.cos(angle) + tangent * math.sin(angle))
    width = float(terrain.floor_width_at(start[:1], start[1:])[0])
    return _bent_line(start, direction, rng.uniform(0.35, 0.8) * width, rng), side, direction


def _settlement_lanes(settlement: Settlement, lines: list[LineString], terrain: Terrain,
                      count: int, reach: float, rng: np.random.Generator) -> list[RoadLine]:
    """Lanes off the roads through a settlement, some with a branch, some joined at their
    far ends by a back street (which closes blocks)."""
    centre = Point(settlement.x, settlement.y)
    lanes: list[RoadLine] = []
    ends: dict[int, list[tuple[float, np.ndarray]]] = {1: [], -1: []}
    per_line = max(1, count // max(1, len(lines)))
    number = 0
    for line in lines:
        for position in _anchors(line, centre, reach, per_line, rng):
            lane, side, direction = _lane(line, position, terrain, rng)
            number += 1
            name = f"{settlement.stem}{names.chinese_number(number)}巷"
            lanes.append(RoadLine(lane, "village", name))
            ends[side].append((position, np.array(lane.coords[-1])))
            if rng.random() < 0.4:
                fork = np.array(lane.interpolate(rng.uniform(0.4, 1.0), normalized=True).coords[0])
                turn = np.array([-direction[1], direction[0]]) * (1 if rng.random() < 0.5 else -1)
                branch = _bent_line(fork, turn, rng.uniform(40.0, 120.0), rng)
                lanes.append(RoadLine(branch, "village", f"{name}支巷"))
    for side_ends in ends.values():
        side_ends.sort(key=lambda e: e[0])
        for (_, a), (_, b) in pairwise(side_ends):
            if 30.0 < np.linalg.norm(b - a) < 160.0 and rng.random() < 0.5:
                lanes.append(RoadLine(LineString([a, b]), "village",
                                      f"{settlement.stem}后街"))
    return lanes


def _seat_grid(seat: Settlement, towards: np.ndarray, rng: np.random.Generator
               ) -> list[RoadLine]:
    """The town seat's streets: a rotated grid of named streets around the centre."""
    u = _unit(towards - np.array([seat.x, seat.y]))
    v = np.array([-u[1], u[0]])
    centre = np.array([seat.x, seat.y])
    street_names = iter(names.seat_streets(rng))
    disc = Point(seat.x, seat.y).buffer(820.0)
    streets = []
    for k in (-2, -1, 1, 2):
        offset = centre + v * k * rng.uniform(140.0, 175.0)
        line = LineString([offset - u * 760.0, offset + u * 760.0])
        streets.append(RoadLine(line, "village", next(street_names), seat_street=True))
    for k in range(-3, 4):
        offset = centre + u * k * rng.uniform(170.0, 200.0)
        line = LineString([offset - v * 380.0, offset + v * 380.0])
        name = next(street_names).replace("路", "街")
        streets.append(RoadLine(line, "village", name, seat_street=True))
    for street in streets:
        clipped = street.line.intersection(disc)
        street.line = clipped if isinstance(clipped, LineString) else street.line
    return streets


def _walk(start: np.ndarray, heading: float, length: float, inside: Polygon,
          rng: np.random.Generator, step: float = 60.0) -> LineString | None:
    points = [start]
    for _ in range(int(length / step)):
        heading += rng.normal(0.0, 0.25)
        nxt = points[-1] + step * np.array([math.cos(heading), math.sin(heading)])
        if not inside.contains(Point(nxt)):
            break
        points.append(nxt)
    return LineString(points) if len(points) >= 3 else None


def _uphill_heading(start: np.ndarray, terrain: Terrain) -> float:
    headings = np.linspace(0, 2 * math.pi, 16, endpoint=False)
    probe = start + 700.0 * np.column_stack([np.cos(headings), np.sin(headings)])
    return float(headings[np.argmax(terrain.valley_distance_at(probe[:, 0], probe[:, 1]))])


def _mountain_tracks(valleys: Valleys, terrain: Terrain, outline: Polygon,
                     rng: np.random.Generator) -> list[RoadLine]:
    inside = outline.buffer(-250.0)
    tracks: list[RoadLine] = []
    for village in (n for n in valleys.nodes if n.kind == "village"):
        if rng.random() > 0.55:
            continue
        start = np.array([village.x, village.y])
        track = _walk(start, _uphill_heading(start, terrain), rng.uniform(800, 2200), inside,
                      rng)
        if track is None:
            continue
        tracks.append(RoadLine(track, "track", f"{village.stem}林道"))
        if rng.random() < 0.6:
            end = np.array(track.coords[-1])
            path = _walk(end, _uphill_heading(end, terrain), rng.uniform(300, 800), inside,
                         rng, step=40.0)
            if path is not None:
                tracks.append(RoadLine(path, "path", f"{village.stem}山道"))
    return tracks


def _mine_tracks(zone: Polygon, roads: list[RoadLine], stem: str,
                 rng: np.random.Generator) -> list[RoadLine]:
    """An access track from the nearest valley road into the mining area, with spurs."""
    centre = zone.centroid
    main = [r.line for r in roads if r.road_class in ("county", "township", "village")]
    nearest = min(main, key=lambda line: line.distance(centre))
    start = np.array(nearest.interpolate(nearest.project(centre)).coords[0])
    target = np.array(centre.coords[0])
    span = np.linalg.norm(target - start)
    steps = max(3, int(span / 60.0))
    t = np.linspace(0.0, 1.0, steps + 1)[:, None]
    direction = _unit(target - start)
    wiggle = np.sin(math.pi * t) * rng.normal(0.0, 0.08) * span
    access = start + t * (target - start) + wiggle * np.array([-direction[1], direction[0]])
    access[0] = start
    access = np.vstack([start - direction * OVERSHOOT_M, access])
    tracks = [RoadLine(LineString(access), "track", f"{stem}矿区便道")]
    for k in range(3):
        spur = _walk(target, rng.uniform(0, 2 * math.pi), rng.uniform(500, 1100),
                     zone.buffer(150.0), rng)
        if spur is not None:
            tracks.append(RoadLine(spur, "track", f"{stem}矿区{names.chinese_number(k + 1)}号便道"))
            end = np.array(spur.coords[-1])
            path = _walk(end, rng.uniform(0, 2 * math.pi), rng.uniform(200, 500),
                         zone.buffer(250.0), rng, step=40.0)
            if path is not None:
                tracks.append(RoadLine(path, "path", f"{stem}矿区巡查小道"))
    return tracks


def draw_roads(valleys: Valleys, terrain: Terrain, outline: Polygon,
               mine_zone: Polygon | None, rng: np.random.Generator) -> list[RoadLine]:
    """Every road of the town as a named polyline: valley roads, streets, tracks."""
    roads = [RoadLine(v.line, v.road_class, v.name) for v in valleys.valleys]
    seat = valleys.nodes[0]
    incident: dict[int, list[LineString]] = {}
    for valley in valleys.valleys:
        incident.setdefault(valley.a, []).append(valley.line)
        incident.setdefault(valley.b, []).append(valley.line)
    longest = max(incident[0], key=lambda line: line.length)
    towards = longest.interpolate(300.0 if longest.coords[0] == (seat.x, seat.y)
                                  else longest.length - 300.0)
    roads += _seat_grid(seat, np.array(towards.coords[0]), rng)
    for index, node in enumerate(valleys.nodes):
        if node.kind == "community":
            roads += _settlement_lanes(node, incident[index], terrain,
                                       int(rng.integers(16, 24)), 650.0, rng)
        elif node.kind == "village":
            roads += _settlement_lanes(node, incident[index], terrain,
                                       int(rng.integers(14, 26)), 450.0, rng)
    for hamlet in valleys.hamlets:
        on = [v.line for v in valleys.valleys if v.line.distance(Point(hamlet.x, hamlet.y)) < 1]
        roads += _settlement_lanes(hamlet, on[:1], terrain, int(rng.integers(2, 6)), 160.0, rng)
    roads += _mountain_tracks(valleys, terrain, outline, rng)
    if mine_zone is not None:
        roads += _mine_tracks(mine_zone, roads, seat.stem, rng)
    inside = outline.buffer(-20.0)
    kept = [r for r in roads if r.road_class == "county" or inside.contains(r.line)]
    return [r for r in kept if not r.line.is_empty and r.line.length > 1.0]
