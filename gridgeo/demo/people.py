"""Departments, staff and who answers for which grid.

Staff names and work phones are public contact data (printed on door plates), so they are
ordinary-looking fictitious names; the phones are fake ('100' + 8 digits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely

from gridgeo.demo import names
from gridgeo.demo.county import COUNTY_CODE, TownSpec
from gridgeo.demo.hierarchy import Hierarchy
from gridgeo.demo.police import PoliceGrid, Station

WORKERS_PER_TOWN = 178
INSPECTORS_PER_TOWN = 16
COUNTY_DEPARTMENTS = (
    ("ZZ", "社会治理服务中心"), ("GA", "公安局"), ("ZR", "自然资源局"), ("YJ", "应急管理局"),
    ("CG", "城市管理局"), ("NY", "农业农村局"), ("ZJ", "住房和城乡建设局"), ("HB", "生态环境局"))
TOWN_DEPARTMENTS = ("综治中心", "综合行政执法大队", "应急管理办公室", "安全生产监督管理站",
                    "农业农村服务中心", "自然资源和规划所")


@dataclass
class Department:
    code: str
    name: str
    kind: str
    parent_code: str | None


@dataclass
class Staff:
    staff_no: str
    name: str
    role: str
    work_phone: str
    department_code: str


@dataclass
class People:
    departments: list[Department] = field(default_factory=list)
    staff: list[Staff] = field(default_factory=list)
    grid_roles: list[tuple[str, int, str]] = field(default_factory=list)  # grid, staff, role
    police_roles: list[tuple[str, int]] = field(default_factory=list)  # police grid, staff


def county_departments() -> list[Department]:
    return [Department(f"{COUNTY_CODE}{suffix}", f"{names.COUNTY}{name}", "county_department",
                       None) for suffix, name in COUNTY_DEPARTMENTS]


def town_department(town_code: str, name: str) -> str:
    return f"{town_code}D{TOWN_DEPARTMENTS.index(name) + 1:02d}"


def _hire(people: People, rng: np.random.Generator, staff_no: str, role: str,
          department: str) -> int:
    name = names.person_names(rng, 1)[0]
    phone = names.fake_phones(rng, 1)[0]
    people.staff.append(Staff(staff_no, name, role, phone, department))
    return len(people.staff) - 1


def _worker_patches(hierarchy: Hierarchy, wanted: int) -> list[list[int]]:
    """Unit grids per grid worker: the smallest grids share a worker with a neighbour in
    the same village until only ``wanted`` workers are needed."""
    units = hierarchy.units
    geoms = [u.geom for u in units]
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    neighbours: dict[int, set[int]] = {}
    for a, b in zip(left, right, strict=True):
        if a != b and units[a].parent_code == units[b].parent_code:
            neighbours.setdefault(int(a), set()).add(int(b))
    paired: dict[int, int] = {}
    by_size = np.argsort([u.households or 0 for u in units], kind="stable")
    for u in by_size:
        if len(units) - len(paired) // 2 <= wanted:
            break
        if u in paired:
            continue
        options = [n for n in neighbours.get(int(u), ()) if n not in paired]
        if options:
            other = min(options, key=lambda n: (units[n].households or 0, n))
            paired[int(u)], paired[other] = other, int(u)
    patches, seen = [], set()
    for u in range(len(units)):
        if u not in seen:
            patch = sorted({u, paired.get(u, u)})
            seen.update(patch)
            patches.append(patch)
    return patches


def staff_town(spec: TownSpec, hierarchy: Hierarchy, stations: list[Station],
               police_grids: list[PoliceGrid], rng: np.random.Generator) -> People:
    """The town's departments, its grid leaders, workers, instructors, inspectors and the
    police officers of its police grids."""
    people = People()
    code = spec.code
    people.departments.append(Department(code, f"{spec.name}人民政府", "town", None))
    people.departments += [Department(town_department(code, n), f"{spec.name}{n}",
                                      "town_department", code) for n in TOWN_DEPARTMENTS]
    for village in hierarchy.villages:
        committee = "居民委员会" if village.code[9] == "0" else "村民委员会"
        people.departments.append(Department(village.code, f"{village.name}{committee}",
                                             "village", code))
    for number, grid in enumerate((g for g in hierarchy.dedicated
                                   if g.dedicated_type == "enterprise"), start=1):
        people.departments.append(Department(f"{code}E{number:02d}",
                                             grid.name.removesuffix("专属网格"), "enterprise",
                                             grid.parent_code))
    people.departments += [Department(s.code, s.name, "police_station", f"{COUNTY_CODE}GA")
                           for s in stations]
    centre = town_department(code, "综治中心")
    for grid in [hierarchy.town, *hierarchy.areas]:
        leader = _hire(people, rng, f"{grid.code}L", "grid_leader", code)
        people.grid_roles.append((grid.code, leader, "leader"))
    for village in hierarchy.villages:
        leader = _hire(people, rng, f"{village.code}L", "grid_leader", village.code)
        people.grid_roles.append((village.code, leader, "leader"))
    for k in range(math.ceil(len(hierarchy.villages) / 2)):
        instructor = _hire(people, rng, f"{code}I{k + 1:02d}", "grid_instructor", centre)
        for village in hierarchy.villages[2 * k: 2 * k + 2]:
            people.grid_roles.append((village.code, instructor, "instructor"))
    wanted = round(len(hierarchy.units) * WORKERS_PER_TOWN / 213)
    worker_of: dict[str, int] = {}
    for k, patch in enumerate(_worker_patches(hierarchy, wanted)):
        first = hierarchy.units[patch[0]]
        worker = _hire(people, rng, f"{code}W{k + 1:03d}", "grid_worker", first.code[:12])
        for u in patch:
            people.grid_roles.append((hierarchy.units[u].code, worker, "worker"))
            worker_of[hierarchy.units[u].code] = worker
    _cover_dedicated(hierarchy, worker_of, people)
    safety = town_department(code, "安全生产监督管理站")
    for k in range(INSPECTORS_PER_TOWN):
        _hire(people, rng, f"{code}X{k + 1:02d}", "inspector", safety)
    for beat in police_grids:
        officer = _hire(people, rng, f"{beat.code}M", "police_officer", beat.station_code)
        people.police_roles.append((beat.code, officer))
    return people


def _cover_dedicated(hierarchy: Hierarchy, worker_of: dict[str, int], people: People) -> None:
    """A dedicated grid is looked after by the worker of the basic grid under it."""
    units = [u.geom for u in hierarchy.units]
    tree = shapely.STRtree(units)
    for grid in hierarchy.dedicated:
        probe = grid.geom.representative_point()
        below = tree.query(probe, predicate="intersects")
        if len(below):
            unit = hierarchy.units[int(min(below))]
            people.grid_roles.append((grid.code, worker_of[unit.code], "worker"))
