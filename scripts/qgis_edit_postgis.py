#!/usr/bin/python3
"""Edit one of gridgeo's PostGIS tables with QGIS's own PostgreSQL provider, headless, the
way GIS staff do in QGIS 3.22 (docs/qgis-editing.md): used by tests/test_qgis_editing_in_qgis.py.

Run with Debian's python3-qgis (``/usr/bin/python3``, not the project's venv). One JSON
request on stdin, one JSON answer on stdout.

    {"connection": {"host", "port", "dbname", "user", "password"},
     "table": "grids", "key": "id",
     "edits": [{"code": grid code, "name": new name or absent,
                "wkt": new geometry in EPSG:4490 or absent}, ...],
     "insert": {attribute: value, ..., "wkt": geometry} or absent}
      -> {"valid": bool, "crs": "EPSG:4490", "editable_capabilities": bool,
          "capabilities": [the edit capabilities the provider grants],
          "edits": [{"found": bool, "ok": bool, "errors": [commit error lines],
                     "feature_count": int}, ...],
          "insert": {"editing", "added", "ok", "errors", "feature_count"} (when asked)}

The layer is opened as the Data Source Manager opens it (schema ``gridgeo``, geometry
column ``geom``, the given key). Each edit is one **Save Layer Edits**: start editing,
change the name and/or the geometry, commit; a refused commit is rolled back, so the next
edit starts from what the database holds.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "XDG_RUNTIME_DIR" not in os.environ:
    import tempfile

    os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="qgis-runtime-")  # mode 0700

from qgis.core import (
    QgsApplication,
    QgsDataSourceUri,
    QgsFeature,
    QgsFeatureRequest,
    QgsGeometry,
    QgsVectorDataProvider,
    QgsVectorLayer,
    QgsWkbTypes,
)

# The edit capabilities the PostgreSQL provider grants from the login's table privileges.
CAPABILITIES = ("AddFeatures", "DeleteFeatures", "ChangeAttributeValues", "ChangeGeometries")


def open_layer(connection: dict[str, Any], table: str, key: str) -> QgsVectorLayer:
    uri = QgsDataSourceUri()
    uri.setConnection(connection["host"], str(connection["port"]), connection["dbname"],
                      connection["user"], connection["password"])
    uri.setDataSource("gridgeo", table, "geom", "", key)
    return QgsVectorLayer(uri.uri(False), table, "postgres")


def drawn(layer: QgsVectorLayer, wkt: str) -> QgsGeometry:
    """The geometry as QGIS's digitizing hands it to a multi layer: made multi."""
    geometry = QgsGeometry.fromWkt(wkt)
    if QgsWkbTypes.isMultiType(layer.wkbType()) and not geometry.isMultipart():
        geometry.convertToMultiType()
    return geometry


def save(layer: QgsVectorLayer) -> dict[str, Any]:
    """Save Layer Edits; a refused save is rolled back, as a user would after reading it."""
    ok = layer.commitChanges()
    errors = list(layer.commitErrors())
    if not ok:
        layer.rollBack()
    return {"ok": ok, "errors": errors, "feature_count": layer.featureCount()}


def edit(layer: QgsVectorLayer, change: dict[str, Any]) -> dict[str, Any]:
    request = QgsFeatureRequest().setFilterExpression(f"code = '{change['code']}'")
    feature = next(layer.getFeatures(request), None)
    if feature is None:
        return {"found": False, "ok": False, "errors": [], "feature_count": layer.featureCount()}
    layer.startEditing()
    if "name" in change:
        layer.changeAttributeValue(feature.id(), layer.fields().indexOf("name"), change["name"])
    if "wkt" in change:
        layer.changeGeometry(feature.id(), drawn(layer, change["wkt"]))
    return {"found": True, **save(layer)}


def insert(layer: QgsVectorLayer, values: dict[str, Any]) -> dict[str, Any]:
    """Add one feature and save; QGIS refuses to edit a layer its provider says is read-only."""
    if not layer.startEditing():
        return {"editing": False, "added": False, "ok": False, "errors": [],
                "feature_count": layer.featureCount()}
    feature = QgsFeature(layer.fields())
    for name, value in values.items():
        if name != "wkt":
            feature.setAttribute(name, value)
    if "wkt" in values:
        feature.setGeometry(drawn(layer, values["wkt"]))
    added = layer.addFeature(feature)
    return {"editing": True, "added": added, **save(layer)}


def run(request: dict[str, Any]) -> dict[str, Any]:
    layer = open_layer(request["connection"], request["table"], request["key"])
    if not layer.isValid():
        return {"valid": False, "error": layer.error().summary()}
    capabilities = layer.dataProvider().capabilities()
    answer: dict[str, Any] = {
        "valid": True, "crs": layer.crs().authid(),
        "editable_capabilities": bool(capabilities & QgsVectorDataProvider.ChangeAttributeValues),
        "capabilities": [name for name in CAPABILITIES
                         if capabilities & getattr(QgsVectorDataProvider, name)],
        "edits": [edit(layer, change) for change in request.get("edits", [])],
    }
    if "insert" in request:
        answer["insert"] = insert(layer, request["insert"])
    return answer


def main() -> int:
    request = json.load(sys.stdin)
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    json.dump(run(request), sys.stdout)
    sys.stdout.flush()
    os._exit(0)  # QGIS's own exit handlers can crash a headless process on the way out


if __name__ == "__main__":
    sys.exit(main())
