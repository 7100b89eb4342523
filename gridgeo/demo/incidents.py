"""Incident categories and six months of incidents in the closed loop.

上报 → 受理 → 派遣 → 处置 → 核查 → 结案. Each incident is given a target state, its stage
times are drawn, and a stage that would fall after the reference time is not reached yet,
so recent incidents are the open ones. Reporters are obviously fake residents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from gridgeo.contributions import IncidentCategory
from gridgeo.demo import names
from gridgeo.demo.sampling import pick

INCIDENTS_PER_TOWN = 1000
DAYS = 183
_WEIGHT = {"0101": 16, "0102": 6, "0103": 5, "0104": 5, "0201": 4, "0202": 2, "0203": 2,
           "0301": 6, "0302": 2, "0303": 2, "0304": 2, "0401": 7, "0402": 1, "0403": 1.5,
           "0404": 1.5, "0405": 2, "0501": 7, "0502": 4, "0503": 3, "0504": 4, "0601": 7,
           "0602": 2, "0603": 1.5, "0604": 1, "0605": 3, "0606": 2, "0607": 2}
_AGENCY = {"01": "综合行政执法大队", "02": "综合行政执法大队", "03": "住房和城乡建设局",
           "04": "应急管理办公室", "05": "综合行政执法大队", "0601": "综治中心",
           "0602": "自然资源局", "0603": "安全生产监督管理站", "0604": "自然资源局",
           "0605": "应急管理办公室", "0606": "综治中心", "0607": "生态环境局"}
_TARGET = (("closed", 72), ("invalid", 4), ("duplicate", 3), ("verified", 4), ("resolved", 3),
           ("in_progress", 4), ("dispatched", 3), ("accepted", 2), ("reported", 2),
           ("returned", 1.5), ("reopened", 1.5))
_SOURCE = (("grid_worker", 55), ("hotline", 20), ("resident_app", 12), ("police", 5),
           ("inspection", 5), ("other", 3))
_SOURCE_ZH = {"grid_worker": "网格员巡查", "hotline": "热线来电", "resident_app": "群众随手拍",
              "police": "派出所移交", "inspection": "执法检查", "other": "其他渠道"}
_DEADLINE_HOURS = {"yellow": 24.0, "orange": 168.0, "red": 720.0}  # gridgeo.incident_colours
_LATE = 0.12  # share of cases that overrun their deadline
# Stage times: reported, accepted, dispatched, resolved, verified, closed. The last stage
# each state has passed (gridgeo.incident_transitions: invalid and duplicate are decided
# on the report, before acceptance), and where an unfinished target state stops instead.
_STAGE = {"reported": 0, "invalid": 0, "duplicate": 0, "accepted": 1, "dispatched": 2,
          "in_progress": 2, "returned": 2, "resolved": 3, "reopened": 3, "verified": 4,
          "closed": 5}
_FALLBACK = ("reported", "accepted", "in_progress", "resolved", "verified")
# States entered some hours after their last stage time (a decision, a start, a refusal).
_LATER = {"invalid", "duplicate", "in_progress", "returned", "reopened"}
# Cases accepted this many days before the reference day and still in progress. A handling
# clock is longer on a hard (C) grid (red 30 days or 6 weeks, orange 7 or 10 days:
# incidents/007), so the ages straddle both: near the deadline (past the warning share)
# on one kind of grid, just overdue on the other.
_RUNNING_OUT = (("red", 25.0), ("red", 26.5), ("red", 28.0), ("red", 29.5), ("red", 34.5),
                ("red", 36.5), ("red", 38.5), ("red", 40.5), ("orange", 5.8), ("orange", 6.3),
                ("orange", 6.8), ("orange", 8.2), ("orange", 8.8), ("orange", 9.5))


@dataclass
class Incident:
    category_code: str
    title: str
    description: str
    colour: str
    state: str
    source: str
    times: list[datetime | None]  # reported, accepted, dispatched, resolved, verified, closed
    state_changed_at: datetime
    updated_at: datetime
    agency_responsible: str
    address_text: str
    door: int  # local index of the nearest door plate
    reporter: tuple[str | None, str | None, str | None]
    x: float
    y: float


@dataclass
class Sites:
    """Where incidents happen: door plates, adits and greenhouses (metric coordinates)."""

    doors: np.ndarray
    door_text: list[str]  # full addresses
    door_short: list[str]  # village, road and number
    adits: np.ndarray
    adit_names: list[str]
    greenhouses: np.ndarray


def _colours(category: str, rng: np.random.Generator) -> str:
    if category.startswith("04") or category == "0603":
        return pick((("yellow", 3), ("orange", 4), ("red", 3)), rng, 1)[0]
    return pick((("yellow", 6), ("orange", 3), ("red", 1)), rng, 1)[0]


def _stage_times(reported: datetime, colour: str, rng: np.random.Generator) -> list[datetime]:
    """Report, accept, dispatch, resolve, verify, close: most cases close within the
    colour's deadline (counted from acceptance), some overrun it."""
    deadline = _DEADLINE_HOURS[colour]
    overrun = 2.5 if rng.random() < _LATE else 1.0
    steps = [rng.uniform(0.05, 2.0), rng.uniform(0.02, 0.1) * deadline,
             rng.uniform(0.1, 0.55) * deadline * overrun, rng.uniform(0.02, 0.12) * deadline,
             rng.uniform(0.01, 0.08) * deadline]
    times = [reported]
    for hours in steps:
        times.append(times[-1] + timedelta(seconds=int(hours * 3600)))
    return times


