"""Built-in plugin: the police-grid-overlap process and the crosswalk it writes.

The crosswalk collection itself is described as data in
``collections/grid_police_crosswalk/`` (served by ``builtin_collections``).
"""

from __future__ import annotations

from gridgeo import hookimpl
from gridgeo.contributions import ProcessContribution


@hookimpl
def gridgeo_processes() -> list[ProcessContribution]:
    return [ProcessContribution(
        id="police-grid-overlap",
        processor="gridgeo_plugins.overlap.process.PoliceGridOverlapProcessor")]
