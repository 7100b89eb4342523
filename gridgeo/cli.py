"""The ``gridgeo`` command."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

import click

from gridgeo import __version__
from gridgeo.settings import get_settings


def _say(message: str) -> None:
    click.echo(f"gridgeo: {message}", err=True)


@click.group()
@click.version_option(__version__, prog_name="gridgeo")
def main() -> None:
    """gridgeo: grid-based community governance over OGC API."""


# -- database ---------------------------------------------------------------


@main.group()
def db() -> None:
    """The database: private cluster and migrations."""


@db.command("start")
def db_start() -> None:
    """Create and start the private cluster (skipped with GRIDGEO_DATABASE_URL)."""
    from gridgeo.db.cluster import ClusterError, cluster_from

    settings = get_settings()
    if settings.database_url:
        _say("using GRIDGEO_DATABASE_URL; no private cluster needed")
        return
    cluster = cluster_from(settings)
    try:
        cluster.ensure_running()
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc
    _say(f"private PostgreSQL cluster running on 127.0.0.1:{settings.pg_port} "
         f"(data in {cluster.link})")


@db.command("stop")
def db_stop() -> None:
    """Stop the private cluster."""
    from gridgeo.db.cluster import cluster_from

    settings = get_settings()
    if not settings.database_url:
        cluster_from(settings).stop()


@db.command("migrate")
def db_migrate() -> None:
    """Apply every plugin's pending schema migrations."""
    from gridgeo.db.migrate import MigrationError, apply_migrations, collect_migrations
    from gridgeo.db.pool import connect
    from gridgeo.plugins import get_plugin_manager

    try:
        with connect() as conn:
            applied = apply_migrations(conn, collect_migrations(get_plugin_manager()), _say)
            get_plugin_manager().hook.gridgeo_reference_data(conn=conn)
            conn.commit()
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from exc
    _say(f"{len(applied)} migration(s) applied; schema up to date")


@db.command("url")
def db_url() -> None:
    """Print the database URL gridgeo connects to."""
    from gridgeo.db.cluster import database_url

    click.echo(database_url(get_settings()))


# -- demo town --------------------------------------------------------------


@main.command()
@click.option("--seed", default=42, show_default=True, help="random seed; same seed, same town")
@click.option("--scale", default=1, show_default=True, type=click.IntRange(1, 1000),
              help="multiply the town (100 gives a county of 100 towns, for benchmarks)")
@click.option("--if-missing", is_flag=True,
              help="do nothing when this demo, or an imported town, is already loaded")
@click.option("--replace-town", is_flag=True,
              help="replace a town imported with gridgeo import (refused otherwise)")
@click.option("--remove", is_flag=True,
              help="empty the demo's tables instead, to import a real town")
@click.option("--day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="the reference day the town's cases are dated back from "
                   "[default: today in the town]; same seed and day, same town")
def demo(seed: int, scale: int, if_missing: bool, replace_town: bool, remove: bool,
         day: datetime | None) -> None:
    """Generate the demo town and load it into the database (replaces the demo's data)."""
    from gridgeo.db.pool import connect
    from gridgeo.demo import DemoError, remove_demo, run_demo
    from gridgeo.demo.town import TIME_ZONE

    reference_day = day.date() if day else datetime.now(TIME_ZONE).date()

    try:
        with connect() as conn:
            if remove:
                remove_demo(conn, _say)
                return
            run_demo(conn, seed=seed, scale=scale, if_missing=if_missing,
                     dem_path=get_settings().dem, progress=_say, replace_town=replace_town,
                     reference_day=reference_day)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc


# -- serving -----------------------------------------------------------------


@main.command()
@click.option("--background", is_flag=True, help="detach; `gridgeo stop` ends it")
@click.option("--no-job-workers", is_flag=True,
              help="only the web server, in the foreground (systemd runs the job workers as "
                   "gridgeo-worker@ units)")
