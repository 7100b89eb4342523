"""The topology check on hand-made grids with known answers (no database)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from gridgeo_plugins.topology.chains import untiled_parents
from gridgeo_plugins.topology.compute import TopologyResult, check_topology
from gridgeo_plugins.topology.inputs import parse_topology_request
from gridgeo_plugins.topology.report import problems_collection
from shapely import box

from gridgeo.geometry.layer import Layer
from gridgeo.geometry.synthetic import generate_county

X, Y = 620_000.0, 3_774_000.0
VILLAGE = "410399100001"
OTHER_VILLAGE = "410399100002"


def sq(x0: float, y0: float, x1: float, y1: float) -> shapely.Geometry:
    return box(X + x0, Y + y0, X + x1, Y + y1)


def default_parent(level: str, code: str) -> str | None:
    return {"town": None, "area": code[:9], "village": code[:9] + "P01",
            "unit": code[:12]}[level]


def grids(*rows: tuple[str, str, shapely.Geometry], kind: dict[str, str] | None = None,
          parents: dict[str, str] | None = None) -> Layer:
    """Rows of (code, level, geometry); parents default to the code's prefix."""
    kind, parents = kind or {}, parents or {}
    codes = [r[0] for r in rows]
    levels = [r[1] for r in rows]
    parent_codes = [parents.get(c) or default_parent(lv, c)
                    for c, lv in zip(codes, levels, strict=True)]
    return Layer(4546, np.array(codes, dtype=object), np.array([r[2] for r in rows],
                                                                  dtype=object),
                 {"level": np.array(levels, dtype=object),
                  "kind": np.array([kind.get(c, "basic") for c in codes], dtype=object),
                  "parent_code": np.array(parent_codes, dtype=object),
                  "village_code": np.array([c[:12] if lv in ("village", "unit") else None
                                            for c, lv in zip(codes, levels, strict=True)],
                                           dtype=object)})


def village_with(*units: tuple[str, shapely.Geometry], village: shapely.Geometry | None = None,
                 **kw: dict[str, str]) -> Layer:
    village = village if village is not None else sq(0, 0, 300, 100)
    return grids((VILLAGE, "village", village),
                 *((f"{VILLAGE}{n}", "unit", g) for n, g in units), **kw)


def kinds(result: TopologyResult) -> list[tuple[str, tuple[str, ...]]]:
    return sorted((p.kind, p.grid_codes) for p in result.problems)


def test_an_exact_tiling_has_no_problem() -> None:
    layer = village_with(("001", sq(0, 0, 100, 100)), ("002", sq(100, 0, 200, 100)),
                         ("003", sq(200, 0, 300, 100)))
    assert check_topology(layer, ("unit",)).problems == []


def test_a_missing_grid_is_a_gap_given_to_the_longest_neighbour() -> None:
    # 002 is narrow: the gap (200..300) shares 100 m with 003 and 100 m with 002 ... so
    # make 003 taller to break the tie the way a real layout would.
    layer = village_with(("001", sq(0, 0, 200, 100)), ("003", sq(250, 0, 300, 100)),
                         village=sq(0, 0, 300, 100))
    result = check_topology(layer, ("unit",))
    [gap] = result.problems
    assert gap.kind == "gap" and gap.parent_code == VILLAGE
    assert gap.area_m2 == pytest.approx(5000)
    assert gap.geom.equals(sq(200, 0, 250, 100))
    assert gap.fix == {"action": "merge_into", "grid_code": f"{VILLAGE}001"} or \
        gap.fix == {"action": "merge_into", "grid_code": f"{VILLAGE}003"}


def test_a_sliver_gap_goes_to_the_neighbour_with_the_longest_shared_boundary() -> None:
    # A 2 m wide gap between a 100 m tall grid and a 60 m tall one on top of another.
    layer = village_with(("001", sq(0, 0, 100, 100)), ("002", sq(102, 0, 300, 60)),
                         ("003", sq(102, 60, 300, 100)), ("004", sq(100, 0, 102, 10)),
                         village=sq(0, 0, 300, 100))
    [gap] = check_topology(layer, ("unit",)).problems
    assert gap.area_m2 == pytest.approx(180)
    assert gap.fix["grid_code"] == f"{VILLAGE}001"  # shares 90 m, 002 only 50 m
    assert "longest shared boundary (90.0 m)" in gap.suggested_fix


def test_a_hole_left_in_the_middle_is_a_gap() -> None:
    ring = sq(0, 0, 300, 100).difference(sq(140, 40, 160, 60))
    layer = village_with(("001", ring))
    [gap] = check_topology(layer, ("unit",)).problems
    assert gap.kind == "gap" and gap.area_m2 == pytest.approx(400)
    assert gap.geom.equals(sq(140, 40, 160, 60))


