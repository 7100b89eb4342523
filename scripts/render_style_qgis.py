#!/usr/bin/python3
"""Renders gridgeo layers in headless QGIS, or opens a QGIS project, and reports as JSON.

Runs under Debian's own Python with python3-qgis (``/usr/bin/python3``), not in the
project's virtualenv: the tests call it as a subprocess. Reads one JSON request on
stdin and writes one JSON answer on stdout.

    {"render": [{"url": server URL, "collection": id, "qml": path, "bbox": [w, s, e, n],
                 "size": pixels, "samples": [[lon, lat], ...], "out": PNG path or null}]}
      -> {"render": [{"valid": bool, "pixels": [[r, g, b, a], ...]}]}
    {"sld": [{"path": SLD file, "geometry": "Point" | "LineString" | "Polygon"}]}
      -> {"sld": [{"ok": bool, "message", "renderer", "rules": [filter expressions],
                   "labels": bool}]}
    {"project": path of a .qgs/.qgz}
      -> {"project": {"opening_scale", "layers": [{"name", "valid", "provider", "source",
                  "features", "renderer", "group", "scale_range": [on, min, max],
                  "drawn_on_opening"}]}}: drawn_on_opening says whether the layer is in
      its scale range at the view the project opens with (as for "draw")
    {"draw": {"project": path, "width": pixels, "height": pixels}}
      -> {"draw": {"read_s", "draw_s", "extent": [w, s, e, n], "scale", "layers": [{"name",
                   "valid", "drawn"}]}}: QGIS's first draw of a project (opened, then rendered
      at the full extent of its layers, layers drawn in parallel as QGIS's canvas does)
    {"authorization": "Bearer <key>", ...}: sent with every request QGIS makes, for the
      layers that need a sign-in (a test stand-in for a QGIS authentication configuration)

Each layer is loaded through QGIS's OGC API Features provider (``OAPIF``), the way GIS
staff add it, and drawn with its QML without labels (labels could sit on a sampled pixel).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "XDG_RUNTIME_DIR" not in os.environ:
    import tempfile

    os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="qgis-runtime-")  # mode 0700

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsMapRendererParallelJob,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsNetworkAccessManager,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def oapif_uri(url: str, collection: str) -> str:
    return f"url='{url}' typename='{collection}' restrictToRequestBBOX='1' pagingEnabled='true'"


def render(job: dict[str, Any]) -> dict[str, Any]:
    layer = QgsVectorLayer(oapif_uri(job["url"], job["collection"]), job["collection"], "OAPIF")
    if not layer.isValid():
        return {"valid": False, "pixels": []}
    message, ok = layer.loadNamedStyle(job["qml"])
    if not ok:
        return {"valid": True, "style_error": message, "pixels": []}
    layer.setLabelsEnabled(False)
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    settings.setExtent(QgsRectangle(*job["bbox"]))
    settings.setOutputSize(QSize(job["size"], job["size"]))
    settings.setOutputDpi(96)
    settings.setBackgroundColor(QColor(255, 255, 255))
    renderer = QgsMapRendererSequentialJob(settings)
    renderer.start()
    renderer.waitForFinished()
    image = renderer.renderedImage()
    if job.get("out"):
        image.save(job["out"])
    to_pixel = settings.mapToPixel()
    pixels = []
    for lon, lat in job["samples"]:
        point = to_pixel.transform(QgsPointXY(lon, lat))
        colour = QColor(image.pixel(round(point.x()), round(point.y())))
        pixels.append([colour.red(), colour.green(), colour.blue(), colour.alpha()])
    return {"valid": True, "pixels": pixels}


def import_sld(job: dict[str, Any]) -> dict[str, Any]:
    """QGIS's own SLD reader applied to an empty layer of the right geometry."""
    layer = QgsVectorLayer(f"{job['geometry']}?crs=EPSG:4326", "sld", "memory")
    message, ok = layer.loadSldStyle(job["path"])
    renderer = layer.renderer()
    rules = ([rule.filterExpression() for rule in renderer.rootRule().children()]
             if ok and renderer.type() == "RuleRenderer" else [])
    return {"ok": ok, "message": message, "renderer": renderer.type(), "rules": rules,
            "labels": layer.labelsEnabled()}


