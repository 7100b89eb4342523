"""A small, known field town in a database of its own, for the incident, QR and scan
tests (the ``field_town`` and ``field_conn`` fixtures in conftest.py serve it).

Its own database keeps the demo town exactly as generated for every other test (extents,
counts, overlaps), and lets these tests commit what their HTTP requests must see. One
grid (the square 111.50-111.52°E, 33.50-33.52°N) with one worker, one police grid, five
door plates, a greenhouse and a sealed adit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psycopg

FIELD_DB = f"gridgeo_test_field_{os.getpid()}"

TOWN = "410399977"
VILLAGE = "410399977201"
UNIT = "410399977201001"
POLICE_GRID = "410399J77001"
WORKER_NAME = "田野网格员"
WORKER_PHONE = "13800000977"
INSPECTOR_NO = "T977I1"
CATEGORY = "t977_rubbish"
ADDRESS_CODES = [f"{VILLAGE}001{door:04d}" for door in range(1, 6)]
GREENHOUSE = f"{VILLAGE}DP0001"
ADIT = "410399KD9771"
# The unit grid is the square 111.50-111.52°E, 33.50-33.52°N.
CENTRE = (111.51, 33.51)
SQUARE = "MULTIPOLYGON(((111.50 33.50, 111.52 33.50, 111.52 33.52, 111.50 33.52, 111.50 33.50)))"

_SQL = f"""
INSERT INTO gridgeo.departments (code, name, kind) VALUES
    ('T977', '田野镇', 'town'), ('T977PS', '田野派出所', 'police_station');
INSERT INTO gridgeo.staff (staff_no, name, role, work_phone, department_code) VALUES
    ('T977W1', '{WORKER_NAME}', 'grid_worker', '{WORKER_PHONE}', 'T977'),
    ('{INSPECTOR_NO}', '田野巡查员', 'inspector', '13800000978', 'T977');
INSERT INTO gridgeo.grids (code, name, level, parent_code, village_code, geom) VALUES
    ('{TOWN}', '田野镇', 'town', NULL, NULL, ST_GeomFromText('{SQUARE}', 4490)),
    ('{TOWN}P01', '田野片区', 'area', '{TOWN}', NULL, ST_GeomFromText('{SQUARE}', 4490)),
    ('{VILLAGE}', '田野村', 'village', '{TOWN}P01', '{VILLAGE}',
     ST_GeomFromText('{SQUARE}', 4490)),
    ('{UNIT}', '田野村第一网格', 'unit', '{VILLAGE}', '{VILLAGE}',
     ST_GeomFromText('{SQUARE}', 4490));
INSERT INTO gridgeo.grid_assignments (grid_code, staff_id, role)
    SELECT '{UNIT}', id, 'worker' FROM gridgeo.staff WHERE staff_no = 'T977W1';
INSERT INTO gridgeo.police_grids (code, name, station_code, geom) VALUES
    ('{POLICE_GRID}', '田野警格', 'T977PS', ST_GeomFromText('{SQUARE}', 4490));
INSERT INTO gridgeo.addresses (address_code, province, city, county, township, village,
        village_code, road, house_number, full_address, geom)
    SELECT code, '河南省', '洛阳市', '示范县', '田野镇', '田野村', '{VILLAGE}', '田园路',
           right(code, 4)::int || '号', '河南省洛阳市示范县田野镇田野村田园路' ||
           right(code, 4)::int || '号',
           ST_SetSRID(ST_MakePoint(111.51 + right(code, 4)::int * 0.001, 33.51), 4490)
      FROM unnest(ARRAY[{', '.join(repr(c) for c in ADDRESS_CODES)}]) AS code;
INSERT INTO gridgeo.greenhouses (gh_no, use, status, geom) VALUES
    ('{GREENHOUSE}', 'vegetables', 'in_use', ST_GeomFromText(
     'POLYGON((111.505 33.505, 111.5055 33.505, 111.5055 33.5053, 111.505 33.5053,
               111.505 33.505))', 4490));
INSERT INTO gridgeo.mine_tunnels (adit_no, name, mineral, seal_method, sealed_on, status,
        patrol_frequency_days, responsible_unit, geom) VALUES
    ('{ADIT}', '田野一号洞', 'gold', 'concrete_wall', '2025-01-01', 'sealed', 15, '田野镇',
     ST_SetSRID(ST_MakePoint(111.515, 33.515), 4490));
INSERT INTO gridgeo.incident_categories (code, name_zh, name_en, class) VALUES
    ('{CATEGORY}', '田野垃圾', 'field rubbish', 'city_appearance')
    ON CONFLICT (code) DO NOTHING;
"""


def ensure_field_town(conn: psycopg.Connection) -> None:
    """Load the field town unless it is there already (committed)."""
    exists = conn.execute("SELECT 1 FROM gridgeo.grids WHERE code = %s", (UNIT,)).fetchone()
    if not exists:
        conn.execute(_SQL)
    conn.commit()


@dataclass(frozen=True)
class FieldTown:
    url: str       # database
    base_url: str  # server
