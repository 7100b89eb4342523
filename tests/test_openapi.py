"""The OpenAPI document resolves offline, and the answers it describes match the OGC schemas.

Every ``$ref`` in the served document, and in every schema file the server serves,
must resolve against the server itself: a reference to any other host fails, so a
client with no internet access can follow them all. Response bodies are checked
against the OGC schemas in gridgeo's copy (``tests/ogc.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

import pytest
import requests
import yaml

from gridgeo.openapi import SCHEMAS_DIR, localise_refs
from tests.conftest import ROLE_KEYS
from tests.ogc import schema_errors, validate
from tests.test_features import COLLECTIONS

FEATURES = "ogcapi/features/part1/1.0/openapi/schemas/"
CRS = "ogcapi/features/part2/1.0/openapi/schemas/"
PROCESSES = "ogcapi/processes/part1/1.0/openapi/schemas/"
EPSG_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
# As admin: documents of every collection are checked, the non-public ones too.
JSON = {"Accept": "application/json",
        "Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'admin')}"}


def get_json(url: str, **params: str | int) -> Any:
    query: dict[str, str | int] = {"f": "json", **params}
    response = requests.get(url, params=query, headers=JSON, timeout=60)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return response.json()


# --- every $ref resolves on this server -------------------------------------------------

class ServerOnlyResolver:
    """Follows ``$ref``s, fetching documents from ``base_url`` and nowhere else."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/") + "/"
        self.documents: dict[str, Any] = {}
        self.failures: list[str] = []

    def document(self, url: str) -> Any:
        if url not in self.documents:
            if not url.startswith(self.base):
                raise LookupError("is not on this server")
            response = requests.get(url, timeout=60)
            if response.status_code != 200:
                raise LookupError(f"answers {response.status_code}")
            self.documents[url] = yaml.safe_load(response.text)  # YAML reads JSON too
        return self.documents[url]

    def walk(self, url: str) -> None:
        """Resolve every reference in the document at ``url`` and, in turn, in the
        documents they lead to."""
        pending = [url]
        walked: set[str] = set()
        while pending:
            current = pending.pop()
            walked.add(current)
            for ref in _refs(self.document(current)):
                target, fragment = urldefrag(urljoin(current, ref))
                try:
                    _pointer(self.document(target), fragment)
                except LookupError as exc:
                    self.failures.append(f"{current}: $ref {ref} {exc}")
                    continue
                if target not in walked and target not in pending:
                    pending.append(target)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _pointer(document: Any, fragment: str) -> Any:
    node = document
    for token in [t for t in unquote(fragment).split("/") if t]:
        token = token.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(token)] if isinstance(node, list) else node[token]
        except (KeyError, IndexError, ValueError, TypeError):
            raise LookupError(f"points at nothing (#{fragment})") from None
    return node


@pytest.fixture(scope="module")
def openapi_url(base_url: str) -> str:
    return f"{base_url}/openapi?f=json"


@pytest.fixture(scope="module")
def openapi(openapi_url: str) -> dict[str, Any]:
    response = requests.get(openapi_url, timeout=60)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_every_ref_in_the_openapi_document_resolves_on_this_server(
        base_url: str, openapi_url: str) -> None:
    resolver = ServerOnlyResolver(base_url)
    resolver.walk(openapi_url)
    assert not resolver.failures, "\n".join(resolver.failures[:30])
    schema_files = {url for url in resolver.documents if url.startswith(f"{base_url}/schemas/")}
    # Features Part 1, Processes and the Records sortby parameter at the least.
    for part in ("features/part1", "processes/part1", "records/core"):
        assert any(f"/ogcapi/{part}/" in url for url in schema_files), (part, schema_files)


def test_every_served_schema_file_resolves_on_this_server(base_url: str) -> None:
    resolver = ServerOnlyResolver(base_url)
    files = sorted(p.relative_to(SCHEMAS_DIR).as_posix() for p in SCHEMAS_DIR.rglob("*.y*ml"))
    assert len(files) > 140
    for path in files:
        resolver.walk(f"{base_url}/schemas/{path}")
    assert not resolver.failures, "\n".join(resolver.failures[:30])


