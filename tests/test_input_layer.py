"""Text PostgreSQL cannot hold, and bodies that are not JSON, refused at the door.

A NUL character (or a lone UTF-16 surrogate) in a path, a query argument, a form field
or anywhere in a JSON body is a 404 or a 400 with a sentence, on every route: never a
500. A body sent to a JSON route as text/plain or XML is a 415.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.conftest import EDITOR

PATHS = ["/qr/plates/{}.svg", "/patrol-routes/{}.gpx", "/open311/v2/requests/{}.json",
         "/jobs/{}", "/jobs/{}/results", "/q/g/{}", "/collections/incidents/items/{}",
         "/collections/{}/items", "/processes/{}", "/styles/incidents/{}",
         "/collections/incidents/tiles/WebMercatorQuad/{}/1/1"]
QUERIED = ["/", "/collections", "/collections/incidents/items", "/collections/grids/items",
           "/open311/v2/services.json", "/processes", "/jobs", "/overview/summary.json",
           "/qr/plates/410399101218.svg"]
NUL, SURROGATE = "\u0000", "\ud800"


def _json(value: Any) -> str:
    return json.dumps(value)  # ASCII: the NUL and the surrogate travel as \u escapes


# (method, path, body as sent, content type): a JSON route's body with the bad text at
# its top level, in a value, in a nested key.
BODIES = [
    ("POST", "/scans", {"scan_uuid": NUL}),
    ("POST", "/scans/batch", {"scans": [{"note": f"a{NUL}b"}]}),
    ("POST", "/open311/v2/requests.json", {"service_code": "x", "description": NUL}),
    ("POST", "/collections/incidents/items",
     {"type": "Feature", "geometry": None, "properties": {"description": SURROGATE}}),
    ("PUT", "/collections/incidents/items/1",
     {"type": "Feature", "geometry": None, "properties": {f"k{NUL}": 1}}),
    ("PATCH", "/collections/incidents/items/1", {"properties": {"description": [SURROGATE]}}),
    ("POST", "/processes/police-grid-overlap/execution",
     {"inputs": {"grid_codes": [NUL]}}),
    ("POST", "/processes/grid-topology/execution", {"inputs": {"level": {"x": {NUL: 1}}}}),
]


def _refused_with_a_sentence(response: requests.Response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert "NUL" in response.json()["description"] or status == 404


@pytest.mark.parametrize("path", PATHS)
def test_a_nul_in_the_path_is_not_found(base_url: str, path: str) -> None:
    response = requests.get(base_url + path.format("ab%00cd"), headers=EDITOR, timeout=30)
    _refused_with_a_sentence(response, 404)
    surrogate = requests.get(base_url + path.format("ab%ED%A0%80cd"), headers=EDITOR,
                             timeout=30)
    assert surrogate.status_code < 500, surrogate.text  # the URL decoder replaces it


@pytest.mark.parametrize("path", QUERIED)
def test_a_nul_in_a_query_argument_is_a_400(base_url: str, path: str) -> None:
    for query in ("q=a%00b", "f=json&lang%00=zh", "bbox=%00", "filter=%00"):
        response = requests.get(f"{base_url}{path}?{query}", headers=EDITOR, timeout=30)
        _refused_with_a_sentence(response, 400)


@pytest.mark.parametrize(("method", "path", "body"), BODIES)
def test_a_nul_or_surrogate_in_a_json_body_is_a_400(base_url: str, method: str, path: str,
                                                     body: Any) -> None:
    response = requests.request(method, base_url + path, data=_json(body), headers={
        **EDITOR, "Content-Type": "application/merge-patch+json" if method == "PATCH"
        else "application/json", "Prefer": "respond-async"}, timeout=30)
    _refused_with_a_sentence(response, 400)


def test_a_nul_in_a_form_field_is_a_400(base_url: str) -> None:
    response = requests.post(f"{base_url}/open311/v2/requests.json",
                             data={"service_code": "a\x00", "description": "x"}, timeout=30)
    _refused_with_a_sentence(response, 400)
    assert "service_code" in response.json()["description"]


def test_the_sentence_names_where_the_bad_text_is(base_url: str) -> None:
    response = requests.post(f"{base_url}/scans/batch", headers={
        **EDITOR, "Content-Type": "application/json"},
        data=_json({"scans": [{}, {"note": NUL}]}), timeout=30)
    assert response.status_code == 400
    assert "scans[1].note" in response.json()["description"]


NOT_JSON = [("text/plain", "POST", "/collections/incidents/items"),
            ("application/xml", "PUT", "/collections/incidents/items/1"),
            ("text/plain", "PATCH", "/collections/incidents/items/1"),
            ("text/plain", "POST", "/scans"),
            ("application/xml", "POST", "/scans/batch"),
            ("text/plain", "POST", "/processes/grid-topology/execution"),
            (None, "POST", "/processes/grid-topology/execution")]


@pytest.mark.parametrize(("content_type", "method", "path"), NOT_JSON)
def test_a_json_route_refuses_a_body_that_is_not_json_with_415(
        base_url: str, content_type: str | None, method: str, path: str) -> None:
    headers = {**EDITOR, **({"Content-Type": content_type} if content_type else {})}
    response = requests.request(method, base_url + path, headers=headers, timeout=30,
                                data=b'{"inputs": {"level": "town"}}')
    assert response.status_code == 415, response.text
    assert "Content-Type: application/json" in response.json()["description"]


def test_json_suffix_types_and_forms_keep_working(base_url: str) -> None:
    topology = requests.post(f"{base_url}/processes/grid-topology/execution",
                             data=b'{"inputs": {"level": "town"}}', timeout=60,
                             headers={"Content-Type": "application/vnd.gridgeo+json"})
    assert topology.status_code == 200, topology.text
    services = requests.get(f"{base_url}/open311/v2/services.json", timeout=30)
    code = services.json()[0]["service_code"]
    hotline = requests.post(f"{base_url}/open311/v2/requests.json", timeout=30,
                            headers=EDITOR, data={"service_code": code, "lat": "x",
                                                  "description": "路灯不亮"})
    assert hotline.status_code == 400 and "lat" in hotline.text  # the route's own check ran