def open_project(path: str) -> dict[str, Any]:
    project = QgsProject.instance()
    if not project.read(path):
        return {"read": False, "layers": []}
    root = project.layerTreeRoot()
    opening = opening_view(project, {})
    layers = []
    for layer in project.mapLayers().values():
        node = root.findLayer(layer.id())
        group = node.parent().name() if node is not None and node.parent() else None
        layers.append({
            "name": layer.name(), "valid": layer.isValid(),
            "provider": layer.providerType(), "source": layer.source(),
            "features": layer.featureCount() if layer.isValid() else -1,
            "renderer": layer.renderer().type() if layer.renderer() else None,
            "rules": len(layer.renderer().rootRule().children())
            if layer.renderer() and layer.renderer().type() == "RuleRenderer" else 0,
            "labels": layer.labelsEnabled(), "group": group,
            "scale_range": [layer.hasScaleBasedVisibility(), layer.minimumScale(),
                            layer.maximumScale()],
            "drawn_on_opening": layer.isInScaleRange(opening.scale()),
        })
    return {"read": True, "title": project.title(), "crs": project.crs().authid(),
            "layers": layers, "opening_scale": opening.scale()}


def opening_view(project: QgsProject, job: dict[str, Any]) -> QgsMapSettings:
    """The canvas as a project that stores no view opens: every layer, at their full
    extent, in a window of ``width`` x ``height`` pixels (1280 x 800)."""
    layers = [layer for layer in project.layerTreeRoot().layerOrder()]
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(project.crs())
    extent = QgsRectangle()
    extent.setMinimal()
    for layer in layers:
        if layer.isValid():
            extent.combineExtentWith(settings.layerExtentToOutputExtent(layer, layer.extent()))
    settings.setExtent(extent)
    settings.setOutputSize(QSize(job.get("width", 1280), job.get("height", 800)))
    settings.setOutputDpi(96)
    return settings


def first_draw(job: dict[str, Any]) -> dict[str, Any]:
    """Open the project and draw it once, as QGIS does when a user opens it: every
    layer's provider reads the server's documents, then the canvas draws all layers at
    their full extent (the project stores no view) in parallel. Seconds for each step."""
    project = QgsProject.instance()
    started = time.perf_counter()
    if not project.read(job["project"]):
        return {"read": False}
    read_s = time.perf_counter() - started
    settings = opening_view(project, job)
    layers = settings.layers()
    renderer = QgsMapRendererParallelJob(settings)
    started = time.perf_counter()
    renderer.start()
    renderer.waitForFinished()
    draw_s = time.perf_counter() - started
    if job.get("out"):
        renderer.renderedImage().save(job["out"])
    extent = settings.extent()
    return {"read": True, "read_s": read_s, "draw_s": draw_s,
            "extent": [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(),
                       extent.yMaximum()], "scale": settings.scale(),
            "errors": [f"{e.layerID}: {e.message}" for e in renderer.errors()],
            "layers": [{"name": layer.name(), "valid": layer.isValid(),
                        "drawn": layer.isInScaleRange(settings.scale())} for layer in layers]}


def main() -> int:
    request = json.load(sys.stdin)
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    authorization = request.get("authorization")
    if authorization:
        QgsNetworkAccessManager.setRequestPreprocessor(
            lambda sent: sent.setRawHeader(b"Authorization", authorization.encode()))
    answer: dict[str, Any] = {}
    if "render" in request:
        answer["render"] = [render(job) for job in request["render"]]
    if "sld" in request:
        answer["sld"] = [import_sld(job) for job in request["sld"]]
    if "project" in request:
        answer["project"] = open_project(request["project"])
    if "draw" in request:
        answer["draw"] = first_draw(request["draw"])
    json.dump(answer, sys.stdout)
    sys.stdout.flush()
    os._exit(0)  # QGIS's own exit handlers can crash a headless process on the way out


if __name__ == "__main__":
    sys.exit(main())
