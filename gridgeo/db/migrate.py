"""Applies plugin migrations in dependency order, each in its own transaction."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from graphlib import CycleError, TopologicalSorter

import pluggy
import psycopg

from gridgeo.contributions import Migration, MigrationRef

# Any constant: it keeps two concurrent `gridgeo db migrate` runs from interleaving.
_LOCK_KEY = 72_656_171

_BOOKKEEPING = """
CREATE SCHEMA IF NOT EXISTS gridgeo;
CREATE TABLE IF NOT EXISTS gridgeo.schema_migrations (
    namespace  text NOT NULL,
    version    integer NOT NULL,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, version)
)"""


class MigrationError(RuntimeError):
    """Migrations are inconsistent (missing dependency, cycle, edited after applying)."""


def collect_migrations(pm: pluggy.PluginManager) -> list[Migration]:
    """Every migration contributed through hooks, collections' and shared ones."""
    found: list[Migration] = []
    for batch in pm.hook.gridgeo_migrations():
        found.extend(batch)
    for batch in pm.hook.gridgeo_collections():
        for collection in batch:
            found.extend(collection.migrations)
    return found


def order_migrations(migrations: Iterable[Migration]) -> list[Migration]:
    """A dependency order: each namespace in version order, requirements first."""
    by_ref: dict[MigrationRef, Migration] = {}
    for migration in migrations:
        if migration.ref in by_ref:
            raise MigrationError(f"migration {migration.ref} is contributed twice")
        by_ref[migration.ref] = migration
    graph: dict[MigrationRef, set[MigrationRef]] = {}
    for ref, migration in by_ref.items():
        # ``after``: ordering against a plugin that may be disabled, kept only when present.
        deps = set(migration.requires) | {r for r in migration.after if r in by_ref}
        if ref.version > 1:
            deps.add(MigrationRef(ref.namespace, ref.version - 1))
        missing = [str(d) for d in deps if d not in by_ref]
        if missing:
            raise MigrationError(f"migration {ref} requires {', '.join(missing)}, "
                                 "which no installed plugin provides")
        graph[ref] = deps
    try:
        # static_order is deterministic for a given insertion order; sort for stability.
        sorter = TopologicalSorter({k: graph[k] for k in sorted(graph, key=str)})
        return [by_ref[ref] for ref in sorter.static_order()]
    except CycleError as exc:
        raise MigrationError(f"migrations depend on each other in a cycle: {exc.args[1]}") from exc


_COMMENT = re.compile(r"--[^\n]*")


def checksum(migration: Migration) -> str:
    """A hash of the statements: mending a comment does not count as editing a migration."""
    statements = " ".join(_COMMENT.sub("", migration.sql).split())
    return hashlib.sha256(statements.encode()).hexdigest()[:16]


def apply_migrations(conn: psycopg.Connection, migrations: Iterable[Migration],
                     progress: Callable[[str], None] = lambda _msg: None) -> list[MigrationRef]:
    """Apply what is not applied yet; returns what was applied."""
    ordered = order_migrations(migrations)
    # A migration is maintenance whoever opened the connection: data changes must reach
    # rows that row-level security hides from a connection naming no caller (core/009).
    conn.execute("SELECT set_config('gridgeo.maintenance', 'on', false)")
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        conn.execute(_BOOKKEEPING)
        conn.commit()
        done = {(ns, v): c for ns, v, c in conn.execute(
            "SELECT namespace, version, checksum FROM gridgeo.schema_migrations")}
        applied = []
        for migration in ordered:
            key = (migration.namespace, migration.version)
            if key in done:
                if done[key] != checksum(migration):
                    raise MigrationError(
                        f"migration {migration.ref} was edited after it was applied; "
                        "add a new migration instead")
                continue
            progress(f"applying {migration.ref} {migration.name}")
            with conn.transaction():
                conn.execute(migration.sql)  # type: ignore[arg-type]
                conn.execute(
                    "INSERT INTO gridgeo.schema_migrations (namespace, version, name, checksum)"
                    " VALUES (%s, %s, %s, %s)",
                    (migration.namespace, migration.version, migration.name,
                     checksum(migration)))
            applied.append(migration.ref)
        return applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
        conn.commit()


def pending_migrations(conn: psycopg.Connection,
                       migrations: Iterable[Migration]) -> list[MigrationRef]:
    """Contributed migrations that this database has not applied yet."""
    exists = conn.execute("SELECT to_regclass('gridgeo.schema_migrations')").fetchone()
    done: set[tuple[str, int]] = set()
    if exists and exists[0]:
        done = {(ns, v) for ns, v in conn.execute(
            "SELECT namespace, version FROM gridgeo.schema_migrations")}
    return [m.ref for m in migrations if (m.namespace, m.version) not in done]
