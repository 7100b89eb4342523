"""QGIS editors (core/004, gridgeo/db/editors.py): a PostgreSQL login that edits the layers
directly, with the database enforcing the API's rules on it. Every editor write is rolled
back, or reverted at the end; every role made here is dropped."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from gridgeo.db.editors import EditorError, create_editor, drop_editor, editor_command
from gridgeo.settings import get_settings
from tests.conftest import TEST_DB, _admin_url

BOWTIE = ("SRID=4490;MULTIPOLYGON(((112.3 34.1,112.31 34.11,112.31 34.1,112.3 34.11,"
          "112.3 34.1)))")
UNIT = "SELECT id, code FROM gridgeo.grids WHERE level = 'unit' AND kind = 'basic' " \
       "ORDER BY code LIMIT 1"


def unique_name() -> str:
    return f"qgis_t{os.getpid()}_{secrets.token_hex(3)}"


@pytest.fixture()
def admin(demo_db_url: str) -> Iterator[psycopg.Connection]:
    """The cluster admin on the test database (it bypasses row-level security)."""
    with psycopg.connect(_admin_url(TEST_DB), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def editor(demo_db_url: str) -> Iterator[tuple[str, str]]:
    name, password = unique_name(), secrets.token_urlsafe(12)
    with psycopg.connect(_admin_url(TEST_DB), autocommit=True) as conn:
        create_editor(conn, TEST_DB, name, password)
    yield name, password
    with psycopg.connect(_admin_url(TEST_DB), autocommit=True) as conn:
        conn.execute("DELETE FROM gridgeo.audit_log WHERE actor = %s", (f"qgis:{name}",))
        drop_editor(conn, TEST_DB, name)


def connect_as(demo_db_url: str, user: str, password: str) -> psycopg.Connection:
    """Like QGIS: host and port of the app's URL, the editor's own user and password."""
    app = psycopg.conninfo.conninfo_to_dict(demo_db_url)
    return psycopg.connect(host=app["host"], port=app["port"], dbname=TEST_DB, user=user,
                           password=password)


@pytest.fixture()
def qgis(demo_db_url: str, editor: tuple[str, str]) -> Iterator[psycopg.Connection]:
    """The editor's connection; whatever it did is rolled back."""
    with connect_as(demo_db_url, *editor) as conn:
        yield conn
        conn.rollback()


def one(conn: psycopg.Connection, query: str, params: tuple[object, ...] = ()) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


# -- who the database takes an editor for ------------------------------------------------


IDENTITY = "SELECT gridgeo.request_trusted(), gridgeo.request_roles()"


def test_an_editor_is_gis_editor_whatever_it_sets(qgis: psycopg.Connection) -> None:
    assert qgis.execute(IDENTITY).fetchone() == (False, ["anonymous", "gis_editor"])
    qgis.execute("SET gridgeo.maintenance = 'on'")
    qgis.execute("SET gridgeo.roles = 'admin'")
    assert qgis.execute(IDENTITY).fetchone() == (False, ["anonymous", "gis_editor"])
    qgis.execute("RESET gridgeo.roles")  # never set: the old maintenance path
    assert qgis.execute(IDENTITY).fetchone() == (False, ["anonymous", "gis_editor"])
    qgis.execute("SET ROLE gridgeo_editors")  # the group is not a member of itself
    assert qgis.execute(IDENTITY).fetchone() == (False, ["anonymous", "gis_editor"])


def test_the_apps_own_role_is_trusted_as_before(conn: psycopg.Connection) -> None:
    assert conn.execute(IDENTITY).fetchone() == (True, None)  # maintenance path
    conn.execute("SELECT set_config('gridgeo.maintenance', 'off', true),"
                 " set_config('gridgeo.roles', 'anonymous,viewer', true)")
    assert conn.execute(IDENTITY).fetchone() == (False, ["anonymous", "viewer"])


