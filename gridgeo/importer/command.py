"""``gridgeo import``: bring a town's own files in."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gridgeo.settings import get_settings


def _say(message: str) -> None:
    click.echo(f"gridgeo import: {message}", err=True)


def _remind_to_restart(written: bool) -> None:
    """A running server rendered its collections' extents (and metric CRS) at start."""
    from gridgeo import server

    settings = get_settings()
    if written and server.running_pid(settings) is not None:
        _say(f"the server on {settings.server_url} still describes the old extents: restart "
             "it (gridgeo stop, then make demo or gridgeo serve --background)")


@click.command("import")
@click.argument("mapping", required=False, type=click.Path(exists=True, dir_okay=False,
                                                           path_type=Path))
@click.option("--template", "template_source", type=click.Path(exists=True, path_type=Path),
              help="write a starting mapping for this source file instead of importing")
@click.option("--target", help="with --template: the collection the file feeds "
              "(grids, police_grids, addresses, staff, roads, ...)")
@click.option("--layer", help="with --template: the layer or sheet to read")
@click.option("--dry-run", is_flag=True, help="check and count what would change; write nothing")
@click.option("--accept-rejects", is_flag=True,
              help="write everything that passes, leaving out the listed rejects")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="also write the whole report as JSON to this file")
def import_command(mapping: Path | None, template_source: Path | None, target: str | None,
                   layer: str | None, dry_run: bool, accept_rejects: bool,
                   report_path: Path | None) -> None:
    """Import the files a mapping names (Shapefile, GeoPackage, GeoJSON, CSV, Excel,
    OpenStreetMap PBF, a DEM GeoTIFF) in one transaction.

    Everything is checked before anything is written; nothing is written unless every row
    passes or --accept-rejects is given. Re-importing a source updates by natural code.
    """
    from gridgeo.db.pool import connect

    from .problems import ImportError_
    from .report import report_json, report_text

    try:
        with connect() as conn:
            if template_source is not None:
                from .template import write_template

                if not target:
                    raise ImportError_("--template needs --target: which collection the "
                                       "file feeds")
                click.echo(write_template(conn, template_source, target, layer), nl=False)
                return
            if mapping is None:
                raise ImportError_("give a mapping file (gridgeo import mapping.yml), or "
                                   "write one with --template FILE --target COLLECTION")
            from .mapping import load_plan
            from .run import run_import

            conn.execute("SET application_name = 'gridgeo import'")
            report = run_import(conn, load_plan(mapping), dem_dest=get_settings().dem,
                                dry_run=dry_run, accept_rejects=accept_rejects, say=_say)
    except ImportError_ as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report_text(report))
    _remind_to_restart(report.written)
    if report_path is not None:
        report_path.write_text(report_json(report), encoding="utf-8")
    if not (report.written or (dry_run and report.clean)):
        sys.exit(1)
