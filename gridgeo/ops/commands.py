"""``gridgeo deploy systemd|nginx``, ``gridgeo backup`` and ``gridgeo restore``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gridgeo.ops.pitr import WalArchive
from gridgeo.settings import get_settings


def _say(message: str) -> None:
    click.echo(f"gridgeo: {message}", err=True)


@click.group()
def deploy() -> None:
    """Files to run gridgeo as a service: systemd units, an nginx site."""


@deploy.command("systemd")
@click.option("--out", "folder", type=click.Path(path_type=Path), default=Path("."),
              show_default=True, help="folder to write the unit files to")
@click.option("--user", default="gridgeo", show_default=True,
              help="the dedicated system user the services run as")
@click.option("--home", type=click.Path(path_type=Path), default=Path("/var/lib/gridgeo"),
              show_default=True, help="GRIDGEO_HOME: the only folder the services write")
@click.option("--env-file", type=click.Path(path_type=Path),
              default=Path("/etc/gridgeo/gridgeo.env"), show_default=True,
              help="GRIDGEO_* settings (database URL, public URL, keys)")
@click.option("--gridgeo", "program", type=click.Path(path_type=Path),
              default=Path(sys.prefix) / "bin" / "gridgeo", show_default=True,
              help="the installed gridgeo command")
def deploy_systemd(folder: Path, user: str, home: Path, env_file: Path,
                   program: Path) -> None:
    """Write gridgeo-web.service, gridgeo-worker@.service and gridgeo-scheduler.service."""
    from gridgeo.ops.systemd import ServiceLayout, write_units

    for path in write_units(folder, ServiceLayout(user, home, env_file, program)):
        _say(f"wrote {path}")
    _say("install them in /etc/systemd/system, then: systemctl enable --now gridgeo-web "
         "gridgeo-worker@1 gridgeo-scheduler (see docs/operations.md)")


@deploy.command("nginx")
@click.option("--out", "path", type=click.Path(path_type=Path), default=Path("gridgeo.conf"),
              show_default=True, help="the site file to write")
@click.option("--server-name", required=True, help="the public host name, e.g. gis.town.gov.cn")
@click.option("--certificate", type=click.Path(path_type=Path), required=True,
              help="TLS certificate (full chain, PEM)")
@click.option("--certificate-key", type=click.Path(path_type=Path), required=True,
              help="its private key (PEM)")
@click.option("--https-port", default=443, show_default=True, type=click.IntRange(1, 65535))
@click.option("--http-port", default=80, show_default=True, type=click.IntRange(0, 65535),
              help="port that redirects to https; 0 for none")
def deploy_nginx(path: Path, server_name: str, certificate: Path, certificate_key: Path,
                 https_port: int, http_port: int) -> None:
    """Write an nginx site: TLS and HTTP/2 in front of gridgeo's gunicorn."""
    from gridgeo.ops.nginx import Site, site_config

    settings = get_settings()
    site = Site(server_name, certificate, certificate_key,
                upstream=f"{settings.host}:{settings.port}", https_port=https_port,
                http_port=http_port or None,
                max_body_bytes=max(settings.max_upload_bytes, settings.max_body_bytes))
    path.write_text(site_config(site), encoding="utf-8")
    _say(f"wrote {path}; set GRIDGEO_PUBLIC_URL={site.public_url} for gridgeo")


@click.command("backup")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(archive: Path) -> None:
    """Back up the database, DEM, attachments and effective configuration into ARCHIVE
    (a tar file with a manifest of checksums)."""
    from gridgeo.config import ConfigError, contributed_collections, dump_yaml, render_config
    from gridgeo.db.cluster import database_url
    from gridgeo.db.pool import connect
    from gridgeo.extents import collection_extents
    from gridgeo.ops.backup import BackupError, backup
    from gridgeo.plugins import get_plugin_manager

    settings = get_settings()
    pm = get_plugin_manager()
    try:
        with connect() as conn:
            extents = collection_extents(conn, contributed_collections(pm))
        config = dump_yaml(render_config(settings, pm, extents))
        manifest = backup(settings, database_url(settings), config, archive)
    except (BackupError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    rows = sum(t["rows"] for t in manifest["tables"].values())
    _say(f"wrote {archive}: {len(manifest['tables'])} tables ({rows:,} rows), "
         f"{len(manifest['files'])} files, each with its checksum")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(archive: Path) -> None:
    """Restore ARCHIVE (from `gridgeo backup`) into the empty database and GRIDGEO_HOME,
    then check every table and file against the backup's checksums."""
    import psycopg

    from gridgeo.db.cluster import admin_url, database_url
    from gridgeo.ops.backup import BackupError, restore

    settings = get_settings()
    url = database_url(settings)
    dbname = str(psycopg.conninfo.conninfo_to_dict(url).get("dbname") or "")
    try:
        manifest = restore(settings, url, admin_url(settings, dbname), archive)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    _say(f"restored {len(manifest['tables'])} tables and {len(manifest['files'])} files from "
         f"{archive}; every checksum matches the backup's")


@click.group("archive")
def archive_group() -> None:
    """Continuous WAL archiving and point-in-time recovery of the private cluster
    (pgBackRest; repository in GRIDGEO_HOME/pgbackrest)."""


def _wal_archive() -> WalArchive:
    from gridgeo.db.cluster import cluster_from

    settings = get_settings()
    if settings.database_url:
        raise click.ClickException(
            "GRIDGEO_DATABASE_URL names an existing server: set up pgBackRest on that server "
            "as docs/operations.md shows; these commands manage the private cluster only")
    cluster = cluster_from(settings)
    if not (cluster.datadir / "PG_VERSION").exists():
        raise click.ClickException("there is no private cluster yet: run `gridgeo db start`")
    return WalArchive(cluster, settings.home / "pgbackrest")


@archive_group.command("enable")
def archive_enable() -> None:
    """Archive every WAL segment from now on and take a first full backup (restarts
    the cluster)."""
    from gridgeo.db.cluster import ClusterError
    from gridgeo.ops.pitr import ArchiveError, enable

    archive = _wal_archive()
    try:
        enable(archive)
    except (ArchiveError, ClusterError) as exc:
        raise click.ClickException(str(exc)) from exc
    _say(f"WAL archiving on; first full backup in {archive.repo}")


@archive_group.command("backup")
def archive_backup() -> None:
    """Take a base backup (incremental after the first); run it daily, e.g. from cron."""
    from gridgeo.ops.pitr import ArchiveError, base_backup

    archive = _wal_archive()
    try:
        base_backup(archive)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    _say("base backup taken")


@archive_group.command("recover")
@click.option("--to", "target", required=True,
              help="the moment to go back to, e.g. '2026-12-07 09:30:00+08'")
def archive_recover(target: str) -> None:
    """Rebuild the cluster as it was at a moment (stop `gridgeo serve` first)."""
    from gridgeo.db.cluster import ClusterError
    from gridgeo.ops.pitr import ArchiveError, recover

    archive = _wal_archive()
    try:
        recover(archive, target)
    except (ArchiveError, ClusterError) as exc:
        raise click.ClickException(str(exc)) from exc
    _say(f"the cluster is as it was at {target}, and takes writes again")
