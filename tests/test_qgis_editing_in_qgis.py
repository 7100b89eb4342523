"""GIS staff edit gridgeo's grids in QGIS 3.22 over PostgreSQL, under the database's rules
(docs/qgis-editing.md): QGIS's own PostgreSQL provider, run headless by Debian's
python3-qgis (scripts/qgis_edit_postgis.py under /usr/bin/python3), logs in as an editor
made by gridgeo.db.editors, renames and reshapes unit grids of the small hand-made town of
tests/test_import_checks.py, and the database keeps the history and the audit log, refuses
a bow-tie with its own sentence and leaves the read-only roads alone."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import shapely

from gridgeo.db.editors import create_editor, drop_editor
from gridgeo.db.pool import connect
from tests.conftest import _admin_url, empty_database
from tests.test_import_checks import (
    UNIT_1,
    UNIT_1_MOVED,
    UNIT_2,
    UNIT_2_MOVED,
    VILLAGES,
    run,
    write_town_files,
)

ROOT = Path(__file__).resolve().parent.parent
EDIT = ROOT / "scripts" / "qgis_edit_postgis.py"
SYSTEM_PYTHON = "/usr/bin/python3"
UNIT_1_CODE, UNIT_2_CODE, VILLAGE_CODE = "410399101001001", "410399101001002", "410399101001"
# A ring that crosses itself inside unit 001: the two triangles meet at (112.31, 34.01).
BOWTIE = "POLYGON((112.30 34.00, 112.32 34.02, 112.32 34.00, 112.30 34.02, 112.30 34.00))"

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def town_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database with the tiny town imported: one town, one area, four villages and
    the two unit grids that tile village 410399101001."""
    with empty_database("qgis_edit") as url:
        report = run(url, write_town_files(tmp_path_factory.mktemp("town")))
        assert report.written and report.clean, report
        yield url


@pytest.fixture(scope="module")
def editor(town_url: str) -> Iterator[dict[str, Any]]:
    """An editor login in the town's database, as QGIS's connection dialog takes it."""
    app = psycopg.conninfo.conninfo_to_dict(town_url)
    dbname = str(app["dbname"])
    name, password = f"qgis_e{os.getpid()}_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    with psycopg.connect(_admin_url(dbname), autocommit=True) as admin:
        create_editor(admin, dbname, name, password)
    yield {"host": app["host"], "port": int(str(app["port"])), "dbname": dbname, "user": name,
           "password": password}
    with psycopg.connect(_admin_url(dbname), autocommit=True) as admin:
        admin.execute("DELETE FROM gridgeo.audit_log WHERE actor = %s", (f"qgis:{name}",))
        drop_editor(admin, dbname, name)