def _settle(target: str, times: list[datetime], reference: datetime,
            rng: np.random.Generator) -> tuple[str, list[datetime | None], datetime]:
    """The state reached by the reference time, the stage times set, and when the
    incident entered that state."""
    reached = max(i for i, t in enumerate(times) if t <= reference)
    state = target if reached >= _STAGE[target] else _FALLBACK[reached]
    stage = _STAGE[state]
    shown: list[datetime | None] = [t if i <= stage else None for i, t in enumerate(times)]
    entered = times[stage]
    if state in _LATER:
        entered = min(reference, entered + timedelta(seconds=int(rng.integers(600, 86400))))
    return state, shown, entered


def _place(category: str, sites: Sites, rng: np.random.Generator
           ) -> tuple[np.ndarray, int, str, str]:
    """Point, nearest door plate, address text and a short place name for the title."""
    if category in ("0603", "0604") and len(sites.adits):
        k = int(rng.integers(len(sites.adits)))
        xy = sites.adits[k] + rng.uniform(-30.0, 30.0, 2)
        door = int(np.argmin(np.linalg.norm(sites.doors - xy, axis=1)))
        return xy, door, f"{sites.adit_names[k]}附近", sites.adit_names[k]
    if category == "0602" and len(sites.greenhouses):
        xy = sites.greenhouses[int(rng.integers(len(sites.greenhouses)))]
        door = int(np.argmin(np.linalg.norm(sites.doors - xy, axis=1)))
        return xy, door, f"{sites.door_text[door]}附近大棚", f"{sites.door_short[door]}附近大棚"
    door = int(rng.integers(len(sites.doors)))
    xy = sites.doors[door] + rng.uniform(-2.0, 2.0, 2)
    return xy, door, f"{sites.door_text[door]}附近", sites.door_short[door]


def offered_categories() -> list[IncidentCategory]:
    """The incident categories the plugins offer, parents first."""
    from gridgeo.plugins import get_plugin_manager

    offered = [c for batch in get_plugin_manager().hook.gridgeo_incident_categories()
               for c in batch]
    return sorted(offered, key=lambda c: c.parent_code is not None)


def _category_names() -> dict[str, str]:
    """Each category's Chinese name by code."""
    return {c.code: c.name_zh for c in offered_categories()}


