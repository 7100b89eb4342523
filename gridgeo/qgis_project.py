"""Writes a QGIS project that opens every gridgeo layer from a server, styled and grouped.

The project is built from what the server itself publishes: its collection list (ids
and titles) and each collection's QGIS style (the ``styles`` link, a QML document).
Layers use QGIS's OGC API Features provider (``OAPIF``) with the server's URL, so the
file works on any machine that reaches the server. Layers that need a sign-in (not
public, docs/security.md) are only listed to a caller with credentials: given an API key
to read the list and a QGIS authentication configuration id (``--authcfg``, created in
QGIS with the user's own key or login), they are included with that configuration;
otherwise they are left out and the command says so. Each collection names its group and
its place in the drawing order in its collection.yml (``qgis: {group, order}``): the
town's are 事件 incidents, 现场对象 field objects, 路线 routes, 网格 grids, points over
lines over areas. Styled layers no installed plugin places go under 其他 at the bottom.
"""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

OTHER_GROUP = "其他"
_AUTHCFG = re.compile(r"^[A-Za-z0-9]{7}$")
QML_TYPE = "application/vnd.qgis.qml+xml"
GEOMETRY = {"0": "Point", "1": "Line", "2": "Polygon"}
# What a style says on its root element that a project says on the layer's: labels on,
# and a dense layer's scale range (out of it, QGIS neither draws nor requests features).
STYLE_ATTRIBUTES = ("labelsEnabled", "hasScaleBasedVisibilityFlag", "minScale", "maxScale")
_DEGREE = 'ANGLEUNIT["degree",0.0174532925199433]'
_AXES = (f'CS[ellipsoidal,2],AXIS["geodetic latitude (Lat)",north,ORDER[1],{_DEGREE}],'
         f'AXIS["geodetic longitude (Lon)",east,ORDER[2],{_DEGREE}]')
CRS_4490 = ('GEOGCRS["China Geodetic Coordinate System 2000",DATUM["China 2000",'
            'ELLIPSOID["CGCS2000",6378137,298.257222101,LENGTHUNIT["metre",1]]],'
            f'PRIMEM["Greenwich",0,{_DEGREE}],{_AXES},ID["EPSG",4490]]')
CRS_4326 = ('GEOGCRS["WGS 84",DATUM["World Geodetic System 1984",ELLIPSOID["WGS 84",'
            '6378137,298.257223563,LENGTHUNIT["metre",1]]],'
            f'PRIMEM["Greenwich",0,{_DEGREE}],{_AXES},ID["EPSG",4326]]')


@dataclass(frozen=True)
class ServedLayer:
    """One collection as the server publishes it."""

    id: str
    title: str
    qml: ET.Element | None  # the collection's QGIS style, if it has one
    authcfg: str | None = None  # the QGIS authentication configuration a sign-in needs

    @property
    def geometry(self) -> str:
        code = self.qml.findtext("layerGeometryType") if self.qml is not None else None
        return GEOMETRY.get(code or "", "Unknown geometry")


