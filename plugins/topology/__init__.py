"""Built-in plugin: the grid-topology process (gaps, overlaps, cover of parents, codes),
and the same check on the grids of an import."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridgeo import hookimpl
from gridgeo.contributions import ProcessContribution

if TYPE_CHECKING:
    import psycopg

    from gridgeo.importer.prepare import PreparedLayer
    from gridgeo.importer.problems import LayerProblem


@hookimpl
def gridgeo_processes() -> list[ProcessContribution]:
    return [ProcessContribution(
        id="grid-topology", processor="gridgeo_plugins.topology.process.GridTopologyProcessor")]


@hookimpl
def gridgeo_import_problems(conn: psycopg.Connection, layer: PreparedLayer, srid: int,
                            earlier: list[PreparedLayer]) -> list[LayerProblem]:
    """Imported grids' gaps, overlaps and parents, checked with the stored grids."""
    from gridgeo_plugins.topology.importcheck import grid_problems

    return grid_problems(conn, layer, srid, earlier)
