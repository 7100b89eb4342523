"""Ordering stops into patrols: the solver seam, PyVRP by default, a nearest-neighbour baseline.

A solver only sees a travel-time matrix; it returns the order of stops per patrol and the
stops it left out. Times are then recomputed here, so every solver's answer is checked
against the same rules: maximum duration per patrol and each stop's time window.
Register another solver (say OR-Tools, or LKH for a non-commercial deployment) with
``register_solver``; the default stays freely licensed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

START, END = 0, 1  # matrix rows of the start and end depot; stops follow
NONE = np.iinfo(np.int64).max  # PyVRP's "no limit" for windows and shifts


@dataclass
class VisitProblem:
    """Stops to visit between a start and an end depot, by one or more patrols.

    ``matrix[i, j]`` is the travel time in seconds (``inf`` when unreachable) between
    locations: 0 the start, 1 the end, 2 + k the k-th stop. Time windows are seconds after
    the patrols' common start time.
    """

    matrix: np.ndarray
    service_s: np.ndarray
    tw_early: np.ndarray
    tw_late: np.ndarray
    n_patrols: int = 1
    max_duration_s: float = float("inf")
    # How much each stop is worth keeping when not all fit (1 = an ordinary stop); see
    # gridgeo_plugins.patrol.priority. None: all alike.
    weight: np.ndarray | None = None

    @property
    def n_stops(self) -> int:
        return len(self.service_s)

    def weights(self) -> np.ndarray:
        return np.ones(self.n_stops) if self.weight is None else np.asarray(self.weight, float)


@dataclass
class VisitPlan:
    """Each patrol's stops in order (stop indices), and the stops left out."""

    routes: list[list[int]]
    dropped: list[int] = field(default_factory=list)
    runtime_s: float | None = None  # how long the search ran, when the solver says
    stopped_by: str | None = None  # "time limit" or "no improvement"


class RoutingSolver(Protocol):
    """Something that orders stops; ``time_limit_s`` bounds its search. With
    ``use_all_time`` the search runs for the whole limit (the caller asked for it);
    otherwise it may stop earlier when it stops improving."""

    name: str

    def solve(self, problem: VisitProblem, time_limit_s: float, seed: int = 0,
              use_all_time: bool = False) -> VisitPlan: ...


@dataclass
class Visit:
    stop: int
    arrival_s: float
    start_s: float  # arrival plus any wait for the window to open


def schedule(problem: VisitProblem, route: list[int]) -> tuple[list[Visit], float]:
    """Arrival time at each stop and the patrol's duration (back at the end depot)."""
    t, at, visits = 0.0, START, []
    for stop in route:
        t += problem.matrix[at, 2 + stop]
        start = max(t, float(problem.tw_early[stop]))
        visits.append(Visit(stop, t, start))
        t = start + float(problem.service_s[stop])
        at = 2 + stop
    t += problem.matrix[at, END]
    return visits, t


def is_feasible(problem: VisitProblem, route: list[int]) -> bool:
    visits, total = schedule(problem, route)
    return (total <= problem.max_duration_s + 1e-6
            and all(v.start_s <= problem.tw_late[v.stop] + 1e-6 for v in visits))


class NearestNeighbour:
    """The baseline: always go to the closest stop that still fits."""

    name = "nearest"

    def solve(self, problem: VisitProblem, time_limit_s: float, seed: int = 0,
              use_all_time: bool = False) -> VisitPlan:
        left = set(range(problem.n_stops))
        routes: list[list[int]] = []
        for _ in range(problem.n_patrols):
            route: list[int] = []
            at = START
            while left:
                order = sorted(left, key=lambda s: problem.matrix[at, 2 + s])
                nxt = next((s for s in order if is_feasible(problem, [*route, s])), None)
                if nxt is None:
                    break
                route.append(nxt)
                left.discard(nxt)
                at = 2 + nxt
            if route:
                routes.append(route)
        return VisitPlan(routes, sorted(left))


