"""The generated QGIS project keeps the first draw light: dense layers carry a scale range
(QGIS neither draws nor requests a layer out of it), written as the server's QML says.
QGIS's own reading of the project is checked in test_styles_qgis.py."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from gridgeo.qgis_project import write_project
from tests.conftest import EDITOR_KEY

DENSE = {"addresses", "greenhouses"}  # 10,000 door plates, 3,000 greenhouses in the town


def project_layers(path: Path) -> dict[str, ET.Element]:
    """The project's map layers by collection id (the typename in their data source)."""
    root = ET.parse(path).getroot()
    return {layer.findtext("datasource", "").split("typename='")[1].split("'")[0]: layer
            for layer in root.iter("maplayer")}


def test_dense_layers_show_from_1_20000_and_the_others_at_every_scale(
        base_url: str, tmp_path: Path) -> None:
    project = tmp_path / "staff.qgs"
    write_project(base_url, project, EDITOR_KEY, "gg4town")
    layers = project_layers(project)
    assert DENSE | {"grids", "roads", "incidents", "police_grids"} <= set(layers)
    for collection in DENSE:
        layer = layers[collection]
        assert (layer.get("hasScaleBasedVisibilityFlag"), layer.get("minScale"),
                layer.get("maxScale")) == ("1", "20000", "0"), collection
    for collection in set(layers) - DENSE:
        assert layers[collection].get("hasScaleBasedVisibilityFlag") is None, collection
    # the labels stay on, as the styles say, beside the scale range
    assert layers["addresses"].get("labelsEnabled") == "1"
