"""A third-party plugin: a `pocket_parks` collection (with the vector tiles, QR codes and
QGIS group its collection.yml declares), a `count-grids` process and an incident category."""

from __future__ import annotations

from pathlib import Path

from gridgeo import hookimpl
from gridgeo.catalog import load_collection_dir
from gridgeo.contributions import CollectionContribution, IncidentCategory, ProcessContribution


@hookimpl
def gridgeo_collections() -> list[CollectionContribution]:
    return [load_collection_dir(Path(__file__).parent / "parks")]


@hookimpl
def gridgeo_processes() -> list[ProcessContribution]:
    return [ProcessContribution(id="count-grids",
                                processor="gridgeo_example_plugin.process.CountGrids")]


@hookimpl
def gridgeo_incident_categories() -> list[IncidentCategory]:
    return [IncidentCategory("9901", "口袋公园设施损坏", "Pocket park damage", "extension")]