class PyVRPSolver:
    """PyVRP (MIT): iterated local search with durations, time windows and optional stops.

    Every stop is optional, a prize-collecting problem: its prize is its priority weight
    times a base far above any route's cost, so the solver visits all it can and, when not
    everything fits, leaves out what is worth least (an adit due yesterday before one
    3,583 days overdue). Travel seconds are given as the edges' distance and priced by
    distance: PyVRP's neighbourhoods are built on distance, and pricing duration instead
    made 200-stop tours 5-7 % longer (waiting is not priced).
    """

    name = "pyvrp"

    def solve(self, problem: VisitProblem, time_limit_s: float, seed: int = 0,
              use_all_time: bool = False) -> VisitPlan:
        from pyvrp.stop import MaxRuntime, MultipleCriteria, NoImprovement

        if problem.n_stops == 0:
            return VisitPlan([])
        model = _pyvrp_model(problem)
        # The default search ends when it stops improving (small requests answer at once);
        # a time the caller gives is used whole: only then does a longer limit help.
        stop = MaxRuntime(time_limit_s) if use_all_time else MultipleCriteria(
            [MaxRuntime(time_limit_s), NoImprovement(max(2000, NO_IMPROVEMENT_PER_STOP
                                                         * problem.n_stops))])
        result = model.solve(stop=stop, seed=seed, display=False, collect_stats=False)
        routes = [[act.idx for act in route.schedule() if act.is_client()]
                  for route in result.best.routes()]
        routes = [r for r in routes if r]
        visited = {s for r in routes for s in r}
        reached_limit = result.runtime >= 0.98 * time_limit_s
        return VisitPlan(routes, [k for k in range(problem.n_stops) if k not in visited],
                         runtime_s=float(result.runtime),
                         stopped_by="time limit" if reached_limit else "no improvement")


def most_pressing(problem: VisitProblem) -> int | None:
    """The stop of highest weight that a patrol can visit on its own: it is always kept.
    Prizes alone could trade it for enough lesser stops; the most overdue must go first."""
    weights = problem.weights()
    for k in np.argsort(-weights, kind="stable"):
        if weights[k] <= 1.0:  # nothing stands out: leave the choice to the prizes
            return None
        if is_feasible(problem, [int(k)]):
            return int(k)
    return None


# Iterations without a better tour before the default search stops, per stop.
NO_IMPROVEMENT_PER_STOP = 40


def _pyvrp_model(problem: VisitProblem) -> Any:
    from pyvrp import Model

    finite = np.isfinite(problem.matrix)
    big = int(np.max(problem.matrix[finite], initial=1.0)) * 4 + 1000
    cost = np.where(finite, np.rint(problem.matrix), big).astype(np.int64)
    limited = np.isfinite(problem.max_duration_s)
    horizon = int(problem.max_duration_s) if limited else 0
    # A stop's base prize exceeds any tour, so count and weight decide, never distance.
    base = max(big, horizon) * 10
    prizes = np.rint(base * np.maximum(problem.weights(), 1e-3)).astype(np.int64)
    # Windows only where they bind (NONE is PyVRP's default, no window): even loose ones
    # made its tours 0.7 % longer.
    shift = horizon if limited else NONE
    first = most_pressing(problem)
    model = Model()
    locs = [model.add_location(x=0, y=0) for _ in range(2 + problem.n_stops)]
    start = model.add_depot(locs[START])
    end = model.add_depot(locs[END])
    for k in range(problem.n_stops):  # an activity names a client by its order of addition
        late = NONE
        if np.isfinite(problem.tw_late[k]):
            late = int(min(problem.tw_late[k], horizon or 10 * 86400))
        model.add_client(locs[2 + k], service_duration=int(problem.service_s[k]),
                         tw_early=int(problem.tw_early[k]), tw_late=late,
                         required=k == first, prize=int(prizes[k]))
    model.add_vehicle_type(num_available=problem.n_patrols, start_depot=start,
                           end_depot=end, unit_distance_cost=1, unit_duration_cost=0,
                           shift_duration=shift, tw_late=shift)
    for i, a in enumerate(locs):
        for j, b in enumerate(locs):
            model.add_edge(a, b, distance=int(cost[i, j]), duration=int(cost[i, j]))
    return model


SOLVERS: dict[str, RoutingSolver] = {"pyvrp": PyVRPSolver(), "nearest": NearestNeighbour()}
DEFAULT_SOLVER = "pyvrp"


def register_solver(solver: RoutingSolver) -> None:
    """Make another solver selectable by name (the ``solver`` input of the process)."""
    SOLVERS[solver.name] = solver


def repair(problem: VisitProblem, plan: VisitPlan) -> VisitPlan:
    """Drop stops from the end of any patrol that breaks a rule, so every answer holds."""
    routes, dropped = [], list(plan.dropped)
    for route in plan.routes:
        route = list(route)
        while route and not is_feasible(problem, route):
            worst = _first_violation(problem, route)
            dropped.append(route.pop(worst))
        if route:
            routes.append(route)
    return VisitPlan(routes, sorted(dropped), plan.runtime_s, plan.stopped_by)


def _first_violation(problem: VisitProblem, route: list[int]) -> int:
    visits, _ = schedule(problem, route)
    for i, v in enumerate(visits):
        if v.start_s > problem.tw_late[v.stop] + 1e-6:
            return i
    return len(route) - 1


def route_duration(problem: VisitProblem, route: list[int]) -> float:
    return schedule(problem, route)[1]