def test_schema_files_are_served_as_yaml_and_only_from_the_copy(base_url: str) -> None:
    path = "ogcapi/records/core/openapi/schemas/catalog.yaml"
    response = requests.get(f"{base_url}/schemas/{path}", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/yaml")
    # Its reference to schemas.opengis.net now names the copy, relative to the file.
    assert "$ref: '../../../../features/part1/1.0/openapi/schemas/collection.yaml'" \
        in response.text
    assert "schemas.opengis.net" not in response.text
    for outside in ("../openapi.py", "%2e%2e/openapi.py", "nothing/here.yaml"):
        assert requests.get(f"{base_url}/schemas/{outside}", timeout=30).status_code == 404


def test_the_openapi_document_is_valid_openapi_3_0(openapi: dict[str, Any],
                                                   base_url: str) -> None:
    from openapi_spec_validator import OpenAPIV30SpecValidator

    # The validator follows the references, which the tests above keep on this server.
    errors = list(OpenAPIV30SpecValidator(openapi, base_uri=f"{base_url}/openapi")
                  .iter_errors())
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:200]}" for e in errors[:20])


def test_the_tiles_link_schema_is_inlined(openapi: dict[str, Any]) -> None:
    links = openapi["components"]["schemas"]["tiles"]["properties"]["links"]["items"]
    assert "$ref" not in links
    assert links["required"] == ["href", "rel"]


# --- rewriting, without a server --------------------------------------------------------

def test_localise_refs_maps_every_remote_ref_to_the_copy_or_drops_it() -> None:
    features = "schemas.opengis.net/ogcapi/features/part1/1.0/openapi/ogcapi-features-1.yaml"
    records = ("raw.githubusercontent.com/opengeospatial/ogcapi-records/master/core/openapi/"
               "parameters/sortby.yaml")
    tiles = "https://schemas.opengis.net/ogcapi/tiles/part1/1.0/openapi/ogcapi-tiles-1.yaml"
    document = {
        "paths": {
            "/a": {"get": {"responses": {
                "200": {"$ref": f"https://{features}#/components/responses/Features"},
                "400": {"$ref": f"http://{features}#/components/responses/InvalidParameter"}},
                "parameters": [{"$ref": f"https://{records}"}, {"$ref": "#/components/x/ok"}]}},
            "/tiles": {"get": {"parameters": [
                {"$ref": f"{tiles}#/components/parameters/tileMatrix"}]}},
            "/uses-gone": {"get": {"parameters": [{"$ref": "#/components/x/gone"}]}},
        },
        "components": {"x": {
            "ok": {"items": {"$ref": f"{tiles}#/components/schemas/link"}},
            "gone": {"$ref": "https://example.org/elsewhere.yaml"}}},
    }
    local = localise_refs(document, "http://gridgeo.example/")
    schemas = "http://gridgeo.example/schemas/"
    get = local["paths"]["/a"]["get"]
    assert get["responses"]["200"]["$ref"] == \
        f"{schemas}ogcapi/features/part1/1.0/openapi/ogcapi-features-1.yaml" \
        "#/components/responses/Features"
    assert get["responses"]["400"]["$ref"].startswith(f"{schemas}ogcapi/features/part1/")
    assert get["parameters"][0]["$ref"] == \
        f"{schemas}ogcapi/records/core/openapi/parameters/sortby.yaml"
    assert local["components"]["x"]["ok"]["items"]["required"] == ["href", "rel"]
    assert set(local["paths"]) == {"/a"}  # no local copy of Tiles; /uses-gone needed "gone"
    assert set(local["components"]["x"]) == {"ok"}
    assert "schemas.opengis.net" in str(document)  # the input is left as it was


# --- response bodies against the OGC schemas --------------------------------------------

def test_the_schema_helper_rejects_what_the_schemas_reject() -> None:
    assert schema_errors({"links": "x"}, FEATURES + "landingPage.yaml")
    assert schema_errors({"type": "Feature", "geometry": {"type": "Point", "coordinates": "x"},
                          "properties": None}, FEATURES + "featureGeoJSON.yaml")
    assert schema_errors({"title": "no type"}, PROCESSES + "exception.yaml")
    # nullable and YAML's unquoted `type: null` both allow null where the schemas do.
    validate({"type": "Feature", "geometry": None, "properties": None},
             FEATURES + "featureGeoJSON.yaml")
    validate({"spatial": {"bbox": [[0, 0, 1, 1]]}, "temporal": {"interval": [[None, None]]}},
             FEATURES + "extent.yaml")
    # A nested $ref in an input schema: valid once OGC's own double-match bug is fixed.
    geometry = {"$ref": "https://schemas.opengis.net/ogcapi/features/part1/1.0/openapi/"
                        "schemas/geometryGeoJSON.yaml"}
    validate({"id": "p", "version": "1", "inputs": {"geom": {"schema": {
        "type": "array", "items": {"oneOf": [{"type": "string"}, geometry]}}}}},
        PROCESSES + "process.yaml")
    assert schema_errors({"id": "p", "version": "1", "inputs": {"geom": {"schema": {
        "type": "array", "items": {"oneOf": [{"type": "bogus"}]}}}}}, PROCESSES + "process.yaml")


