"""What OGC clients (ogc-client, GDAL, QGIS) read to find tiles, styles and geometry
types: conformance, tile matrix sets, styles lists, schemas, and every route in the
OpenAPI document (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from gridgeo_plugins.maps.tiles import tile_layers

from gridgeo.config import contributed_collections
from gridgeo.plugins import get_plugin_manager
from gridgeo.styles import MEDIA_TYPES, STYLES_REL
from tests.conftest import ROLE_KEYS

ADMIN = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'admin')}"}

TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
STYLES = "http://www.opengis.net/spec/ogcapi-styles-1/1.0/conf/"


def get(url: str, **params: Any) -> requests.Response:
    return requests.get(url, params=params, timeout=60)


def test_conformance_declares_tiles_and_styles(base_url: str) -> None:
    declared = set(get(f"{base_url}/conformance", f="json").json()["conformsTo"])
    assert {f"{TILES}core", f"{TILES}tileset", f"{TILES}tilesets-list", f"{TILES}mvt",
            f"{TILES}geodata-tilesets", f"{STYLES}core", f"{STYLES}json"} <= declared
    assert "ogcapi-tiles-1/1.0/conf/core" in get(f"{base_url}/conformance", f="html").text


def test_the_tiles_tile_matrix_set_is_where_the_standard_puts_it(base_url: str) -> None:
    sets = get(f"{base_url}/tileMatrixSets").json()["tileMatrixSets"]
    assert [s["id"] for s in sets] == ["WebMercatorQuad"]
    tileset = get(f"{base_url}/collections/grids/tiles/WebMercatorQuad").json()
    scheme = next(link["href"] for link in tileset["links"]
                  if link["rel"].endswith("/tiling-scheme"))
    tms = get(scheme).json()
    assert tms["uri"] == tileset["tileMatrixSetURI"] == sets[0]["uri"]
    assert [m["id"] for m in tms["tileMatrices"]][:19] == [str(z) for z in range(19)]
    assert tms["tileMatrices"][14]["matrixWidth"] == 2**14
    missing = get(f"{base_url}/tileMatrixSets/WorldCRS84Quad")
    assert missing.status_code == 404 and "WebMercatorQuad" in missing.json()["description"]


def test_styles_lists_keep_the_direct_stylesheet_links(base_url: str) -> None:
    styled = sorted(c.id for c in contributed_collections(get_plugin_manager()) if c.styles)
    listed = get(f"{base_url}/styles").json()["styles"]
    assert [s["id"] for s in listed] == styled
    for entry in listed[:2]:
        for link in entry["links"]:
            answer = get(link["href"])
            assert answer.status_code == 200, link
            assert answer.headers["Content-Type"].startswith(link["type"])
    grids = get(f"{base_url}/collections/grids?f=json").json()
    styles_links = [link for link in grids["links"] if link["rel"] == STYLES_REL]
    assert styles_links[0]["type"] == "application/json"  # the list: what clients follow
    assert {link["type"] for link in styles_links[1:]} == set(MEDIA_TYPES.values())
    own = get(styles_links[0]["href"]).json()
    assert own["default"] == "grids" and [s["id"] for s in own["styles"]] == ["grids"]
    metadata = get(f"{base_url}/styles/grids/metadata").json()
    assert {s["link"]["type"] for s in metadata["stylesheets"]} == set(MEDIA_TYPES.values())
    assert get(f"{base_url}/styles/grids").headers["Content-Type"].startswith(
        MEDIA_TYPES["maplibre"])
    wrong = get(f"{base_url}/styles/grids", f="svg")
    assert wrong.status_code == 400 and "qml" in wrong.json()["description"]
    assert get(f"{base_url}/styles/nowhere").status_code == 404
    landing = get(f"{base_url}/", f="json").json()
    assert f"{base_url}/styles" in [link["href"] for link in landing["links"]
                                    if link["rel"] == STYLES_REL]


def test_schema_and_queryables_give_the_real_geometry_type(base_url: str) -> None:
    for collection in contributed_collections(get_plugin_manager()):
        kind = collection.resource["providers"][0]["data"]["geometry_type"]
        for document in ("schema", "queryables"):
            # as admin: collections that are not public are 404 to anonymous callers
            body = requests.get(f"{base_url}/collections/{collection.id}/{document}",
                                params={"f": "json"}, headers=ADMIN, timeout=60).json()
            assert body["properties"]["geometry"]["format"] == f"geometry-{kind.lower()}", \
                (collection.id, document)
            assert len(body["properties"]) > 2


@pytest.mark.parametrize("path", [
    "/scans", "/scans/batch", "/open311/v2/services.json", "/open311/v2/requests.json",
    "/q/{letter}/{code}", "/qr/{letter}/{code}.{ext}", "/qr/plates/{grid_code}.svg",
    "/patrol-routes/{route_no}.gpx", "/styles", "/styles/{styleId}", "/overview", "/sla-rules",
    "/tileMatrixSets", "/collections/grids/styles",
    *(f"/collections/{c}/tiles" for c in tile_layers())])
def test_every_route_is_in_the_openapi_document(openapi_paths: set[str], path: str) -> None:
    assert path in openapi_paths


@pytest.fixture(scope="module")
def openapi_paths(base_url: str) -> set[str]:
    return set(get(f"{base_url}/openapi", f="json").json()["paths"])


def test_the_html_items_page_draws_on_gridgeos_own_backdrop(base_url: str) -> None:
    """A page of five addresses: the DEM hillshade and the grid boundaries under it, and
    every address through the collection's tiles, all from this server."""
    from tests.test_overview import rendered_dom

    # Chromium dumps the DOM when its virtual-time budget ends; on a loaded machine the
    # tiles' 'load' may land after it, so a render is tried up to three times (bounded).
    for _ in range(3):
        dom = rendered_dom(f"{base_url}/collections/addresses/items?f=html&limit=5")
        head = dom[dom.index('id="items-map"'):]
        head = head[:head.index(">")]
        if 'data-gridgeo-tiles="' in head and "grids" in head and "addresses" in \
                head.split('data-gridgeo-tiles="')[1]:
            break
    assert 'data-gridgeo-hillshade="on"' in head
    assert set(head.split('data-gridgeo-tiles="')[1].split('"')[0].split()) == \
        {"addresses", "grids"}
    assert "Leaflet.VectorGrid" in dom and "unpkg.com" not in dom