def test_maintenance_setting_opens_no_audit_log(qgis: psycopg.Connection) -> None:
    qgis.execute("SET gridgeo.maintenance = 'on'")
    qgis.execute("SET gridgeo.roles = 'admin'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="audit_log"):
        qgis.execute("SELECT count(*) FROM gridgeo.audit_log")


# -- what it may and may not do ----------------------------------------------------------


def test_editor_edits_a_grid_and_its_history_is_kept(qgis: psycopg.Connection) -> None:
    grid_id, code = qgis.execute(UNIT).fetchone()  # type: ignore[misc]
    qgis.execute("UPDATE gridgeo.grids SET name = 'renamed in QGIS' WHERE id = %s", (grid_id,))
    assert one(qgis, "SELECT count(*) FROM gridgeo.grid_versions WHERE code = %s",
               (code,)) == 0  # a new name is not a new version
    old_area = one(qgis, "SELECT area_m2 FROM gridgeo.grids WHERE id = %s", (grid_id,))
    qgis.execute("UPDATE gridgeo.grids SET geom = ST_Multi(ST_Buffer(geom, -0.0002))"
                 " WHERE id = %s", (grid_id,))
    closed = qgis.execute("SELECT name, valid_to = now() FROM gridgeo.grid_versions"
                          " WHERE code = %s", (code,)).fetchall()
    assert closed == [("renamed in QGIS", True)]
    valid_from, area = qgis.execute("SELECT valid_from = now(), area_m2 FROM gridgeo.grids"
                                    " WHERE id = %s", (grid_id,)).fetchone()  # type: ignore[misc]
    assert valid_from and area < old_area


def test_editor_cannot_forge_grid_history(qgis: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="grid_versions"):
        qgis.execute("DELETE FROM gridgeo.grid_versions")


def test_editor_inserts_an_address_placed_by_the_database(qgis: psycopg.Connection) -> None:
    row = qgis.execute(
        "INSERT INTO gridgeo.addresses (address_code, province, city, county, township,"
        " village, village_code, road, house_number, full_address, grid_code, geom)"
        " SELECT left(address_code, 15) || '9999', province, city, county, township, village,"
        " village_code, road, '9999', full_address || ' (QGIS)', 'not a grid', geom"
        " FROM gridgeo.addresses ORDER BY id LIMIT 1 RETURNING grid_code").fetchone()
    assert row is not None and row[0] is not None and row[0] != "not a grid"
    assert len(row[0]) == 15


def test_editor_cannot_place_an_address_outside_the_town(qgis: psycopg.Connection) -> None:
    """The territory check holds for editors, whatever they set (only an admin's API
    request may skip it)."""
    qgis.execute("SET gridgeo.outside_territory = 'allow'")
    with pytest.raises(psycopg.Error, match="outside this deployment's territory"):
        qgis.execute("UPDATE gridgeo.addresses SET geom = ST_SetSRID(ST_MakePoint(0, 0), 4490)"
                     " WHERE id = (SELECT min(id) FROM gridgeo.addresses)")


def test_editor_reads_but_cannot_write_incidents(qgis: psycopg.Connection,
                                                 conn: psycopg.Connection) -> None:
    # gis_editor reaches every incident but those of sensitive categories, as over the API.
    assert one(qgis, "SELECT count(*) FROM gridgeo.incidents") == \
        one(conn, "SELECT count(*) FROM gridgeo.incidents i JOIN gridgeo.incident_categories c"
                  " ON c.code = i.category_code WHERE NOT c.sensitive") > 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="incidents"):
        qgis.execute("UPDATE gridgeo.incidents SET title = 'x'")
    qgis.rollback()
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="incidents"):
        qgis.execute("INSERT INTO gridgeo.incidents SELECT * FROM gridgeo.incidents LIMIT 1")


@pytest.mark.parametrize("layer", [
    "grids", "grid_assignments", "police_grids", "police_grid_assignments", "addresses",
    "greenhouses", "mine_tunnels", "roads", "staff", "departments", "grid_versions",
    "incidents", "inspections", "patrol_routes", "deployment", "incident_events",
    "grid_police_crosswalk", "grids_view", "police_grids_view", "addresses_view",
    "greenhouses_view", "mine_tunnels_view", "roads_view", "incidents_view",
    "inspections_view", "patrol_routes_view", "incident_events_view",
    "grid_police_crosswalk_view", "greenhouses_due", "mine_tunnels_due"])
def test_editor_reads_the_layers(qgis: psycopg.Connection, layer: str) -> None:
    qgis.execute(f"SELECT * FROM gridgeo.{layer} LIMIT 1").fetchall()