def fetch(url: str, accept: str = "application/json", api_key: str | None = None) -> bytes:
    headers = {"Accept": accept, "Accept-Language": "zh"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()  # type: ignore[no-any-return]


def _collection_ids(server_url: str, api_key: str | None = None) -> list[dict[str, Any]]:
    body = json.loads(fetch(f"{server_url}/collections?f=json&lang=zh", api_key=api_key))
    return body["collections"]  # type: ignore[no-any-return]


def served_layers(server_url: str, api_key: str | None = None,
                  authcfg: str | None = None) -> tuple[list[ServedLayer], list[str]]:
    """The server's collections with title and QML style, and the ids left out: those
    only a signed-in caller sees, when no QGIS authentication configuration is named."""
    public = {c["id"] for c in _collection_ids(server_url)}
    collections = _collection_ids(server_url, api_key) if api_key else \
        _collection_ids(server_url)
    layers, left_out = [], []
    for collection in collections:
        needs_sign_in = collection["id"] not in public
        if needs_sign_in and not authcfg:
            left_out.append(collection["id"])
            continue
        qml_links = [link["href"] for link in collection.get("links", [])
                     if link.get("type") == QML_TYPE]
        qml = ET.fromstring(fetch(qml_links[0], QML_TYPE)) if qml_links else None
        layers.append(ServedLayer(collection["id"], collection.get("title", collection["id"]),
                                  qml, authcfg if needs_sign_in else None))
    return layers, left_out


@dataclass(frozen=True)
class Placement:
    """Where a collection's layer goes in the project: its group and drawing order."""

    group: str
    order: int  # lower draws on top; a group sits where its lowest member does


def declared_placements() -> dict[str, Placement]:
    """The ``qgis`` section of every installed collection, by collection id."""
    from gridgeo.plugins import get_plugin_manager

    placements = {}
    for batch in get_plugin_manager().hook.gridgeo_collections():
        for collection in batch:
            declared = collection.declarations.get("qgis")
            if declared:
                placements[collection.id] = Placement(str(declared["group"]),
                                                      int(declared["order"]))
    return placements


def grouped(layers: list[ServedLayer], placements: dict[str, Placement]
            ) -> list[tuple[str, list[ServedLayer]]]:
    """Layers in their declared groups, in drawing order; other styled ones under 其他."""
    placed = sorted((placements[layer.id].order, layer.id, layer) for layer in layers
                    if layer.id in placements)
    groups: dict[str, list[ServedLayer]] = {}
    for _, _, layer in placed:
        groups.setdefault(placements[layer.id].group, []).append(layer)
    others = [layer for layer in layers if layer.id not in placements and layer.qml is not None]
    if others:
        groups.setdefault(OTHER_GROUP, []).extend(others)
    return list(groups.items())


def spatialrefsys(parent: ET.Element, authid: str, wkt: str, description: str) -> None:
    srs = ET.SubElement(parent, "spatialrefsys", nativeFormat="Wkt")
    for tag, text in (("wkt", wkt), ("authid", authid), ("description", description),
                      ("projectionacronym", "longlat"), ("geographicflag", "true")):
        ET.SubElement(srs, tag).text = text


def oapif_source(server_url: str, collection_id: str, authcfg: str | None = None) -> str:
    auth = f"authcfg='{authcfg}' " if authcfg else ""
    return (f"{auth}pagingEnabled='true' preferCoordinatesForWfsT11='false' "
            f"restrictToRequestBBOX='1' typename='{collection_id}' url='{server_url}'")


def map_layer(parent: ET.Element, layer: ServedLayer, layer_id: str, server_url: str) -> None:
    element = ET.SubElement(parent, "maplayer", type="vector", geometry=layer.geometry,
                            labelsEnabled="0", autoRefreshEnabled="0", refreshOnNotifyEnabled="0")
    ET.SubElement(element, "id").text = layer_id
    ET.SubElement(element, "datasource").text = oapif_source(server_url, layer.id,
                                                             layer.authcfg)
    ET.SubElement(element, "layername").text = layer.title
    spatialrefsys(ET.SubElement(element, "srs"), "EPSG:4326", CRS_4326, "WGS 84")
    ET.SubElement(element, "provider", encoding="UTF-8").text = "OAPIF"
    if layer.qml is not None:
        for attribute in STYLE_ATTRIBUTES:
            if attribute in layer.qml.attrib:
                element.set(attribute, layer.qml.attrib[attribute])
        for child in layer.qml:
            if child.tag != "layerGeometryType":
                element.append(child)


def build_project(server_url: str, layers: list[ServedLayer],
                  placements: dict[str, Placement],
                  title: str = "网格化治理 gridgeo") -> ET.ElementTree:
    """The project document: layer tree (groups), layers, CRS CGCS2000."""
    server_url = server_url.rstrip("/")
    root = ET.Element("qgis", projectname=title, version="3.22.16")
    ET.SubElement(root, "title").text = title
    spatialrefsys(ET.SubElement(root, "projectCrs"), "EPSG:4490", CRS_4490, "China Geodetic "
                  "Coordinate System 2000")
    properties = ET.SubElement(ET.SubElement(root, "properties"), "SpatialRefSys")
    ET.SubElement(properties, "ProjectionsEnabled", type="int").text = "1"  # read projectCrs
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    project_layers = ET.SubElement(root, "projectlayers")
    order = ET.SubElement(root, "layerorder")
    for group_name, members in grouped(layers, placements):
        group = ET.SubElement(tree, "layer-tree-group", name=group_name, checked="Qt::Checked",
                              expanded="1")
        ET.SubElement(group, "customproperties")
        for layer in members:
            layer_id = f"{layer.id}_{uuid.uuid5(uuid.NAMESPACE_URL, server_url + layer.id).hex}"
            ET.SubElement(group, "layer-tree-layer", id=layer_id, name=layer.title,
                          providerKey="OAPIF",
                          source=oapif_source(server_url, layer.id, layer.authcfg),
                          checked="Qt::Checked", expanded="1")
            map_layer(project_layers, layer, layer_id, server_url)
            ET.SubElement(order, "layer", id=layer_id)
    ET.indent(root, space=" ")
    return ET.ElementTree(root)


def write_project(server_url: str, path: Path, api_key: str | None = None,
                  authcfg: str | None = None) -> list[str]:
    """Write ``path`` (.qgs as XML, .qgz as QGIS's zipped form) for the server's layers;
    answers the ids of the layers left out because they need a sign-in."""
    layers, left_out = served_layers(server_url.rstrip("/"), api_key, authcfg)
    document = build_project(server_url, layers, declared_placements())
    root = document.getroot()
    assert root is not None
    xml = (b"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
           + ET.tostring(root, encoding="utf-8"))
    if path.suffix == ".qgz":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{path.stem}.qgs", xml)
    else:
        path.write_bytes(xml)
    return left_out


@click.command("qgis-project")
@click.option("--url", "server_url", default=None,
              help="Server URL the layers load from (default: GRIDGEO_PUBLIC_URL or host:port).")
@click.option("--api-key", envvar="GRIDGEO_QGIS_API_KEY", default=None,
              help="Key to list the layers that need a sign-in (never written to the project).")
@click.option("--authcfg", default=None,
              help="Id of the QGIS authentication configuration those layers use.")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path),
                default=Path("gridgeo.qgz"))
