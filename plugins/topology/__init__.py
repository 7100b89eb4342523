"""Built-in plugin: the grid-topology process (gaps, overlaps, cover of parents, codes)."""

from __future__ import annotations

from gridgeo import hookimpl
from gridgeo.contributions import ProcessContribution


@hookimpl
def gridgeo_processes() -> list[ProcessContribution]:
    return [ProcessContribution(
        id="grid-topology", processor="gridgeo_plugins.topology.process.GridTopologyProcessor")]