def serve(background: bool, no_job_workers: bool) -> None:
    """Render the effective configuration and serve the API with gunicorn."""
    from gridgeo import server
    from gridgeo.config import ConfigError
    from gridgeo.runtime import RuntimeSetupError, prepare_runtime

    settings = get_settings()
    if background and no_job_workers:
        raise click.UsageError("--no-job-workers runs in the foreground; leave out --background")
    try:
        prepare_runtime(settings)
        if no_job_workers:
            server.exec_web(settings)
        server.start(settings, background)
    except (server.ServerError, RuntimeSetupError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    url = settings.server_url
    _say(f"serving on {url}  (logs: {server.log_file(settings)}; stop: make stop)")
    click.echo(f"""
  Landing page     {url}/
  Collections      {url}/collections
  Grids in a map   {url}/collections/grids/items?f=html
  OpenAPI          {url}/openapi
  In QGIS: Layer > Add Layer > Add WFS / OGC API - Features Layer, URL {url}
""")


@main.command()
@click.option("--supervise", type=click.IntRange(min=1), default=None, metavar="N",
              help="keep N workers running, starting again any that exits")
def worker(supervise: int | None) -> None:
    """Run queued process jobs until stopped (`gridgeo serve` starts these for you)."""
    import logging
    import threading

    from gridgeo.jobs import install_signal_handlers

    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    settings = get_settings()
    if supervise is not None:  # a small process: none of the workers' imports
        from gridgeo.jobs.supervisor import supervise as keep_running
        from gridgeo.server import worker_pids_file

        stop_supervising = threading.Event()
        install_signal_handlers(stop_supervising)
        keep_running(supervise, stop_supervising, worker_pids_file(settings))
        return
    from pygeoapi.util import yaml_load

    from gridgeo.db.cluster import direct_url
    from gridgeo.jobs.worker import run_worker
    from gridgeo.runtime import prepare_runtime

    # `gridgeo serve` hands its rendered configuration over; alone, render our own.
    rendered = os.environ.get("PYGEOAPI_CONFIG")
    config_path = Path(rendered) if rendered else prepare_runtime(settings)[0]
    with config_path.open(encoding="utf-8") as fh:
        config = yaml_load(fh)
    stop_event = threading.Event()
    install_signal_handlers(stop_event)
    # LISTEN needs a session of its own: never through a transaction-mode pooler.
    run_worker(config, direct_url(settings), stop_event)


@main.command()
@click.option("--once", is_flag=True, help="run every task's current period, then stop")
def scheduler(once: bool) -> None:
    """Run periodic tasks (escalation sweeps), exactly once per period across all
    schedulers (`gridgeo serve` starts one for you)."""
    import logging
    import threading
    from datetime import UTC, datetime

    from gridgeo.db.cluster import direct_url
    from gridgeo.db.pool import connect
    from gridgeo.jobs import install_signal_handlers
    from gridgeo.scheduler import collect_tasks, run_once, run_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s scheduler %(message)s")
    settings = get_settings()
    if once:
        with connect(direct_url(settings), autocommit=True) as conn:
            for task in collect_tasks():
                _say(f"{task.name}: {run_once(conn, task, datetime.now(UTC)) or 'already run'}")
        return
    stop_event = threading.Event()
    install_signal_handlers(stop_event)
    run_scheduler(direct_url(settings), stop_event, settings.scheduler_tick_seconds)


@main.command()
def stop() -> None:
    """Stop the server and the private database cluster."""
    from gridgeo import server
    from gridgeo.db.cluster import cluster_from

    settings = get_settings()
    if server.stop(settings):
        _say("server stopped")
    if not settings.database_url:
        cluster_from(settings).stop()
        _say("database cluster stopped")


@main.command("config")
def show_config() -> None:
    """Print the effective pygeoapi configuration (deployment file + plugins)."""
    from gridgeo.config import ConfigError, contributed_collections, dump_yaml, render_config
    from gridgeo.db.pool import connect
    from gridgeo.extents import collection_extents
    from gridgeo.plugins import get_plugin_manager

    settings = get_settings()
    pm = get_plugin_manager()
    try:
        with connect() as conn:
            extents = collection_extents(conn, contributed_collections(pm))
        click.echo(dump_yaml(render_config(settings, pm, extents)))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@main.group()
def privacy() -> None:
    """Personal data: retention (docs/security.md)."""


@privacy.command("anonymise")
@click.option("--older-than-days", type=click.IntRange(min=1), default=None,
              help="days a case has been final (default: GRIDGEO_RETENTION_DAYS)")
def privacy_anonymise(older_than_days: int | None) -> None:
    """Anonymise the personal data of cases final for longer than the retention period:
    reporter fields emptied, phone and ID numbers scrubbed from free text and notes."""
    import json

    from gridgeo.db.pool import connect

    settings = get_settings()
    days = older_than_days or settings.retention_days
    with connect() as conn:
        conn.execute("SELECT set_config('gridgeo.scrub_patterns', %s, true)",
                     (json.dumps(settings.scrub_patterns),))
        row = conn.execute("SELECT gridgeo.anonymise_final_cases(make_interval(days => %s))",
                           (days,)).fetchone()
        conn.commit()
    _say(f"anonymised {row[0] if row else 0} case(s) final for more than {days} days")


def _register_plugin_commands() -> None:
    from gridgeo.db.editors import editor_command
    from gridgeo.importer.command import import_command
    from gridgeo.ops.commands import archive_group, backup_command, deploy, restore_command
    from gridgeo.qgis_project import qgis_project_command

    main.add_command(deploy)
    main.add_command(backup_command)
    main.add_command(restore_command)
    main.add_command(qgis_project_command)
    main.add_command(import_command)
    db.add_command(editor_command)
    db.add_command(archive_group)


_register_plugin_commands()


if __name__ == "__main__":
    sys.exit(main())
