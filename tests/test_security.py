"""Identity and roles through every path: tokens, collection access, row scope, personal
fields, audit, caching (the demo town's server, JWTs signed by this session's own key)."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import psycopg
import pytest
import requests
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

from gridgeo.db.pool import connect as maintenance_connect
from gridgeo.settings import PROJECT_ROOT
from tests.conftest import (
    EDITOR,
    JWT_AUDIENCE,
    JWT_ISSUER,
    JWT_KID,
    ROLE_KEYS,
    fetch_row,
    free_port,
    jwt_private_key,
    server_env,
)

VIEWER = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'viewer')}"}
ADMIN = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'admin')}"}
GEOJSON = "application/geo+json"
PERSONAL = ("reporter_name", "reporter_phone", "reporter_id_number")


def token(sub: str = "u-1", roles: tuple[str, ...] = ("viewer",), *, key: Any = None,
          expires_in: int = 300, aud: str = JWT_AUDIENCE, iss: str = JWT_ISSUER,
          **claims: Any) -> dict[str, str]:
    """Authorization headers with a Keycloak-shaped token (roles in realm_access.roles)."""
    now = int(time.time())
    body = {"sub": sub, "iss": iss, "aud": aud, "iat": now, "exp": now + expires_in,
            "realm_access": {"roles": list(roles)}, **claims}
    signed = jwt.encode(body, key or jwt_private_key(), algorithm="ES256",
                        headers={"kid": JWT_KID})
    return {"Authorization": f"Bearer {signed}"}


def get(url: str, headers: dict[str, str] | None = None, /, **params: Any) -> requests.Response:
    return requests.get(url, params=params, headers={"Accept": GEOJSON, **(headers or {})},
                        timeout=60)


# ------------------------------------------------------------------ tokens

BAD_TOKENS = {
    "expired": (lambda: token(expires_in=-3600), "expired"),
    "badly signed": (lambda: token(key=ec.generate_private_key(ec.SECP256R1())), "signature"),
    "other audience": (lambda: token(aud="another-app"), "audience"),
    "other issuer": (lambda: token(iss="https://evil.example/realms/x"), "issuer"),
    "not a jwt": (lambda: {"Authorization": "Bearer eyJ.not.valid"}, "JWT"),
    "unknown api key": (lambda: {"Authorization": "Bearer no-such-key"}, "API key"),
    "basic auth": (lambda: {"Authorization": "Basic dTpw"}, "Bearer"),
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_untrusted_credentials_are_401_with_a_sentence(base_url: str, case: str) -> None:
    make, phrase = BAD_TOKENS[case]
    response = get(f"{base_url}/collections/grids/items", make(), limit=1)
    assert response.status_code == 401, response.text
    assert phrase in response.json()["description"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_is_anonymous(base_url: str) -> None:
    response = get(f"{base_url}/collections/grids/items", limit=1)
    assert response.status_code == 200
    assert "Authorization" in response.headers["Vary"]
    assert "private" not in response.headers.get("Cache-Control", "")


def test_a_valid_token_with_keycloak_roles_is_accepted(base_url: str) -> None:
    response = get(f"{base_url}/collections/inspections/items", token(roles=("viewer",)),
                   limit=1)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "private"
    assert "Authorization" in response.headers["Vary"]


# ------------------------------------------------------------------ collection access

@pytest.fixture(scope="module")
def strict_url(demo_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second server whose deployment file makes inspections staff-only and the
    incident report a staff process (access rules are configuration)."""
    home = tmp_path_factory.mktemp("strict-home")
    config = yaml.safe_load((PROJECT_ROOT / "pygeoapi-config.yml").read_text())
    config["resources"] = {
        "inspections": {"access": {"read": ["viewer", "grid_worker", "gis_editor", "admin"]}},
        "incident-report": {"access": {"execute": ["viewer", "gis_editor", "admin"]}}}
    (home / "deployment.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    port = free_port()
    env = {**server_env(demo_db_url, home, port),
           "GRIDGEO_CONFIG_FILE": str(home / "deployment.yml")}
    cli = [sys.executable, "-m", "gridgeo.cli"]
    subprocess.run([*cli, "serve", "--background"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    yield f"http://127.0.0.1:{port}"
    subprocess.run([*cli, "stop"], env=env, check=False, stdout=subprocess.DEVNULL)


def test_a_collection_a_role_may_not_read_is_404_on_every_path(strict_url: str) -> None:
    paths = ["/collections/inspections", "/collections/inspections/items",
             "/collections/inspections/items/1", "/collections/inspections/queryables",
             "/collections/inspections/items?f=html", "/collections/inspections/items?f=csv",
             "/collections/inspections/schema", "/collections/inspections/tiles",
             "/collections/inspections/items?filter=id%3D1"]
    for path in paths:
        for headers in ({}, token("p", ("police",))):
            response = requests.get(strict_url + path, headers=headers, timeout=30)
            assert response.status_code == 404, (path, response.status_code)
    anonymous = requests.get(f"{strict_url}/collections?f=json", timeout=30).json()
    assert "inspections" not in {c["id"] for c in anonymous["collections"]}
    assert "grids" in {c["id"] for c in anonymous["collections"]}
    as_viewer = requests.get(f"{strict_url}/collections?f=json", headers=VIEWER, timeout=30)
    assert "inspections" in {c["id"] for c in as_viewer.json()["collections"]}
    # Nor does it exist in the HTML list or the OpenAPI document for those callers.
    html = requests.get(f"{strict_url}/collections?f=html", timeout=30).text
    assert "/collections/grids" in html and "/collections/inspections" not in html
    assert "/collections/inspections" in requests.get(f"{strict_url}/collections?f=html",
                                                      headers=VIEWER, timeout=30).text
    openapi = requests.get(f"{strict_url}/openapi?f=json", timeout=60).json()["paths"]
    assert "/collections/grids/items" in openapi
    assert not [p for p in openapi if p.startswith("/collections/inspections")]
    as_viewer_paths = requests.get(f"{strict_url}/openapi?f=json", headers=VIEWER,
                                   timeout=60).json()["paths"]
    assert "/collections/inspections/items" in as_viewer_paths
    assert requests.get(f"{strict_url}/collections/inspections/items?f=json", headers=VIEWER,
                        timeout=30).status_code == 200
    assert requests.get(f"{strict_url}/collections/inspections/items?f=csv", headers=VIEWER,
                        timeout=30).status_code == 200


def test_process_execution_follows_its_access_rule(strict_url: str) -> None:
    url = f"{strict_url}/processes/incident-report/execution"
    body: dict[str, Any] = {"inputs": {}}
    assert requests.post(url, json=body, timeout=60).status_code == 401
    assert requests.post(url, json=body, headers=token("w", ("grid_worker",)),
                         timeout=60).status_code == 403
    assert requests.post(url, json=body, headers=VIEWER, timeout=60).status_code < 500
    assert requests.post(url, json=body, headers=VIEWER, timeout=60).status_code not in (401,
                                                                                       403)


def test_process_callbacks_are_refused(base_url: str) -> None:
    response = requests.post(f"{base_url}/processes/grid-topology/execution", json={
        "inputs": {}, "subscriber": {"successUri": "http://169.254.169.254/"}}, timeout=30)
    assert response.status_code == 400
    assert "subscriber" in response.json()["description"]


def test_writes_need_a_role_that_may_write(base_url: str) -> None:
    url = f"{base_url}/collections/grids/items/1"
    body = {"properties": {"households": 100}}
    assert requests.patch(url, json=body, timeout=30).status_code == 401
    assert requests.patch(url, json=body, headers=VIEWER, timeout=30).status_code == 403
    worker = token("w", ("grid_worker",))
    assert requests.patch(url, json=body, headers=worker, timeout=30).status_code == 403
    assert requests.post(f"{base_url}/collections/incidents/items", json={},
                         headers=VIEWER, timeout=30).status_code == 403


# ------------------------------------------------------------------ row scope

@dataclass(frozen=True)
class Scoped:
    staff_no: str
    codes: tuple[str, ...]  # grids (workers) or police grids (officers)
    inside: int  # an incident in one of them
    outside: int  # an incident in none of them
    point: tuple[float, float]  # a point inside the first grid


@pytest.fixture(scope="module")
def worker(demo_db_url: str) -> Scoped:
    with maintenance_connect(demo_db_url) as conn:
        staff_no, codes = fetch_row(
            conn, "SELECT s.staff_no, array_agg(DISTINCT a.grid_code) FROM gridgeo.staff s"
            " JOIN gridgeo.grid_assignments a ON a.staff_id = s.id AND a.role = 'worker'"
            " WHERE s.active AND EXISTS (SELECT 1 FROM gridgeo.incidents i"
            "   WHERE i.grid_code = a.grid_code)"
            " GROUP BY s.staff_no ORDER BY s.staff_no LIMIT 1")
        inside = fetch_row(conn, "SELECT min(id) FROM gridgeo.incidents"
                           " WHERE grid_code = ANY(%s)", (codes,))[0]
        outside = fetch_row(conn, "SELECT min(id) FROM gridgeo.incidents"
                            " WHERE grid_code <> ALL(%s)", (codes,))[0]
        x, y = fetch_row(conn, "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p"
                         " FROM gridgeo.grids WHERE code = %s) s", (codes[0],))
    return Scoped(staff_no, tuple(codes), inside, outside, (x, y))


@pytest.fixture(scope="module")
def officer(demo_db_url: str) -> Scoped:
    with maintenance_connect(demo_db_url) as conn:
        staff_no, codes = fetch_row(
            conn, "SELECT s.staff_no, array_agg(DISTINCT a.police_grid_code) FROM gridgeo.staff s"
            " JOIN gridgeo.police_grid_assignments a ON a.staff_id = s.id"
            " WHERE s.active AND EXISTS (SELECT 1 FROM gridgeo.incidents i"
            "   WHERE i.police_grid_code = a.police_grid_code)"
            " GROUP BY s.staff_no ORDER BY s.staff_no LIMIT 1")
        inside = fetch_row(conn, "SELECT min(id) FROM gridgeo.incidents"
                           " WHERE police_grid_code = ANY(%s)", (codes,))[0]
        outside = fetch_row(conn, "SELECT min(id) FROM gridgeo.incidents"
                            " WHERE police_grid_code <> ALL(%s)", (codes,))[0]
    return Scoped(staff_no, tuple(codes), inside, outside, (0, 0))


@pytest.fixture(scope="module")
def elsewhere(demo_db_url: str, worker: Scoped) -> tuple[float, float]:
    """A point in the town but in none of the worker's grids (the incident ``outside``);
    a point outside the town is refused before row-level security is asked."""
    with maintenance_connect(demo_db_url) as conn:
        x, y = fetch_row(conn, "SELECT ST_X(geom), ST_Y(geom) FROM gridgeo.incidents"
                         " WHERE id = %s", (worker.outside,))
    return x, y


def _codes(features: list[dict[str, Any]], field: str) -> set[str]:
    return {f["properties"][field] for f in features}


def test_grid_worker_reads_only_own_grids_on_every_path(base_url: str, worker: Scoped,
                                                        demo_db_url: str) -> None:
    headers = token(worker.staff_no, ("grid_worker",))
    url = f"{base_url}/collections/incidents/items"
    everything = get(url, headers, limit=2000).json()
    assert everything["numberMatched"] > 0
    assert _codes(everything["features"], "grid_code") <= set(worker.codes)
    anonymous = get(url, limit=1).json()["numberMatched"]
    assert everything["numberMatched"] < anonymous
    # their own incidents in full, reporters' contacts included (they call back) ...
    own = get(f"{url}/{worker.inside}", headers)
    assert own.status_code == 200 and "reporter_name" in own.json()["properties"]
    # ... and nothing of another grid: not by id, not by filter, not by bbox
    assert get(f"{url}/{worker.outside}", headers).status_code == 404
    filtered = get(url, headers, filter=f"id = {worker.outside}").json()
    assert filtered["numberMatched"] == 0
    bbox = get(url, headers, bbox="-180,-90,180,90", limit=2000).json()
    assert _codes(bbox["features"], "grid_code") <= set(worker.codes)
    assert get(url, headers, filter="grid_code <> 'x'").json()["numberMatched"] == \
        everything["numberMatched"]
    # the HTML and CSV pages go through pygeoapi and the provider: the same rows
    csv_rows = list(csv.DictReader(io.StringIO(requests.get(
        url, params={"f": "csv", "limit": "2000"}, headers=headers, timeout=60).text)))
    assert {r["grid_code"] for r in csv_rows} <= set(worker.codes)
    assert len(csv_rows) == everything["numberMatched"]
    html = requests.get(f"{url}/{worker.outside}", params={"f": "html"}, headers=headers,
                        timeout=60)
    assert html.status_code == 404


def _incident(point: tuple[float, float], category: str) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(point)},
            "properties": {"category_code": category, "title": "网格员上报：占道经营",
                           "source": "grid_worker"}}


@pytest.fixture(scope="module")
def category(demo_db_url: str) -> str:
    with maintenance_connect(demo_db_url) as conn:
        return str(fetch_row(conn, "SELECT min(code) FROM gridgeo.incident_categories")[0])


def test_grid_worker_writes_only_in_own_grids_and_is_audited(
        base_url: str, worker: Scoped, category: str, demo_db_url: str,
        elsewhere: tuple[float, float]) -> None:
    headers = token(worker.staff_no, ("grid_worker",))
    url = f"{base_url}/collections/incidents/items"
    created = requests.post(url, json=_incident(worker.point, category), headers=headers,
                            timeout=30)
    assert created.status_code == 201, created.text
    assert created.json()["properties"]["grid_code"] in worker.codes
    far = requests.post(url, json=_incident(elsewhere, category), headers=headers,
                        timeout=30)
    assert far.status_code == 403, far.text
    assert "not assigned to you" in far.json()["description"]
    new_id = created.json()["id"]
    headers = {**headers, "If-Match": created.headers["ETag"]}
    moved = requests.patch(f"{url}/{new_id}", json={"geometry": {
        "type": "Point", "coordinates": list(elsewhere)}}, headers=headers, timeout=30)
    assert moved.status_code == 403, moved.text
    titled = requests.patch(f"{url}/{new_id}", json={"properties": {"title": "已改"}},
                            headers=headers, timeout=30)
    assert titled.status_code == 200, titled.text
    other = requests.patch(f"{url}/{worker.outside}", json={"properties": {"title": "x"}},
                           headers=headers, timeout=30)
    assert other.status_code == 404
    with maintenance_connect(demo_db_url) as conn:
        log = conn.execute("SELECT actor, roles, operation, changed FROM gridgeo.audit_log"
                           " WHERE table_name = 'incidents' AND row_id = %s ORDER BY id",
                           (str(new_id),)).fetchall()
        untouched = fetch_row(conn, "SELECT title FROM gridgeo.incidents WHERE id = %s",
                              (worker.outside,))[0]
    assert untouched != "x"
    assert [(a, o) for a, _, o, _ in log] == [(worker.staff_no, "INSERT"),
                                              (worker.staff_no, "UPDATE")]
    assert "grid_worker" in log[0][1]
    assert "title" in log[1][3]


def test_police_see_and_change_their_police_grids_incidents(base_url: str,
                                                            officer: Scoped) -> None:
    headers = token(officer.staff_no, ("police",))
    url = f"{base_url}/collections/incidents/items"
    body = get(url, headers, limit=2000).json()
    assert body["numberMatched"] > 0
    assert _codes(body["features"], "police_grid_code") <= set(officer.codes)
    assert get(f"{url}/{officer.outside}", headers).status_code == 404
    headers = {**headers, "If-Match": get(f"{url}/{officer.inside}", headers).headers["ETag"]}
    changed = requests.patch(f"{url}/{officer.inside}",
                             json={"properties": {"agency_responsible": "派出所"}},
                             headers=headers, timeout=30)
    assert changed.status_code == 200, changed.text
    refused = requests.patch(f"{url}/{officer.outside}",
                             json={"properties": {"agency_responsible": "派出所"}},
                             headers=headers, timeout=30)
    assert refused.status_code == 404


def test_unscoped_roles_see_every_row(base_url: str) -> None:
    url = f"{base_url}/collections/incidents/items"
    counts = {name: get(url, headers, limit=1).json()["numberMatched"]
              for name, headers in (("anonymous", {}), ("viewer", VIEWER), ("editor", EDITOR),
                                    ("admin", ADMIN))}
    # every row, but sensitive categories only for the roles that handle them (admin)
    assert counts["anonymous"] == counts["viewer"] == counts["editor"] < counts["admin"], counts


# ------------------------------------------------------------------ personal fields

def test_personal_fields_never_reach_anonymous_in_any_format(base_url: str) -> None:
    url = f"{base_url}/collections/incidents/items"
    features = get(url, limit=50).json()["features"]
    assert features and not any(p in f["properties"] for f in features for p in PERSONAL)
    one = get(f"{url}/{features[0]['id']}").json()
    assert not any(p in one["properties"] for p in PERSONAL)
    html = requests.get(url, params={"f": "html", "limit": "50"}, timeout=60).text
    csv_text = requests.get(url, params={"f": "csv", "limit": "50"}, timeout=60).text
    queryables = requests.get(f"{base_url}/collections/incidents/queryables?f=json",
                              timeout=30).json()
    for field in PERSONAL:
        assert field not in html and field not in csv_text.splitlines()[0]
        assert field not in queryables["properties"]
    assert get(url, filter="reporter_name IS NULL").status_code == 400
    with_admin = get(url, ADMIN, limit=5).json()["features"]
    assert all("reporter_name" in f["properties"] for f in with_admin)
    admin_csv = requests.get(url, params={"f": "csv", "limit": "5"}, headers=ADMIN, timeout=60)
    assert "reporter_name" in admin_csv.text.splitlines()[0]


def test_grid_workers_contacts_stay_public(base_url: str) -> None:
    grids = get(f"{base_url}/collections/grids/items", limit=200,
                filter="level = 'unit'").json()["features"]
    assert any(f["properties"].get("worker_names") and f["properties"].get("worker_phones")
               for f in grids)
    # on the incidents themselves for staff (the public view names no actor)
    incidents = get(f"{base_url}/collections/incidents/items", VIEWER,
                    limit=50).json()["features"]
    assert any(f["properties"].get("grid_worker_name") for f in incidents)


# ------------------------------------------------------------------ hardening

def test_caps_are_clear_4xx(base_url: str) -> None:
    url = f"{base_url}/collections/grids/items"
    deep = get(url, offset=2_000_000)
    assert deep.status_code == 400 and "offset" in deep.json()["description"]
    deep_html = requests.get(url, params={"f": "html", "offset": "2000000"}, timeout=30)
    assert deep_html.status_code == 400
    big = requests.post(f"{base_url}/collections/grids/items", data=b"x" * (6 * 1024 * 1024),
                        headers={**EDITOR, "Content-Type": "application/json"}, timeout=60)
    assert big.status_code == 413, big.status_code
    assert "limit" in big.json()["description"]
    nested = "(" * 200 + "id = 1" + ")" * 200
    assert get(url, filter=nested).status_code == 400


def test_errors_carry_no_stack_trace_or_sql(base_url: str) -> None:
    cases: tuple[tuple[str, dict[str, str]], ...] = (
        ("/collections/grids/items", {"filter": "households > 'many'"}),
        ("/collections/grids/items", {"datetime": "yesterday"}),
        ("/collections/grids/items/not-a-number", {}),
        ("/collections/grids/items", {"sortby": "nope"}))
    for path, params in cases:
        response = get(base_url + path, **params)
        assert response.status_code < 500, (path, response.text)
        for leak in ("Traceback", "psycopg", "SELECT", "ERROR:", "File \""):
            assert leak not in response.text, (path, response.text)


# ------------------------------------------------------------------ processes, tiles, GPX

def test_a_process_reads_only_the_rows_its_caller_may(base_url: str, worker: Scoped) -> None:
    url = f"{base_url}/processes/incident-report/execution"
    inputs = {"inputs": {"start": "2020-01-01", "end": "2029-01-01", "format": "csv"}}

    def total(headers: dict[str, str]) -> int:
        response = requests.post(url, json=inputs, headers=headers, timeout=60)
        assert response.status_code == 200, response.text
        rows = csv.DictReader(io.StringIO(response.text))
        return sum(int(r["value"]) for r in rows if r["section"] == "state")

    everyone = total({})
    mine = total(token(worker.staff_no, ("grid_worker",)))
    assert 0 < mine < everyone


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def test_tiles_follow_row_scope_and_carry_no_personal_fields(base_url: str,
                                                             worker: Scoped) -> None:
    import mapbox_vector_tile

    x, y = _tile_of(*worker.point, 10)
    url = f"{base_url}/collections/incidents/tiles/WebMercatorQuad/10/{y}/{x}?f=mvt"

    def features(headers: dict[str, str]) -> list[dict[str, Any]]:
        response = requests.get(url, headers=headers, timeout=60)
        assert response.status_code in (200, 204), response.text[:200]
        tile = mapbox_vector_tile.decode(response.content) if response.content else {}
        return [f for layer in tile.values() for f in layer["features"]]

    public = features({})
    mine = features(token(worker.staff_no, ("grid_worker",)))
    assert public and not any(p in f["properties"] for f in public for p in PERSONAL)
    assert 0 < len(mine) < len(public)


def test_gpx_exports_carry_no_personal_fields(base_url: str, demo_db_url: str) -> None:
    village = "410399101218"
    inputs = {"area": {"grids": [village]}, "targets": ["incidents"], "date": "2026-11-20",
              "start_time": "08:00", "patrols": 1, "max_hours": 8, "travel_mode": "walking"}
    # Stored (an editor may store routes), so the GPX download path is exercised too.
    response = requests.post(f"{base_url}/processes/patrol-route/execution",
                             json={"inputs": inputs}, headers=EDITOR, timeout=120)
    assert response.status_code == 200, response.text
    body = response.json()
    routes = [f for f in body["features"] if f["geometry"]["type"] == "LineString"]
    assert routes
    gpx = requests.get(f"{base_url}{routes[0]['properties']['gpx']}", headers=EDITOR,
                       timeout=30)
    assert gpx.status_code == 200 and "<wpt" in gpx.text
    stops = routes[0]["properties"]["stops"]
    with maintenance_connect(demo_db_url) as conn:
        personal = conn.execute(
            "SELECT reporter_name, reporter_phone, reporter_id_number FROM gridgeo.incidents"
            " WHERE left(grid_code, 12) = %s AND reporter_name IS NOT NULL",
            (village,)).fetchall()
    assert personal and stops
    for values in personal:
        for value in values:
            if value:
                assert value not in gpx.text and value not in response.text


def test_a_cancelled_query_is_a_503_sentence() -> None:
    from gridgeo.provider.postgis import database_errors

    with pytest.raises(Exception) as caught, database_errors():
        raise psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
    assert caught.value.http_status_code == 503  # type: ignore[attr-defined]
    assert "took too long" in caught.value.message  # type: ignore[attr-defined]
    assert "statement" not in caught.value.message  # type: ignore[attr-defined]


# ------------------------------------------------------------------ the database's own guard

def test_row_level_security_fails_closed_and_lets_maintenance_through(
        demo_db_url: str, worker: Scoped, elsewhere: tuple[float, float]) -> None:
    from gridgeo.db.pool import connect, connection, get_pool
    from gridgeo.identity import Identity, reset_identity, set_identity

    def count(conn: psycopg.Connection, table: str) -> int:
        return int(fetch_row(conn, f"SELECT count(*) FROM gridgeo.{table}")[0])

    with connect(demo_db_url) as maintenance:
        everything = count(maintenance, "incidents")
        assert count(maintenance, "audit_log") > 0
    with get_pool().connection() as raw:  # a pooled connection that skipped the wrapper
        assert count(raw, "incidents") == 0
    with connect(demo_db_url) as maintenance:
        sensitive = int(fetch_row(
            maintenance, "SELECT count(*) FROM gridgeo.incidents i"
            " JOIN gridgeo.incident_categories c ON c.code = i.category_code"
            " WHERE c.sensitive")[0])
    with connection() as anonymous:
        assert count(anonymous, "incidents") == everything - sensitive > 0
        assert count(anonymous, "audit_log") == 0  # append-only for requests
    token_ = set_identity(Identity(worker.staff_no, frozenset({"grid_worker"}),
                                   staff_no=worker.staff_no))
    try:
        with connection() as scoped:
            assert 0 < count(scoped, "incidents") < everything
            with pytest.raises(psycopg.Error, match="not assigned to you"):
                scoped.execute("UPDATE gridgeo.incidents SET geom = ST_SetSRID("
                               "ST_MakePoint(%s, %s), 4490) WHERE grid_code = %s",
                               (*elsewhere, worker.codes[0]))
    finally:
        reset_identity(token_)


def test_grid_worker_scans_only_in_own_grids(base_url: str, worker: Scoped,
                                             conn: psycopg.Connection) -> None:
    """A grid worker may scan (the inspections write rule) but only in their grids."""
    import uuid
    from datetime import UTC, datetime, timedelta

    def greenhouse(inside: bool) -> tuple[str, float, float]:
        op = "= ANY" if inside else "<> ALL"
        row = conn.execute(
            f"SELECT gh_no, ST_X(c), ST_Y(c) FROM (SELECT gh_no, ST_Centroid(geom) c"
            f" FROM gridgeo.greenhouses WHERE grid_code {op}(%s) ORDER BY gh_no LIMIT 1) s",
            (list(worker.codes),)).fetchone()
        assert row is not None
        return row

    headers = token(worker.staff_no, ("grid_worker",))
    results = {}
    for inside in (True, False):
        gh_no, x, y = greenhouse(inside)
        body = {"scan_uuid": str(uuid.uuid4()), "target": f"http://plates.example/q/g/{gh_no}",
                "position": [x, y], "accuracy_m": 5, "result": "in_use",
                "scanned_at": (datetime.now(UTC) - timedelta(days=400)).isoformat()}
        results[inside] = requests.post(f"{base_url}/scans", json=body, headers=headers,
                                        timeout=60)
    assert results[True].status_code == 201, results[True].text
    assert results[False].status_code == 403
    assert "own grids" in results[False].json()["description"]
    assert requests.post(f"{base_url}/scans", json={}, timeout=30).status_code == 401