def qgis_project_command(server_url: str | None, api_key: str | None, authcfg: str | None,
                         output: Path) -> None:
    """Write a QGIS project (.qgz or .qgs) with every layer of a running server, styled.

    Layers that need a sign-in are included only with --api-key and --authcfg."""
    from gridgeo.settings import get_settings

    if output.suffix not in (".qgz", ".qgs"):
        raise click.BadParameter("the project file ends in .qgz or .qgs", param_hint="OUTPUT")
    if authcfg is not None and not _AUTHCFG.match(authcfg):
        raise click.BadParameter("a QGIS authentication configuration id is 7 letters or "
                                 "digits (QGIS shows it in Options > Authentication)",
                                 param_hint="--authcfg")
    url = server_url or get_settings().server_url
    try:
        left_out = write_project(url, output, api_key, authcfg)
    except OSError as exc:
        raise click.ClickException(f"could not read the collections of {url}: {exc}") from exc
    click.echo(f"gridgeo: wrote {output} (layers from {url})", err=True)
    if left_out:
        click.echo(f"gridgeo: left out {len(left_out)} layer(s) that need a sign-in: "
                   f"{', '.join(left_out)}; add --authcfg ID (a QGIS authentication "
                   "configuration holding your key) to include them", err=True)
    elif not api_key:
        click.echo("gridgeo: anonymous project: only public layers; layers that need a "
                   "sign-in are listed with --api-key KEY --authcfg ID", err=True)
