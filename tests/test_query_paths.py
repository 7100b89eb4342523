"""The same questions through both paths: gridgeo's own JSON route and the pygeoapi
provider (what HTML, CSV and JSON-LD use). One query builder serves both, so both
must answer alike; plus the numberMatched modes of the JSON route."""

from __future__ import annotations

import csv
import dataclasses
import io
from typing import Any

import orjson
import psycopg
import pytest
import requests
from pygeoapi.util import CrsTransformSpec

from gridgeo.items.respond import items_response
from gridgeo.provider.postgis import PostGISProvider
from gridgeo.settings import get_settings

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"


@pytest.fixture(scope="module")
def config(base_url: str) -> dict[str, Any]:
    """The effective configuration, rendered here as the server rendered its own."""
    from gridgeo.config import render_config
    from gridgeo.plugins import get_plugin_manager

    return render_config(get_settings(), get_plugin_manager())


def provider(config: dict[str, Any], collection: str) -> PostGISProvider:
    return PostGISProvider(config["resources"][collection]["providers"][0])


def spec(target: str) -> CrsTransformSpec:
    return CrsTransformSpec(source_crs_uri="", source_crs_wkt="", target_crs_uri=target,
                            target_crs_wkt="")


def without_links(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """QR links are built from each process's own public URL (the server's differs from
    this test process's), so they are the one field the two sides may not share."""
    for feature in features:
        feature["properties"].pop("qr_payload", None)
    return features


CASES: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("incidents", {"colour": "red", "limit": "50", "offset": "10"},
     {"properties": [("colour", "red")], "limit": 50, "offset": 10}),
    ("greenhouses", {"sortby": "-status,use", "limit": "100"},
     {"sortby": [{"property": "status", "order": "-"}, {"property": "use", "order": "+"}],
      "limit": 100}),
    ("grids", {"properties": "code,level", "skipGeometry": "true", "limit": "20"},
     {"select_properties": ["code", "level"], "skip_geometry": True, "limit": 20}),
    ("incidents", {"datetime": "2026-09-01T00:00:00Z/..", "limit": "30"},
     {"datetime_": "2026-09-01T00:00:00Z/..", "limit": 30}),
    ("addresses", {"crs": EPSG4326, "limit": "5"}, {"crs_transform_spec": spec(EPSG4326),
                                                    "limit": 5}),
]


@pytest.mark.parametrize("collection,args,kwargs", CASES)
def test_json_route_and_provider_agree(base_url: str, config: dict[str, Any], collection: str,
                                       args: dict[str, str], kwargs: dict[str, Any]) -> None:
    route = requests.get(f"{base_url}/collections/{collection}/items", params=args,
                         headers={"Accept": "application/geo+json"}, timeout=60).json()
    kwargs.setdefault("crs_transform_spec", spec(CRS84))
    via_provider = provider(config, collection).query(**kwargs)
    assert route["numberMatched"] == via_provider["numberMatched"]
    assert without_links(route["features"]) == without_links(via_provider["features"])
    assert route["features"], "the case must select something to compare"


def test_cql_filter_agrees_on_both_paths(base_url: str, config: dict[str, Any]) -> None:
    cql = "state IN ('closed', 'verified') AND colour <> 'yellow'"
    route = requests.get(f"{base_url}/collections/incidents/items",
                         params={"filter": cql, "limit": "500"},
                         headers={"Accept": "application/geo+json"}, timeout=60).json()
    # gridgeo hands the filter to the provider in its definition, as for an HTML page.
    definition = config["resources"]["incidents"]["providers"][0]
    handed = {**definition, "data": {**definition["data"], "filter": {"filter": cql}}}
    via_provider = PostGISProvider(handed).query(limit=500, crs_transform_spec=spec(CRS84))
    assert [f["id"] for f in route["features"]] == [f["id"] for f in via_provider["features"]]
    assert route["features"]


BAD_REQUESTS = [({"properties": "code,no_such_property"}, "no_such_property"),
                ({"sortby": "-no_such_property"}, "no_such_property"),
                ({"no_such_property": "1"}, "no_such_property"),
                ({"limit": "many"}, "limit"),
                ({"filter": "no_such_property = 1"}, "no_such_property")]


@pytest.mark.parametrize(("params", "named"), BAD_REQUESTS)
def test_a_bad_request_gets_the_same_400_in_every_format(base_url: str, params: dict[str, str],
                                                         named: str) -> None:
    """One request model: JSON, HTML and CSV refuse the same request with the same
    sentence (pygeoapi alone would drop unknown names from HTML and CSV silently)."""
    url = f"{base_url}/collections/grids/items"
    answers = [requests.get(url, params={**params, "f": f}, timeout=60)
               for f in ("json", "html", "csv")]
    assert [a.status_code for a in answers] == [400, 400, 400], [a.text for a in answers]
    sentences = {a.json()["description"] for a in answers}
    assert len(sentences) == 1 and named in sentences.pop()


def test_a_good_filter_and_name_value_narrow_html_and_csv_alike(base_url: str) -> None:
    url = f"{base_url}/collections/grids/items"
    asked = {"filter": "level = 'village'", "kind": "basic", "limit": "1000"}
    body = requests.get(url, params={**asked, "f": "json"}, timeout=60).json()
    csv_text = requests.get(url, params={**asked, "f": "csv"}, timeout=60).text
    csv_codes = [row["code"] for row in csv.DictReader(io.StringIO(csv_text))]
    html = requests.get(url, params={**asked, "f": "html"}, timeout=60)
    assert csv_codes == [f["properties"]["code"] for f in body["features"]]
    assert body["numberReturned"] > 0
    assert html.status_code == 200
    assert all(f["properties"]["code"] in html.text for f in body["features"][:5])


@pytest.mark.parametrize("mode", ["exact", "estimated", "off"])
def test_number_matched_modes(config: dict[str, Any], conn: psycopg.Connection,
                              mode: str) -> None:
    info = provider(config, "addresses").describe(
        "addresses", {"default_items": 10, "max_items": 10000})
    info = dataclasses.replace(info, count=mode)
    total = conn.execute("SELECT count(*) FROM gridgeo.addresses").fetchone()[0]  # type: ignore[index]
    last_page = str(total - 3)
    body = orjson.loads(items_response(info, {"limit": "10", "offset": last_page},
                                       "http://x/collections/addresses/items").get_data())
    assert body["numberReturned"] == 3
    rels = [link["rel"] for link in body["links"]]
    if mode == "exact":
        assert body["numberMatched"] == total and "next" not in rels
    elif mode == "estimated":
        # The planner's estimate: near, not necessarily equal; paging never trusts it.
        assert 0.5 * total < body["numberMatched"] < 2 * total
    else:
        assert "numberMatched" not in body
    full = orjson.loads(items_response(info, {"limit": "10"}, "http://x/items").get_data())
    assert "next" in [link["rel"] for link in full["links"]]  # a full page always links on
