"""Loading generated towns into gridgeo's tables with COPY, inside one transaction.

The loader turns each town's local references into database ids (staff, addresses, road
nodes shared at town gates) and hands out the county-wide numbers: adit numbers and the
daily sequence of case numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime

import numpy as np
import psycopg
from psycopg import sql

from gridgeo.demo.county import COUNTY_CODE
from gridgeo.demo.incidents import offered_categories
from gridgeo.demo.people import county_departments
from gridgeo.demo.town import TIME_ZONE, TownRows

DOMAIN_TABLES = ("grids", "grid_versions", "grid_assignments", "police_grids",
                 "police_grid_assignments", "staff", "departments", "addresses",
                 "mine_tunnels", "greenhouses", "incidents", "incident_categories", "roads",
                 "patrol_routes", "inspections")
# Computed from the domain tables by other parts of gridgeo: stale once they are replaced.
# The audit log too: it records who changed rows the demo replaces, and would otherwise
# grow by a whole county's rows at every regeneration. (The demo never replaces an
# imported town, so only the demo's own history goes.)
DERIVED_TABLES = ("grid_police_crosswalk", "incident_case_counters", "audit_log")
# Written when the schema has them (the incidents state machine adds them); without them
# the database would fill state_changed_at from the wall clock.
_OPTIONAL = {"incidents": ("verified_at", "state_changed_at")}
_COLUMNS = {
    "incident_categories": ("code", "name_zh", "name_en", "class", "parent_code"),
    "departments": ("code", "name", "kind", "parent_code"),
    "staff": ("id", "staff_no", "name", "role", "work_phone", "department_code"),
    "grids": ("code", "name", "level", "kind", "dedicated_type", "parent_code", "village_code",
              "difficulty", "households", "population", "valid_from", "geom"),
    "grid_assignments": ("grid_code", "staff_id", "role"),
    "police_grids": ("code", "name", "station_code", "geom"),
    "police_grid_assignments": ("police_grid_code", "staff_id"),
    "roads": ("id", "name", "road_class", "oneway", "source", "target", "cost", "reverse_cost",
              "walk_cost", "walk_reverse_cost", "geom"),
    "addresses": ("id", "address_code", "province", "city", "county", "township", "village",
                  "village_code", "road", "house_number", "full_address", "geom"),
    "greenhouses": ("gh_no", "operator_name", "operator_phone", "operator_id_number", "use",
                    "status", "built_year", "last_scanned_at", "geom"),
    "mine_tunnels": ("adit_no", "name", "mineral", "seal_method", "sealed_on", "status",
                     "patrol_frequency_days", "last_inspected_at", "responsible_unit",
                     "elevation_m", "slope_deg", "geom"),
    "incidents": ("case_no", "category_code", "title", "description", "colour", "state",
                  "source", "reported_at", "accepted_at", "dispatched_at", "resolved_at",
                  "closed_at", "updated_at", "agency_responsible", "address_text", "address_id",
                  "reporter_name", "reporter_phone", "reporter_id_number", "geom"),
}
_SERIAL = ("staff", "roads", "addresses")


def copy_rows(conn: psycopg.Connection, table: str, columns: Sequence[str],
              rows: Iterable[Sequence], staged: bool = False) -> int:
    """COPY rows into gridgeo.<table>. PostgreSQL refuses COPY into a table under row-level
    security, so such a table (``staged``) is filled from a temporary copy with INSERT,
    which its policies and triggers see like any other insert."""
    target = sql.Identifier("gridgeo", table)
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    if staged:
        stage = sql.Identifier(f"demo_stage_{table}")
        conn.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DROP AS "
                             "SELECT {} FROM {} WITH NO DATA").format(stage, names, target))
        conn.execute(sql.SQL("TRUNCATE {}").format(stage))
        target, into = stage, target
    count = 0
    with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
            target, names)) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    if staged:
        conn.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
            into, names, names, target))
    return count


class CountyLoader:
    """Replaces the domain data and loads towns one after another."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.staff = 0
        self.addresses = 0
        self.roads = 0
        self.nodes = 0
        self.adits = 0
        self.gate_nodes: dict[tuple[float, float], int] = {}
        self.cases: Counter[date] = Counter()
        self.departments: set[str] = set()
        self.totals: Counter[str] = Counter()
        self.seconds = 0.0  # spent loading, for progress reports
        self.columns: dict[str, tuple[str, ...]] = {}
        self.dropped: dict[str, list[int]] = {}  # positions of optional values to leave out
        self.staged: set[str] = set()

    def begin(self) -> None:
        """Empty the domain tables (and what was derived from them) and learn the schema."""
        present = {r[0] for r in self.conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'gridgeo'")}
        tables = sql.SQL(", ").join(sql.Identifier("gridgeo", t) for t in (
            *DOMAIN_TABLES, *(t for t in DERIVED_TABLES if t in present)))
        self.conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(tables))
        # The insert triggers look up the grid containing each feature with a parameterised
        # query; its generic plan ANDs the geometry index with the (level, kind) index, whose
        # scan grows with the table (2 ms a lookup at 40 towns). Without bitmap scans the
        # geometry index alone is used and a lookup stays near 0.1 ms. This transaction only.
        self.conn.execute("SET LOCAL enable_bitmapscan = off")
        for table, columns in _COLUMNS.items():
            have = {r[0] for r in self.conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'gridgeo' AND table_name = %s", (table,))}
            optional = _OPTIONAL.get(table, ())
            self.columns[table] = columns + tuple(c for c in optional if c in have)
            self.dropped[table] = [len(columns) + k for k, c in enumerate(optional)
                                   if c not in have]
            secured = self.conn.execute("SELECT row_security_active(%s)",
                                        (f"gridgeo.{table}",)).fetchone()
            if secured and secured[0]:
                self.staged.add(table)
        # The rest of each category (colours, police times) is the incidents plugin's
        # reference data, upserted after the load.
        self._copy("incident_categories", [
            (c.code, c.name_zh, c.name_en, c.incident_class, c.parent_code)
            for c in offered_categories()])
        self._departments([(d.code, d.name, d.kind, d.parent_code)
                           for d in county_departments()])

    def _copy(self, table: str, rows: Iterable[Sequence]) -> None:
        dropped = self.dropped.get(table)
        if dropped:
            rows = (tuple(v for i, v in enumerate(row) if i not in dropped) for row in rows)
        self.totals[table] += copy_rows(self.conn, table, self.columns[table], rows,
                                        table in self.staged)

    def _departments(self, rows: list[tuple]) -> None:
        fresh = [r for r in rows if r[0] not in self.departments]
        self.departments.update(r[0] for r in fresh)
        self._copy("departments", fresh)

    def _node_ids(self, town: TownRows) -> np.ndarray:
        """Global node ids; a gate node keeps the id the neighbouring town gave it."""
        ids = np.arange(len(town.nodes)) + self.nodes + 1
        for gate in town.gates:
            gap = np.linalg.norm(town.nodes - gate, axis=1)
            j = int(np.argmin(gap))
            if gap[j] < 0.05:
                key = (round(float(gate[0]), 3), round(float(gate[1]), 3))
                ids[j] = self.gate_nodes.setdefault(key, int(ids[j]))
        self.nodes += len(town.nodes)
        return ids

    def load_town(self, town: TownRows, number: int) -> None:
        """Load the ``number``-th town; the grids' statistics are refreshed after towns 1, 2,
        4, 8… so the triggers that look grids up keep choosing their indexes."""
        self._departments(town.departments)
        staff_id = self.staff + 1
        self._copy("staff", ((staff_id + i, *row) for i, row in enumerate(town.staff)))
        self._copy("grids", town.grids)
        self._copy("police_grids", town.police_grids)
        if number & (number - 1) == 0:
            self.conn.execute("ANALYZE gridgeo.grids")
            self.conn.execute("ANALYZE gridgeo.police_grids")
        self._copy("grid_assignments", ((g, staff_id + s, r) for g, s, r in town.grid_roles))
        self._copy("police_grid_assignments", ((g, staff_id + s) for g, s in town.police_roles))
        self.staff += len(town.staff)
        ids = self._node_ids(town)
        self._copy("roads", ((self.roads + i + 1, *row[:3], int(ids[row[3]]), int(ids[row[4]]),
                              *row[5:]) for i, row in enumerate(town.roads)))
        self.roads += len(town.roads)
        address_id = self.addresses + 1
        self._copy("addresses", ((address_id + i, *row) for i, row in enumerate(town.addresses)))
        self.addresses += len(town.addresses)
        self._copy("greenhouses", town.greenhouses)
        self._copy("mine_tunnels", (self._adit(row) for row in town.adits))
        self._copy("incidents", (self._incident(row, address_id) for row in town.incidents))

    def _adit(self, row: tuple) -> tuple:
        self.adits += 1
        if self.adits > 9999:
            raise ValueError("adit numbers (county + KD + 4 digits) ran out")
        return (f"{COUNTY_CODE}KD{self.adits:04d}", *row)

    def _incident(self, row: tuple, address_id: int) -> tuple:
        reported = row[6].astimezone(TIME_ZONE).date()
        self.cases[reported] += 1
        case_no = f"{COUNTY_CODE}{reported:%Y%m%d}{self.cases[reported]:04d}"
        # row: category … source (6), 5 stage times, updated_at, agency, text, door, reporter…
        return (case_no, *row[:14], address_id + row[14], *row[15:])

    def finish(self, seed: int, scale: int, reference: datetime) -> None:
        """Move the id sequences past the loaded ids, record the demo, make the history's
        month partitions, refresh statistics."""
        for table in _SERIAL:
            self.conn.execute(sql.SQL(
                "SELECT setval(pg_get_serial_sequence({}, 'id'), "
                "coalesce((SELECT max(id) FROM {}), 0) + 1, false)").format(
                    sql.Literal(f"gridgeo.{table}"), sql.Identifier("gridgeo", table)))
        settings = {"demo": f"seed={seed};scale={scale}", "county_code": COUNTY_CODE,
                    "demo_reference_time": reference.isoformat()}
        for key, value in settings.items():
            self.conn.execute(
                "INSERT INTO gridgeo.deployment (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (key, value))
        # Rows of a partitioned history table outside its month partitions (core/013)
        # get their months instead of staying in the DEFAULT partition.
        self.conn.execute("SELECT gridgeo.keep_partitions_ahead()")
        for table in DOMAIN_TABLES:
            self.conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier("gridgeo", table)))
