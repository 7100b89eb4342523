"""Door plates along the roads of settlements: a standard address database (标准地址库).

Positions are drawn first (the grids need them to balance households); codes, numbers and
texts follow once the villages are known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from gridgeo.demo import names
from gridgeo.demo.lanes import RoadLine

SETBACK_M = 3.5  # from the road's centre line to the door plate
TARGET = 10_000


@dataclass
class Doors:
    """Door plate positions: the road each belongs to and where along it."""

    xy: np.ndarray
    road: np.ndarray  # index into ``names``
    position: np.ndarray  # metres along that named road
    side: np.ndarray  # +1 left, -1 right
    names: list[str]


def _along_named_road(lines: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Metres from the start of a road drawn in several pieces, pieces merged in order."""
    parts = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines)))
    offset = np.concatenate([[0.0], np.cumsum(shapely.length(parts))[:-1]])
    nearest = shapely.STRtree(parts).query_nearest(points, all_matches=False)[1]
    return offset[nearest] + shapely.line_locate_point(parts[nearest], points)


def place_doors(roads: list[RoadLine], settled: Polygon, outline: Polygon,
                rng: np.random.Generator, target: int = TARGET) -> Doors:
    """About ``target`` doors, evenly spread on both sides of every settled stretch of road."""
    drawn = [i for i, r in enumerate(roads) if r.road_class not in ("track", "path")]
    lines = np.array([roads[i].line for i in drawn])
    stretches, owner = shapely.get_parts(shapely.intersection(lines, settled), return_index=True)
    is_line = shapely.get_type_id(stretches) == 1
    stretches, owner = stretches[is_line], owner[is_line]
    length = shapely.length(stretches)
    spacing = 2.0 * length.sum() / target
    count = np.floor(length / spacing + rng.random(len(length))).astype(np.int64)
    which = np.repeat(np.arange(len(stretches)), count)
    rank = np.arange(len(which)) - np.repeat(np.cumsum(count) - count, count)
    along = (rank + 0.5 + rng.uniform(-0.25, 0.25, len(which))) * spacing
    along = np.minimum(along, length[which])
    points = shapely.line_interpolate_point(stretches[which], along)
    base = lines[owner[which]]
    position = shapely.line_locate_point(base, points)
    ahead = shapely.get_coordinates(shapely.line_interpolate_point(base, position + 1.5))
    behind = shapely.get_coordinates(shapely.line_interpolate_point(base, position - 1.5))
    tangent = ahead - behind
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    doubled = np.concatenate([np.arange(len(which))] * 2)
    side = np.repeat([1, -1], len(which))
    xy = shapely.get_coordinates(points)[doubled] + normal[doubled] * (SETBACK_M * side)[:, None]
    inside = shapely.contains_xy(outline, xy[:, 0], xy[:, 1])
    road_names = sorted({roads[i].name for i in drawn})
    name_index = {name: k for k, name in enumerate(road_names)}
    road = np.array([name_index[roads[i].name] for i in drawn])[owner[which]]
    pieces: dict[int, list] = {}
    for i in drawn:
        pieces.setdefault(name_index[roads[i].name], []).append(roads[i].line)
    for k, lines_of_road in pieces.items():
        on = road == k
        if len(lines_of_road) > 1 and on.any():
            position[on] = _along_named_road(np.array(lines_of_road), points[on])
    return Doors(xy[inside], road[doubled][inside], position[doubled][inside], side[inside],
                 road_names)


@dataclass
class AddressBook:
    """Everything the addresses table needs, row by row."""

    code: list[str]
    village_code: list[str]
    village: list[str]
    road: list[str]
    house_number: list[str]
    full_address: list[str]


def number_doors(doors: Doors, village_of_door: np.ndarray,
                 village_codes: list[str], village_names: list[str], town: str) -> AddressBook:
    """Codes (village 12 + road 3 + door 4) and house numbers: odd on the left, even on the
    right, increasing along the road within each village."""
    order = np.lexsort((doors.position, doors.side, doors.road, village_of_door))
    village, road = village_of_door[order], doors.road[order]
    first = np.ones(len(order), bool)
    first[1:] = (village[1:] != village[:-1]) | (road[1:] != road[:-1])
    road_no = np.zeros(len(order), np.int64)
    new_village = np.ones(len(order), bool)
    new_village[1:] = village[1:] != village[:-1]
    counter = np.cumsum(first)
    road_no = counter - np.maximum.accumulate(np.where(new_village, counter - 1, 0))
    side = doors.side[order]
    group_start = np.ones(len(order), bool)
    group_start[1:] = first[1:] | (side[1:] != side[:-1])
    start_index = np.maximum.accumulate(np.where(group_start, np.arange(len(order)), 0))
    rank = np.arange(len(order)) - start_index
    number = 2 * rank + np.where(side > 0, 1, 2)
    book = AddressBook([], [], [], [], [], [])
    result = np.empty(len(order), np.int64)
    result[order] = np.arange(len(order))
    for i in result:
        v, r = int(village[i]), doors.names[int(road[i])]
        code = f"{village_codes[v]}{road_no[i]:03d}{number[i]:04d}"
        book.code.append(code)
        book.village_code.append(village_codes[v])
        book.village.append(village_names[v])
        book.road.append(r)
        book.house_number.append(f"{number[i]}号")
        book.full_address.append(f"{names.PROVINCE}{names.CITY}{names.COUNTY}{town}"
                                 f"{village_names[v]}{r}{number[i]}号")
    return book
