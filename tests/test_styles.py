"""Every collection links its QGIS, SLD and MapLibre styles, and each one parses and
reads only properties the collection really has (its queryables)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import EDITOR

COLLECTIONS = ["grids", "police_grids", "addresses", "mine_tunnels", "greenhouses",
               "incidents", "roads", "patrol_routes", "inspections"]
STYLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/styles"
MEDIA_TYPES = {"qml": "application/vnd.qgis.qml+xml", "sld": "application/vnd.ogc.sld+xml",
               "maplibre": "application/vnd.maplibre.style+json"}
SLD = "{http://www.opengis.net/sld}"
OGC = "{http://www.opengis.net/ogc}"
STYLES_DIR = Path(__file__).resolve().parent.parent / "styles"
QGIS_FIELD = re.compile(r'"([^"]+)"')
# What each style must tell apart: property -> values that must each have a rule.
CLASSES = {
    "grids": {"level": {"unit", "micro", "village", "area", "town"}, "difficulty": {"A", "B", "C"}},
    "mine_tunnels": {"status": {"sealed", "suspected_reopened", "reopened", "resealed"}},
    "greenhouses": {"status": {"in_use", "idle", "abandoned", "suspected_conversion",
                               "converted_to_housing", "demolished"}},
    "incidents": {"colour": {"red", "orange", "yellow"}},
    "roads": {"road_class": {"county", "township", "village", "track", "path"}},
    "patrol_routes": {"patrol_kind": {"visit_targets", "street_sweep", "big_patrol"}},
}
# Styles are read by GIS staff; some layers (adits, routes, inspections) are not public.
STAFF = EDITOR
# Marks drawn over the classes: the property each must read.
MARKS = {"incidents": "overdue", "mine_tunnels": "inspection_due_on",
         "greenhouses": "last_scanned_at", "police_grids": "code"}


def queryables(base_url: str, collection: str) -> set[str]:
    body = requests.get(f"{base_url}/collections/{collection}/queryables?f=json",
                        headers=STAFF, timeout=30).json()
    return set(body["properties"])


def fetch_styles(base_url: str, collection: str) -> dict[str, requests.Response]:
    doc = requests.get(f"{base_url}/collections/{collection}?f=json", headers=STAFF,
                       timeout=30).json()
    links = {link["type"]: link["href"] for link in doc["links"]
             if link["rel"] == STYLES_REL and link["type"] != "application/json"}
    assert set(links) == set(MEDIA_TYPES.values()), collection
    return {kind: requests.get(links[media], headers=STAFF, timeout=30)
            for kind, media in MEDIA_TYPES.items()}


def qml_fields(root: ET.Element) -> set[str]:
    fields: set[str] = set()
    for rule in root.iter("rule"):
        fields |= set(QGIS_FIELD.findall(rule.get("filter", "")))
    for text in root.iter("text-style"):
        fields.add(text.get("fieldName", ""))
    return fields


def maplibre_gets(node: Any) -> set[str]:
    if isinstance(node, list):
        found = {node[1]} if len(node) == 2 and node[0] in ("get", "has") else set()
        return found.union(*(maplibre_gets(n) for n in node))
    if isinstance(node, dict):
        return set().union(*(maplibre_gets(v) for v in node.values()))
    return set()


def literal_values(text: str) -> set[str]:
    return set(re.findall(r"'([^']*)'", text))


@pytest.fixture(scope="module")
def styles(base_url: str) -> dict[str, dict[str, requests.Response]]:
    return {c: fetch_styles(base_url, c) for c in COLLECTIONS}


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_collection_links_three_styles_that_answer(styles: dict[str, Any],
                                                    collection: str) -> None:
    for kind, response in styles[collection].items():
        assert response.status_code == 200, (collection, kind)
        assert response.headers["Content-Type"].startswith(MEDIA_TYPES[kind])
        assert len(response.content) > 200


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_qml_is_a_rule_based_qgis_style_on_real_fields(
        base_url: str, styles: dict[str, Any], collection: str) -> None:
    root = ET.fromstring(styles[collection]["qml"].content)
    assert root.tag == "qgis"
    renderer = root.find("renderer-v2")
    assert renderer is not None and renderer.get("type") == "RuleRenderer"
    rules = renderer.findall("rules/rule")
    symbols = {s.get("name") for s in renderer.findall("symbols/symbol")}
    assert rules and {r.get("symbol") for r in rules} <= symbols
    assert all(re.search(r"[\u4e00-\u9fff]", r.get("label", "")) for r in rules), \
        "every legend entry is in Chinese"
    assert root.find("labeling/settings/text-style") is not None, "labels on"
    assert qml_fields(root) <= queryables(base_url, collection)
    filters = " ".join(r.get("filter", "") for r in rules)
    for prop, values in CLASSES.get(collection, {}).items():
        assert f'"{prop}"' in filters and values <= literal_values(filters), (collection, prop)
    if collection in MARKS:
        assert f'"{MARKS[collection]}"' in filters


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_sld_is_an_sld_1_0_on_real_fields(base_url: str, styles: dict[str, Any],
                                          collection: str) -> None:
    root = ET.fromstring(styles[collection]["sld"].content)
    assert root.tag == f"{SLD}StyledLayerDescriptor" and root.get("version") == "1.0.0"
    assert root.findtext(f"{SLD}NamedLayer/{SLD}Name") == collection
    rules = list(root.iter(f"{SLD}Rule"))
    assert rules
    for rule in rules:
        children = [child.tag.removeprefix(SLD).removeprefix(OGC) for child in rule]
        symbolizers = [c for c in children if c.endswith("Symbolizer")]
        assert symbolizers, "every rule draws something"
        # SLD 1.0 order: Name, Title, Filter, scale denominators, then symbolizers.
        order = ["Name", "Title", "Filter", "MinScaleDenominator", "MaxScaleDenominator"]
        head = children[:len(children) - len(symbolizers)]
        assert head == [c for c in order if c in head] and children[len(head):] == symbolizers
    names = {p.text for p in root.iter(f"{OGC}PropertyName")}
    assert names and names <= queryables(base_url, collection)
    literals = {lit.text or "" for lit in root.iter(f"{OGC}Literal")}
    for values in CLASSES.get(collection, {}).values():
        assert values <= literals


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_maplibre_style_reads_real_properties(base_url: str, styles: dict[str, Any],
                                              collection: str) -> None:
    style = styles[collection]["maplibre"].json()
    assert style["version"] == 8 and style["layers"]
    fields = queryables(base_url, collection)
    for layer in style["layers"]:
        source = style["sources"][layer["source"]]
        assert layer["type"] in ("fill", "line", "circle")
        assert maplibre_gets(layer.get("filter", [])) <= fields, layer["id"]
        if source["type"] == "vector":
            assert layer["source-layer"] == collection
    for source in style["sources"].values():
        url = source["tiles"][0] if source["type"] == "vector" else source["data"]
        assert url.startswith(f"/collections/{collection}/")
        if source["type"] == "geojson":
            assert requests.get(base_url + url, headers=STAFF, timeout=60).status_code == 200
        else:
            tile = url.replace("{z}", "0").replace("{y}", "0").replace("{x}", "0")
            answer = requests.get(base_url + tile, headers=STAFF, timeout=60)
            assert answer.status_code in (200, 204)
    filters = json.dumps([layer.get("filter") for layer in style["layers"]])
    for values in CLASSES.get(collection, {}).values():
        assert all(f'"{v}"' in filters for v in values)


def test_style_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_styles", STYLES_DIR / "make_styles.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    written = module.write_all(tmp_path)
    assert len(written) == 3 * len(COLLECTIONS)
    for path in written:
        assert path.read_bytes() == (STYLES_DIR / path.name).read_bytes(), \
            f"styles/{path.name} is stale: run python styles/make_styles.py"