def test_an_overlap_is_cut_from_the_grid_that_intrudes() -> None:
    layer = village_with(("001", sq(0, 0, 105, 100)), ("002", sq(100, 0, 300, 100)))
    [overlap] = check_topology(layer, ("unit",)).problems
    assert overlap.kind == "overlap"
    assert overlap.grid_codes == (f"{VILLAGE}001", f"{VILLAGE}002")
    assert overlap.area_m2 == pytest.approx(500)
    assert overlap.geom.equals(sq(100, 0, 105, 100))


def test_a_child_outside_its_parent() -> None:
    layer = grids((VILLAGE, "village", sq(0, 0, 200, 100)),
                  (OTHER_VILLAGE, "village", sq(200, 0, 400, 100)),
                  (f"{VILLAGE}001", "unit", sq(0, 0, 210, 100)),
                  (f"{OTHER_VILLAGE}001", "unit", sq(210, 0, 400, 100)))
    found = check_topology(layer, ("unit",))
    outside = [p for p in found.problems if p.kind == "outside_parent"]
    assert [p.grid_codes for p in outside] == [(f"{VILLAGE}001",)]
    assert outside[0].area_m2 == pytest.approx(1000)
    assert OTHER_VILLAGE in outside[0].detail
    # The other village's own units leave those 10 m out: a gap there, for its unit.
    [gap] = [p for p in found.problems if p.kind == "gap"]
    assert gap.parent_code == OTHER_VILLAGE and gap.area_m2 == pytest.approx(1000)
    assert gap.fix["grid_code"] == f"{OTHER_VILLAGE}001"
    assert len(found.problems) == 2


def test_an_edge_split_at_another_vertex_is_not_a_problem() -> None:
    # The village's edge has no vertex at x=100 where the units meet: the exact edge
    # test fails, the geometric check finds nothing.
    village = shapely.Polygon([(X, Y), (X + 200, Y), (X + 200, Y + 100), (X, Y + 100)])
    layer = village_with(("001", sq(0, 0, 100, 100)), ("002", sq(100, 0, 200, 100)),
                         village=village)
    assert check_topology(layer, ("unit",)).problems == []


def test_invalid_geometry_is_reported_and_checked_after_repair() -> None:
    bowtie = shapely.Polygon([(X, Y), (X + 100, Y + 100), (X + 100, Y), (X, Y + 100)])
    layer = village_with(("001", bowtie), village=sq(0, 0, 100, 100))
    result = check_topology(layer, ("unit",))
    invalid = [p for p in result.problems if p.kind == "invalid_geometry"]
    assert invalid[0].grid_codes == (f"{VILLAGE}001",)
    assert "Self-intersection" in invalid[0].detail
    gaps = [p for p in result.problems if p.kind == "gap"]
    assert sum(p.area_m2 or 0 for p in gaps) == pytest.approx(5000)


def test_codes_that_do_not_match_the_parent() -> None:
    layer = grids((VILLAGE, "village", sq(0, 0, 200, 100)),
                  (f"{VILLAGE}001", "unit", sq(0, 0, 100, 100)),
                  (f"{OTHER_VILLAGE}002", "unit", sq(100, 0, 200, 100)),
                  ("41039910000", "unit", sq(200, 0, 210, 10)),
                  parents={f"{OTHER_VILLAGE}002": VILLAGE, "41039910000": VILLAGE})
    found = {p.grid_codes[0]: p for p in check_topology(layer, ("unit",)).problems
             if p.kind.startswith("code")}
    assert found[f"{OTHER_VILLAGE}002"].kind == "code_parent_mismatch"
    assert found[f"{OTHER_VILLAGE}002"].fix["parent_code"] == OTHER_VILLAGE
    assert found["41039910000"].kind == "code_format"


def test_a_missing_parent() -> None:
    layer = grids((f"{VILLAGE}001", "unit", sq(0, 0, 100, 100)),
                  (f"{OTHER_VILLAGE}001", "unit", sq(100, 0, 200, 100)),
                  (OTHER_VILLAGE, "village", sq(100, 0, 200, 100)))
    problems = check_topology(layer, ("unit",)).problems
    assert [(p.kind, p.grid_codes) for p in problems] == [("missing_parent",
                                                           (f"{VILLAGE}001",))]


def test_dedicated_grids_may_overlay_but_must_stay_in_their_village() -> None:
    layer = grids((VILLAGE, "village", sq(0, 0, 200, 100)),
                  (f"{VILLAGE}001", "unit", sq(0, 0, 200, 100)),
                  (f"{VILLAGE}901", "unit", sq(50, 50, 150, 100)),
                  (f"{VILLAGE}902", "unit", sq(150, 50, 250, 100)),
                  kind={f"{VILLAGE}901": "dedicated", f"{VILLAGE}902": "dedicated"})
    problems = check_topology(layer, ("unit",)).problems
    assert [(p.kind, p.grid_codes) for p in problems] == [("dedicated_outside_village",
                                                           (f"{VILLAGE}902",))]
    assert problems[0].area_m2 == pytest.approx(2500)