@pytest.mark.parametrize("statement", [
    "UPDATE gridgeo.deployment SET value = '3857' WHERE key = 'metric_srid'",
    "UPDATE gridgeo.roads SET name = 'x'",
    "DELETE FROM gridgeo.roads",
    "SELECT count(*) FROM gridgeo.jobs",
    "SELECT count(*) FROM gridgeo.schema_migrations",
    "CREATE TABLE gridgeo.qgis_scratch (id int)",
    "ALTER TABLE gridgeo.grids DROP CONSTRAINT grids_geom_valid",
    "ALTER TABLE gridgeo.grids DISABLE TRIGGER aa_grids_editor_rules",
])
def test_editor_is_refused(qgis: psycopg.Connection, statement: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        qgis.execute(statement)


# -- the API's rules, enforced by the database -------------------------------------------


def test_bow_tie_grid_is_refused_with_a_sentence(qgis: psycopg.Connection) -> None:
    grid_id, _code = qgis.execute(UNIT).fetchone()  # type: ignore[misc]
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        qgis.execute("UPDATE gridgeo.grids SET geom = %s WHERE id = %s", (BOWTIE, grid_id))
    assert refused.value.diag.constraint_name == "grids_geom_valid"
    assert (refused.value.diag.message_primary or "").startswith(
        "the geometry is invalid: Self-intersection at POINT(112.305 34.105)")


def test_empty_point_is_refused(qgis: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.CheckViolation, match="the geometry is empty"):
        qgis.execute("UPDATE gridgeo.mine_tunnels SET geom = 'SRID=4490;POINT EMPTY'"
                     " WHERE id = (SELECT min(id) FROM gridgeo.mine_tunnels)")


@pytest.mark.parametrize("change,message", [
    ("code = code || '1'", "does not fit the coding rule: a unit grid's code is 15 digits"),
    ("parent_code = '410399101999'",  # another village: the code's prefix says otherwise
     "(level unit, parent_code 410399101999) does not fit the coding rule"),
    ("village_code = '410399101999'", "must be 410399101"),
])
def test_grid_codes_are_refused_with_a_sentence(qgis: psycopg.Connection, change: str,
                                                message: str) -> None:
    grid_id, _code = qgis.execute(UNIT).fetchone()  # type: ignore[misc]
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        qgis.execute(f"UPDATE gridgeo.grids SET {change} WHERE id = %s", (grid_id,))
    assert message in str(refused.value)


def test_columns_the_database_computes_are_not_edited(qgis: psycopg.Connection) -> None:
    with pytest.raises(psycopg.DatabaseError, match="area_m2 is computed") as refused:
        qgis.execute("UPDATE gridgeo.greenhouses SET area_m2 = 1"
                     " WHERE id = (SELECT min(id) FROM gridgeo.greenhouses)")
    assert refused.value.sqlstate == "GG400"  # what the API answers as a 400


def test_a_new_grid_starts_its_history_now(qgis: psycopg.Connection) -> None:
    _id, unit = qgis.execute(UNIT).fetchone()  # type: ignore[misc]
    valid_from = one(
        qgis, "INSERT INTO gridgeo.grids (code, name, level, parent_code, village_code,"
        " valid_from, geom) SELECT code || '99', 'micro from QGIS', 'micro', code,"
        " village_code, '2000-01-01', ST_Multi(ST_Buffer(ST_PointOnSurface(geom), 0.0005))"
        " FROM gridgeo.grids WHERE code = %s RETURNING valid_from = now()", (unit,))
    assert valid_from is True
    qgis.execute("DELETE FROM gridgeo.grids WHERE code = %s", (unit + "99",))
    assert one(qgis, "SELECT name FROM gridgeo.grid_versions WHERE code = %s",
               (unit + "99",)) == "micro from QGIS"


def test_deleting_an_address_detaches_its_incidents(qgis: psycopg.Connection) -> None:
    address = one(qgis, "SELECT min(address_id) FROM gridgeo.incidents")
    assert address is not None
    qgis.execute("DELETE FROM gridgeo.addresses WHERE id = %s", (address,))
    assert one(qgis, "SELECT count(*) FROM gridgeo.incidents WHERE address_id = %s",
               (address,)) == 0


# -- the audit log -----------------------------------------------------------------------


def test_audit_log_names_the_editor_not_what_it_claims(
        demo_db_url: str, editor: tuple[str, str], admin: psycopg.Connection) -> None:
    staff_id = one(admin, "SELECT min(id) FROM gridgeo.staff")
    with connect_as(demo_db_url, *editor) as qgis:
        qgis.execute("SET gridgeo.actor = 'admin'")
        qgis.execute("SET gridgeo.maintenance = 'on'")
        # Names the row without changing it: the shared town stays as it was.
        qgis.execute("UPDATE gridgeo.staff SET name = name WHERE id = %s", (staff_id,))
        qgis.commit()
    rows = admin.execute("SELECT actor, roles, table_name, operation, row_id"
                         " FROM gridgeo.audit_log WHERE actor LIKE %s",
                         (f"%{editor[0]}",)).fetchall()
    assert rows == [(f"qgis:{editor[0]}", "anonymous,gis_editor", "staff", "UPDATE",
                     str(staff_id))]


# -- creating editors --------------------------------------------------------------------


@pytest.mark.parametrize("name,message", [
    ("Wang Li", "not a plain identifier"),
    ("1wang", "not a plain identifier"),
    ("wang'; DROP ROLE gridgeo; --", "not a plain identifier"),
    ("gridgeo_editors", "reserved"),
    ("pg_wang", "reserved"),
])
def test_create_editor_refuses_bad_names(admin: psycopg.Connection, name: str,
                                         message: str) -> None:
    with pytest.raises(EditorError, match=message):
        create_editor(admin, TEST_DB, name, "long enough password")


def test_an_existing_role_is_never_taken_over(admin: psycopg.Connection,
                                              demo_db_url: str) -> None:
    app_role = psycopg.conninfo.conninfo_to_dict(demo_db_url)["user"]
    with pytest.raises(EditorError, match="exists and is not a QGIS editor"):
        create_editor(admin, TEST_DB, str(app_role), "long enough password")
    with pytest.raises(EditorError, match="is not a QGIS editor"):
        drop_editor(admin, TEST_DB, str(app_role))
    assert one(admin, "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (app_role,))


def invoke(args: list[str], database_url: str) -> tuple[int, str]:
    """`gridgeo db editor ...` with GRIDGEO_DATABASE_URL set, settings read afresh."""
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(editor_command, args,
                                    env={"GRIDGEO_DATABASE_URL": database_url})
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_command_adds_lists_and_removes_an_editor(demo_db_url: str) -> None:
    name = unique_name()
    admin_url = _admin_url(TEST_DB)  # a URL whose role may create roles
    code, out = invoke(["add", name], admin_url)
    try:
        assert code == 0, out
        assert f"User     {name}" in out and f"Database {TEST_DB}" in out
        password = next(line.split()[1] for line in out.splitlines()
                        if line.strip().startswith("Password"))
        with connect_as(demo_db_url, name, password) as qgis:
            assert one(qgis, "SELECT gridgeo.request_editor()") is True
        assert name in invoke(["list"], admin_url)[1].split()
    finally:
        code, out = invoke(["remove", name], admin_url)
    assert code == 0, out
    assert name not in invoke(["list"], admin_url)[1].split()


def test_command_says_what_is_missing(demo_db_url: str, admin: psycopg.Connection) -> None:
    code, out = invoke(["add", "Wang Li"], demo_db_url)
    assert code == 1 and "not a plain identifier" in out
    # A database URL whose role may not create roles, whatever the cluster's app role is.
    plain, password = unique_name(), secrets.token_urlsafe(12)
    admin.execute(psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
        psycopg.sql.Identifier(plain), psycopg.sql.Literal(password)))
    try:
        url = psycopg.conninfo.make_conninfo(demo_db_url, user=plain, password=password)
        code, out = invoke(["add", unique_name(), "--password", "long enough password"], url)
    finally:
        admin.execute(psycopg.sql.SQL("DROP ROLE {}").format(psycopg.sql.Identifier(plain)))
    assert code == 1
    assert f"role {plain} may not create roles: it needs the CREATEROLE privilege" in out
    assert "GRIDGEO_DATABASE_URL" in out