def test_landing_page_conformance_and_collections(base_url: str) -> None:
    validate(get_json(f"{base_url}/"), FEATURES + "landingPage.yaml")
    validate(get_json(f"{base_url}/conformance"), FEATURES + "confClasses.yaml")
    collections = get_json(f"{base_url}/collections")
    validate(collections, FEATURES + "collections.yaml")
    validate(collections, CRS + "collections.yaml")


def _collection_errors(base_url: str, collection: str) -> tuple[list[str], bool]:
    """What fails the schemas in a collection, its items pages and its first item; and
    whether it had an item to check."""
    url = f"{base_url}/collections/{collection}"
    document = get_json(url)
    errors = schema_errors(document, FEATURES + "collection.yaml")
    errors += schema_errors(document, CRS + "collection.yaml")
    page = get_json(f"{url}/items", limit=5)
    errors += schema_errors(page, FEATURES + "featureCollectionGeoJSON.yaml")
    if not page["numberReturned"] == len(page["features"]) <= 5:
        errors.append(f"numberReturned {page['numberReturned']} with "
                      f"{len(page['features'])} features for limit 5")
    query: dict[str, str | int] = {"f": "json", "limit": 5, "crs": EPSG_4326}
    response = requests.get(f"{url}/items", params=query, headers=JSON, timeout=60)
    if response.status_code != 200 or response.headers.get("Content-Crs") != f"<{EPSG_4326}>":
        errors.append(f"crs=EPSG:4326: {response.status_code}, "
                      f"Content-Crs {response.headers.get('Content-Crs')}")
    else:
        errors += schema_errors(response.json(), FEATURES + "featureCollectionGeoJSON.yaml")
    if page["features"]:
        item = get_json(f"{url}/items/{page['features'][0]['id']}")
        errors += schema_errors(item, FEATURES + "featureGeoJSON.yaml")
    return errors, bool(page["features"])


def test_every_collection_its_items_and_an_item(base_url: str) -> None:
    collections = [c["id"] for c in get_json(f"{base_url}/collections")["collections"]]
    assert set(COLLECTIONS) <= set(collections)
    results = {c: _collection_errors(base_url, c) for c in collections}
    failures = [f"{c}: {e}" for c, (errors, _) in results.items() for e in errors[:5]]
    assert not failures, "\n".join(failures)
    assert any(has_item for _, has_item in results.values()), "no item to check anywhere"


@pytest.mark.parametrize(("path", "params", "status"), [
    ("/collections/grids/items", {"limit": "many"}, 400),
    ("/collections/grids/items/no-such-item", {}, 404),
    ("/collections/no_such_collection", {}, 404),
])
def test_errors_are_ogc_exceptions(base_url: str, path: str, params: dict[str, str],
                                   status: int) -> None:
    response = requests.get(f"{base_url}{path}", params={"f": "json", **params}, headers=JSON,
                            timeout=60)
    assert response.status_code == status
    body = response.json()
    validate(body, FEATURES + "exception.yaml")
    validate(body, PROCESSES + "exception.yaml")  # the stricter one: `type` is required
    assert body.get("status", status) == status


def test_processes(base_url: str) -> None:
    listing = get_json(f"{base_url}/processes")
    validate(listing, PROCESSES + "processList.yaml")
    for summary in listing["processes"]:
        description = get_json(f"{base_url}/processes/{summary['id']}")
        validate(description, PROCESSES + "process.yaml")


def test_async_execution_is_offered_only_where_the_process_declares_it(
        base_url: str, openapi: dict[str, Any]) -> None:
    """pygeoapi offers Prefer: respond-async for every process; the document follows each
    process's jobControlOptions (incident-report runs only synchronously)."""
    listing = get_json(f"{base_url}/processes")["processes"]
    options = {p["id"]: p["jobControlOptions"] for p in listing}
    assert "async-execute" not in options["incident-report"]
    assert "async-execute" in options["police-grid-overlap"]
    described = get_json(f"{base_url}/processes/incident-report")["jobControlOptions"]
    assert described == ["sync-execute"]
    for process_id, controls in options.items():
        operation = openapi["paths"][f"/processes/{process_id}/execution"]["post"]
        prefer = [p for p in operation.get("parameters", []) if p.get("name") == "Prefer"]
        offered = bool(prefer) and "201" in operation["responses"]
        assert offered is ("async-execute" in controls), process_id