def test_overlapping_villages_make_their_units_overlap() -> None:
    layer = grids(("410399100", "town", sq(0, 0, 400, 100)),
                  ("410399100P01", "area", sq(0, 0, 400, 100)),
                  (VILLAGE, "village", sq(0, 0, 210, 100)),
                  (OTHER_VILLAGE, "village", sq(200, 0, 400, 100)),
                  (f"{VILLAGE}001", "unit", sq(0, 0, 210, 100)),
                  (f"{OTHER_VILLAGE}001", "unit", sq(200, 0, 400, 100)))
    result = check_topology(layer)
    found = sorted((p.kind, p.level) for p in result.problems)
    assert found == [("overlap", "unit"), ("overlap", "village")]
    assert result.checked == {"town": 1, "area": 1, "village": 2, "unit": 2, "micro": 0,
                              "dedicated": 0}


def test_edge_test_on_hand_made_parents() -> None:
    exact = [sq(0, 0, 1, 1), sq(1, 0, 2, 1)]
    parent = shapely.union_all(exact)
    holed = [sq(0, 0, 2, 2).difference(sq(0.5, 0.5, 1, 1)), sq(0.5, 0.5, 1, 1)]
    cases = [(exact, parent, False), ([exact[0]], parent, True),
             ([exact[0], exact[0], exact[1]], parent, True),
             ([exact[0], exact[1].reverse()], parent, False),  # ring direction does not matter
             (holed, shapely.union_all(holed), False)]
    for children, par, expected in cases:
        got = untiled_parents(np.array(children, dtype=object), np.zeros(len(children),
                                                                            dtype=np.intp),
                              np.array([par], dtype=object))
        assert got.tolist() == [expected]


def test_a_generated_county_is_clean_until_broken() -> None:
    county = generate_county(3000, 10, seed=3)
    g = county.grids
    attrs = {**g.attributes, "kind": np.full(len(g), "basic", dtype=object),
             "village_code": np.array([c[:12] if lv in ("village", "unit") else None
                                       for c, lv in zip(g.codes, g.attributes["level"],
                                                        strict=True)], dtype=object)}
    layer = Layer(g.srid, g.codes, g.geoms, attrs)
    assert check_topology(layer).problems == []
    units = np.flatnonzero(attrs["level"] == "unit")
    keep = np.ones(len(g), dtype=bool)
    keep[units[7]] = False  # a deleted cell: coverage validation alone misses it
    broken = layer.subset(np.flatnonzero(keep))
    geoms = broken.geoms.copy()
    moved = int(np.flatnonzero(broken.codes == g.codes[units[20]])[0])
    geoms[moved] = shapely.buffer(geoms[moved], 3.0, join_style="mitre")
    broken = Layer(broken.srid, broken.codes, geoms, broken.attributes)
    problems = check_topology(broken, ("unit",)).problems
    gaps = [p for p in problems if p.kind == "gap"]
    assert len(gaps) == 1
    assert gaps[0].area_m2 == pytest.approx(float(shapely.area(g.geoms[units[7]])))
    assert {p.kind for p in problems} >= {"gap", "overlap"}
    assert all(g.codes[units[20]] in p.grid_codes for p in problems if p.kind == "overlap")


def test_problem_features_are_largest_first_with_a_summary() -> None:
    layer = village_with(("001", sq(0, 0, 105, 100)), ("002", sq(100, 0, 250, 100)))
    body = problems_collection(check_topology(layer, ("unit",)), limit=10)
    assert [f["properties"]["problem"] for f in body["features"]] == ["gap", "overlap"]
    assert body["summary"]["problems"] == {"gap": 1, "overlap": 1}
    assert body["features"][0]["properties"]["area_m2"] == 5000.0
    assert body["features"][0]["geometry"]["type"] == "Polygon"


@pytest.mark.parametrize(("inputs", "message"), [
    ({"level": "planet"}, "level must be all or one of"),
    ({"within": "12"}, "within must be the code"),
    ({"within": VILLAGE, "level": "village"}, "only the levels under it"),
    ({"min_problem_area_m2": -1}, "min_problem_area_m2 must be"),
    ({"levels": "unit"}, "unknown input 'levels'"),
])
def test_bad_inputs_say_what_to_fix(inputs: dict[str, object], message: str) -> None:
    from gridgeo.process_errors import InputError

    with pytest.raises(InputError, match=message):
        parse_topology_request(inputs)
