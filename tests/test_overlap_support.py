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

from gridgeo.db.scratch import create_database, drop_database
from gridgeo.geometry.synthetic import GeneratedCounty, load_county
from tests.conftest import _admin_settings, free_port, server_env


@contextmanager
def county_database(name: str, county: GeneratedCounty) -> Iterator[str]:
    """A fresh, migrated database holding ``county``; dropped afterwards. Yields its URL."""
    url = create_database(_admin_settings(), name, reference_data=False)
    try:
        with psycopg.connect(url) as conn:
            load_county(conn, county)
            conn.execute("ANALYZE")
        yield url
    finally:
        drop_database(_admin_settings(), name)


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