def generate_incidents(sites: Sites, town_name: str, reference: datetime, mining: bool,
                       rng: np.random.Generator, count: int = INCIDENTS_PER_TOWN
                       ) -> list[Incident]:
    """``count`` incidents over the six months before ``reference``; every state appears."""
    weights = {c: w for c, w in _WEIGHT.items() if mining or c not in ("0603", "0604")}
    category = pick(tuple(weights.items()), rng, count)
    target = pick(_TARGET, rng, count)
    day = np.sort(rng.uniform(0.0, DAYS, count))[::-1]
    forced = len(_TARGET)
    for k, (state, _) in enumerate(_TARGET):  # old enough to have reached any stage
        target[k] = state
        day[k] = DAYS - 1 - k
    source = pick(_SOURCE, rng, count)
    hour = rng.choice(np.arange(24), count, p=_hour_weights())
    town = _Town(sites, town_name, _category_names(), rng)
    incidents = []
    for i in range(count):
        start = (reference - timedelta(days=int(day[i]) + 1)).replace(hour=int(hour[i]))
        reported = start + timedelta(seconds=int(rng.integers(0, 3600)))
        reported = min(reported, reference - timedelta(hours=6))
        colour = _colours(category[i], rng) if i >= forced else ("yellow", "orange", "red")[i % 3]
        state, times, entered = _settle(target[i], _stage_times(reported, colour, rng),
                                        reference, rng)
        incidents.append(town.incident(category[i], colour, state, source[i], times, entered,
                                       reference))
    return incidents + _running_out(town, weights, reference)


@dataclass
class _Town:
    """What every incident of a town draws on: its sites, name and category titles."""

    sites: Sites
    name: str
    titles: dict[str, str]
    rng: np.random.Generator

    def incident(self, category: str, colour: str, state: str, source: str,
                 times: list[datetime | None], entered: datetime,
                 reference: datetime) -> Incident:
        rng = self.rng
        xy, door, place, short = _place(category, self.sites, rng)
        kind = self.titles[category]
        agency = _AGENCY.get(category) or _AGENCY[category[:2]]
        county_level = agency.endswith("局")
        resident = source in ("hotline", "resident_app")
        reporter = ((names.fake_resident(int(rng.integers(1, 10_000))),
                     names.fake_phones(rng, 1)[0], names.fake_id_numbers(rng, 1)[0])
                    if resident else (None, None, None))
        return Incident(
            category_code=category, title=f"{kind}：{short}",
            description=f"{_SOURCE_ZH[source]}：{place}发现{kind}问题，请核实处置。",
            colour=colour, state=state, source=source, times=times, state_changed_at=entered,
            updated_at=min(reference, entered + timedelta(seconds=int(rng.integers(60, 5400)))),
            agency_responsible=(f"{names.COUNTY}{agency}" if county_level
                                else f"{self.name}{agency}"),
            address_text=place, door=door, reporter=reporter, x=float(xy[0]), y=float(xy[1]))


def _running_out(town: _Town, weights: dict[str, float], reference: datetime
                 ) -> list[Incident]:
    """Cases in progress whose handling clock runs out around the reference day, so the
    town shows cases near their deadline (临期) and just overdue (超期) whatever day it
    is generated on."""
    category = pick(tuple(weights.items()), town.rng, len(_RUNNING_OUT))
    cases = []
    for k, (colour, days) in enumerate(_RUNNING_OUT):
        accepted = reference - timedelta(days=days, seconds=int(town.rng.integers(0, 3600)))
        reported = accepted - timedelta(seconds=int(town.rng.integers(600, 7200)))
        dispatched = accepted + timedelta(seconds=int(town.rng.integers(1800, 14400)))
        times: list[datetime | None] = [reported, accepted, dispatched, None, None, None]
        cases.append(town.incident(category[k], colour, "in_progress", "grid_worker", times,
                                   dispatched + timedelta(hours=2), reference))
    return cases


def _hour_weights() -> np.ndarray:
    hours = np.arange(24)
    weight = np.where((hours >= 7) & (hours <= 20), 6.0, 1.0)
    return weight / weight.sum()