def qgis(editor: dict[str, Any], table: str = "grids", **request: Any) -> dict[str, Any]:
    """One QGIS session on ``table``: open the layer, make the edits, save each."""
    done = subprocess.run([SYSTEM_PYTHON, str(EDIT)],
                          input=json.dumps({"connection": editor, "table": table, "key": "id",
                                            **request}),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    answer: dict[str, Any] = json.loads(done.stdout)
    assert answer["valid"], answer
    return answer


def one(url: str, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """One value, read as the app reads it."""
    with connect(url) as conn:
        row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


def grid(url: str, code: str) -> tuple[Any, ...]:
    with connect(url) as conn:
        row = conn.execute("SELECT id, name, ST_AsBinary(geom), valid_from FROM gridgeo.grids"
                           " WHERE code = %s", (code,)).fetchone()
    assert row is not None, code
    return (row[0], row[1], shapely.from_wkb(bytes(row[2])), row[3])


def versions(url: str, code: str) -> list[tuple[Any, ...]]:
    with connect(url) as conn:
        rows = conn.execute("SELECT ST_AsBinary(geom), valid_to FROM gridgeo.grid_versions"
                            " WHERE code = %s ORDER BY valid_to", (code,)).fetchall()
    return [(shapely.from_wkb(bytes(g)), valid_to) for g, valid_to in rows]


def test_qgis_is_installed() -> None:
    """python3-qgis comes from scripts/install-system.sh; missing is an install bug."""
    done = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_qgis_opens_the_grids_as_an_editable_layer_in_epsg_4490(
        editor: dict[str, Any]) -> None:
    answer = qgis(editor)
    assert answer["crs"] == "EPSG:4490"
    assert answer["editable_capabilities"]
    assert set(answer["capabilities"]) == {"AddFeatures", "DeleteFeatures",
                                           "ChangeAttributeValues", "ChangeGeometries"}


def test_a_rename_in_qgis_is_saved_and_audited_as_the_editor(
        town_url: str, editor: dict[str, Any]) -> None:
    grid_id, old_name, geometry, valid_from = grid(town_url, UNIT_1_CODE)
    new_name = f"{old_name}（QGIS 改名）"
    answer = qgis(editor, edits=[{"code": UNIT_1_CODE, "name": new_name}])
    (saved,) = answer["edits"]
    assert saved["found"] and saved["ok"], saved
    assert saved["errors"] == ["SUCCESS: 1 attribute value(s) changed."]
    assert saved["feature_count"] == 8
    _, name, geometry_after, valid_from_after = grid(town_url, UNIT_1_CODE)
    assert name == new_name
    assert shapely.equals(geometry_after, geometry) and valid_from_after == valid_from
    assert versions(town_url, UNIT_1_CODE) == []  # a new name is not a new version
    with connect(town_url) as conn:
        audited = conn.execute(
            "SELECT operation, roles, changed FROM gridgeo.audit_log WHERE actor = %s"
            " AND table_name = 'grids' AND row_id = %s", (f"qgis:{editor['user']}", str(grid_id))
        ).fetchall()
    assert audited == [("UPDATE", "anonymous,gis_editor", ["name"])]


def test_moving_a_shared_boundary_in_qgis_keeps_the_tiling_and_the_history(
        town_url: str, editor: dict[str, Any]) -> None:
    before = {code: len(versions(town_url, code)) for code in (UNIT_1_CODE, UNIT_2_CODE)}
    answer = qgis(editor, edits=[{"code": UNIT_1_CODE, "wkt": UNIT_1_MOVED.wkt},
                                 {"code": UNIT_2_CODE, "wkt": UNIT_2_MOVED.wkt}])
    for saved in answer["edits"]:
        assert saved["found"] and saved["ok"], saved
        assert [e for e in saved["errors"] if not e.startswith("SUCCESS")] == [], saved
    one_now, two_now = grid(town_url, UNIT_1_CODE), grid(town_url, UNIT_2_CODE)
    assert shapely.equals(one_now[2], UNIT_1_MOVED) and shapely.equals(two_now[2], UNIT_2_MOVED)
    assert shapely.equals(shapely.union(one_now[2], two_now[2]), VILLAGES[VILLAGE_CODE])
    assert shapely.area(shapely.intersection(one_now[2], two_now[2])) == 0
    for code, old, now in ((UNIT_1_CODE, UNIT_1, one_now), (UNIT_2_CODE, UNIT_2, two_now)):
        history = versions(town_url, code)
        assert len(history) == before[code] + 1, code
        closed, valid_to = history[-1]
        assert shapely.equals(closed, old), code  # the boundary as it was before the save
        assert valid_to is not None and valid_to == now[3], code  # closed as the new one opens


def test_a_bowtie_drawn_in_qgis_is_refused_with_the_databases_sentence(
        town_url: str, editor: dict[str, Any]) -> None:
    before = grid(town_url, UNIT_1_CODE)
    history = versions(town_url, UNIT_1_CODE)
    answer = qgis(editor, edits=[{"code": UNIT_1_CODE, "wkt": BOWTIE}])
    (refused,) = answer["edits"]
    assert refused["found"] and refused["ok"] is False, refused
    shown = "\n".join(refused["errors"])
    assert "the geometry is invalid: Self-intersection at POINT(112.31 34.01); fix the rings" \
        in shown, shown
    after = grid(town_url, UNIT_1_CODE)
    assert (after[1], after[3]) == (before[1], before[3]) and shapely.equals(after[2], before[2])
    assert versions(town_url, UNIT_1_CODE) == history


# Read-only layers and a feature a user might draw on each; gridgeo.roads is empty here.
READ_ONLY = {
    "roads": {"name": "QGIS 试画道路", "road_class": "village", "source": 1, "target": 2,
              "cost": 1.0, "reverse_cost": 1.0,
              "wkt": "LINESTRING(112.305 34.005, 112.315 34.005)"},
    "incidents": {"title": "QGIS 试画事件", "wkt": "POINT(112.31 34.01)"},
}


@pytest.mark.parametrize("table", sorted(READ_ONLY))
def test_read_only_layers_cannot_be_edited_by_an_editor_in_qgis(
        table: str, town_url: str, editor: dict[str, Any]) -> None:
    """QGIS reads the login's table privileges: the layer opens, in EPSG:4490, but offers no
    edit at all, so a drawn feature is never added and nothing is written."""
    before = one(town_url, f"SELECT count(*) FROM gridgeo.{table}")
    answer = qgis(editor, table=table, insert=READ_ONLY[table])
    assert answer["crs"] == "EPSG:4490"
    assert answer["capabilities"] == [] and not answer["editable_capabilities"]
    refused = answer["insert"]
    assert refused["editing"] is False and refused["added"] is False, refused
    assert refused["ok"] is False and refused["feature_count"] == before
    assert one(town_url, f"SELECT count(*) FROM gridgeo.{table}") == before
