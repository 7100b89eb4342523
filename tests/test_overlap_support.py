"""Scratch databases with a generated county, and a server on one (no tests here).

The demo town's fixtures (tests/conftest.py) serve the demo; these tests need a
county with known structure, so they make their own database next to it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from gridgeo.db.cluster import database_url, prepare_database
from gridgeo.db.migrate import apply_migrations, collect_migrations
from gridgeo.geometry.synthetic import GeneratedCounty, load_county
from gridgeo.plugins import build_plugin_manager
from gridgeo.settings import get_settings
from tests.conftest import _admin_url, free_port, server_env


@contextmanager
def county_database(name: str, county: GeneratedCounty) -> Iterator[str]:
    """A fresh, migrated database holding ``county``; dropped afterwards. Yields its URL."""
    base = database_url(get_settings())
    owner = psycopg.conninfo.conninfo_to_dict(base)["user"]
    with psycopg.connect(_admin_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
    try:
        prepare_database(_admin_url(name))
        url = psycopg.conninfo.make_conninfo(base, dbname=name)
        with psycopg.connect(url) as conn:
            apply_migrations(conn, collect_migrations(build_plugin_manager(
                load_entry_points=False)))
            load_county(conn, county)
            conn.execute("ANALYZE")
        yield url
    finally:
        with psycopg.connect(_admin_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def server_on(url: str, home: Path) -> Iterator[str]:
    """A real gridgeo server (gunicorn via `gridgeo serve`) on the database at ``url``."""
    port = free_port()
    env = server_env(url, home, port)
    cli = [sys.executable, "-m", "gridgeo.cli"]
    subprocess.run([*cli, "serve", "--background"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run([*cli, "stop"], env=env, check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def scratch_name(purpose: str) -> str:
    return f"gridgeo_{purpose}_{os.getpid()}"
