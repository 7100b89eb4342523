"""Databases made for one purpose and dropped after: test sessions, imports into an empty
deployment, benchmarks. Owned by the app's role, with gridgeo's extensions."""

from __future__ import annotations

import psycopg
from psycopg import sql

from gridgeo.db.cluster import admin_url, direct_url, prepare_database
from gridgeo.settings import Settings


def drop_database(settings: Settings, name: str) -> None:
    with psycopg.connect(admin_url(settings, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def create_database(settings: Settings, name: str, *, migrate: bool = True,
                    reference_data: bool = True, replace: bool = True) -> str:
    """Database ``name`` on the cluster ``settings`` name, made afresh (or kept when it
    exists and not ``replace``), migrated and given the plugins' reference rows unless
    told otherwise; returns the URL the app's role connects to it with."""
    base = direct_url(settings)  # a pooler in front has no entry for a new database
    owner = str(psycopg.conninfo.conninfo_to_dict(base)["user"])
    if replace:
        drop_database(settings, name)
    with psycopg.connect(admin_url(settings, "postgres"), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                             (name,)).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(owner)))
    prepare_database(admin_url(settings, name))
    url = psycopg.conninfo.make_conninfo(base, dbname=name)
    if migrate:
        from gridgeo.db.migrate import apply_migrations, collect_migrations
        from gridgeo.db.pool import connect
        from gridgeo.plugins import get_plugin_manager

        with connect(url) as conn:
            apply_migrations(conn, collect_migrations(get_plugin_manager()))
            if reference_data:
                get_plugin_manager().hook.gridgeo_reference_data(conn=conn)
            conn.commit()
    return url


def copy_database(settings: Settings, template: str, name: str) -> str:
    """Database ``name`` made afresh as a file copy of ``template`` (which nobody may be
    connected to): a migrated database in a second instead of a migration run; returns
    the URL the app's role connects to it with."""
    base = direct_url(settings)
    owner = str(psycopg.conninfo.conninfo_to_dict(base)["user"])
    drop_database(settings, name)
    with psycopg.connect(admin_url(settings, "postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(template), sql.Identifier(owner)))
    return psycopg.conninfo.make_conninfo(base, dbname=name)
