"""Session fixtures: a throwaway PostGIS database with the demo town, and a running server."""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gridgeo.db.cluster import admin_url
from gridgeo.db.scratch import copy_database, create_database, drop_database
from gridgeo.settings import Settings, get_settings
from tests.field_town import FIELD_DB, FieldTown, ensure_field_town

TEST_DB = f"gridgeo_test_{os.getpid()}"
DEMO_SEED = 42
EDITOR_KEY = "test-editor-key-4f1c"
EDITOR = {"Authorization": f"Bearer {EDITOR_KEY}"}
# More machine clients, one per role (tests/test_security*.py).
ROLE_KEYS = {"test-viewer-key-9a2e": "viewer", "test-admin-key-3b7d": "admin"}
# Bearer JWTs: the server trusts this issuer's key set, read from a JWKS file (no network).
JWT_ISSUER = "https://id.gridgeo.test/realms/town"
JWT_AUDIENCE = "gridgeo"
JWT_KID = "test-es256"
CLIENT_TIME_MAX_AGE_DAYS = 1000  # the test servers' window for device times


@functools.cache
def jwt_private_key() -> Any:
    """An EC P-256 key made for this test session; its public half is the server's JWKS."""
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


@functools.cache
def jwks_file() -> Path:
    import tempfile

    from jwt.algorithms import ECAlgorithm

    jwk = ECAlgorithm.to_jwk(jwt_private_key().public_key(), as_dict=True)
    jwk.update(kid=JWT_KID, use="sig", alg="ES256")
    path = Path(tempfile.mkdtemp(prefix="gridgeo-jwks-")) / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return path


@functools.cache
def _admin_settings() -> Settings:
    """Read once, before the demo fixture points GRIDGEO_DATABASE_URL at the test database."""
    return get_settings()


def _admin_url(dbname: str) -> str:
    return admin_url(_admin_settings(), dbname)


@pytest.fixture(scope="session")
def demo_db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a fresh database, migrated and loaded with the demo town (seed 42)."""
    url = create_database(_admin_settings(), TEST_DB, reference_data=False)
    dem = tmp_path_factory.mktemp("data") / "dem.tif"
    os.environ["GRIDGEO_DATABASE_URL"] = url
    os.environ["GRIDGEO_DEM_PATH"] = str(dem)
    get_settings.cache_clear()
    from gridgeo.db.pool import connect
    from gridgeo.demo import run_demo

    with connect(url) as conn:
        run_demo(conn, seed=DEMO_SEED, scale=1, if_missing=False, dem_path=dem,
                 progress=lambda _m: None)
    yield url
    from gridgeo.db.pool import close_pool

    close_pool()
    drop_database(_admin_settings(), TEST_DB)


@pytest.fixture(scope="session")
def dem_path(demo_db_url: str) -> Path:
    return get_settings().dem


@pytest.fixture()
def conn(demo_db_url: str) -> Iterator[psycopg.Connection]:
    """A connection to the demo database; rolled back after the test."""
    from gridgeo.db.pool import connect

    with connect(demo_db_url) as connection:
        yield connection
        connection.rollback()


def fetch_row(conn: psycopg.Connection, query: str,
              params: Sequence[Any] = ()) -> tuple[Any, ...]:
    """The one row a query must return (a query that returns none is a failed test)."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return row


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, home: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYGEOAPI_")}
    env.update(GRIDGEO_DATABASE_URL=database_url, GRIDGEO_HOME=str(home),
               GRIDGEO_PORT=str(port), GRIDGEO_DEM_PATH=str(get_settings().dem),
               GRIDGEO_API_KEYS=json.dumps({EDITOR_KEY: "gis_editor", **ROLE_KEYS}),
               GRIDGEO_JWT_ISSUER=JWT_ISSUER, GRIDGEO_JWT_AUDIENCE=JWT_AUDIENCE,
               GRIDGEO_JWT_JWKS_FILE=str(jwks_file()),
               GRIDGEO_JWT_ROLES_CLAIM="realm_access.roles",
               # The suite dates its scans months back, so they leave this month's due
               # lists alone; the field API's test checks the window at this age.
               GRIDGEO_CLIENT_TIME_MAX_AGE_DAYS=str(CLIENT_TIME_MAX_AGE_DAYS),
               # The demo is dated 2026-11-20 whenever the suite runs: its closed cases
               # stay on the incidents map (test_tiles.py checks the window itself).
               GRIDGEO_MAP_CLOSED_DAYS="36500",
               # Webhooks and process callbacks may reach receivers a test starts on
               # loopback (tests/test_notify.py); every other destination stays refused.
               GRIDGEO_WEBHOOK_ALLOW='["127.0.0.1"]',
               # No escalation sweeps writing events into data other tests count; the
               # scheduler's own tests start schedulers on a database of their own.
               GRIDGEO_SCHEDULER="false")
    return env


@pytest.fixture(scope="session")
def base_url(demo_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real gridgeo server (gunicorn, started by `gridgeo serve`) on the demo database."""
    import subprocess
    import sys

    port = free_port()
    env = server_env(demo_db_url, tmp_path_factory.mktemp("server-home"), port)
    cli = [sys.executable, "-m", "gridgeo.cli"]
    subprocess.run([*cli, "serve", "--background"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    yield f"http://127.0.0.1:{port}"
    subprocess.run([*cli, "stop"], env=env, check=False)


@functools.cache
def _migrated_template() -> str:
    """One migrated database with reference rows per test process, built once: every
    empty_database is a copy of it, not a migration run of its own (seconds each)."""
    name = f"gridgeo_template_{os.getpid()}"
    create_database(_admin_settings(), name)
    atexit.register(drop_database, _admin_settings(), name)
    return name


@contextlib.contextmanager
def empty_database(name: str) -> Iterator[str]:
    """A new database on the test cluster, migrated but with no town in it (imports start
    from here); dropped afterwards. ``name`` keeps parallel fixtures apart."""
    dbname = f"gridgeo_{name}_{os.getpid()}"
    url = copy_database(_admin_settings(), _migrated_template(), dbname)
    try:
        yield url
    finally:
        drop_database(_admin_settings(), dbname)


@pytest.fixture(scope="session")
def field_town(demo_db_url: str, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[FieldTown]:
    """The field town (tests/field_town.py) in its own database, served by its own server."""
    from gridgeo.db.pool import connect

    url = create_database(_admin_settings(), FIELD_DB, reference_data=False)
    with connect(url) as conn:
        ensure_field_town(conn)
    port = free_port()
    env = server_env(url, tmp_path_factory.mktemp("field-server-home"), port)
    cli = [sys.executable, "-m", "gridgeo.cli"]
    subprocess.run([*cli, "serve", "--background"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    yield FieldTown(url, f"http://127.0.0.1:{port}")
    subprocess.run([*cli, "stop"], env=env, check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    drop_database(_admin_settings(), FIELD_DB)


@pytest.fixture()
def field_conn(field_town: FieldTown) -> Iterator[psycopg.Connection]:
    """A connection to the field town's database; rolled back after the test."""
    from gridgeo.db.pool import connect

    with connect(field_town.url) as connection:
        yield connection
        connection.rollback()
