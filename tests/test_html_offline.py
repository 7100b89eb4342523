"""gridgeo's HTML pages work with no internet access, in Chinese and in English.

Runs against a live server (the `base_url` fixture). Every script, stylesheet, icon and
image a page makes the browser load must come from the server itself and answer 200
with a body, and so must what those stylesheets reference (`url()`, `@import`). Plain
hyperlinks (documentation, licences, OGC definitions) are not loads and may point
anywhere. The UI language follows `?lang=` and `Accept-Language`; Chinese, the first
configured language, is the default.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import quote, urljoin, urlsplit

import pytest
import requests

# <link rel=...> values that make the browser fetch the target (other rels are hyperlinks).
FETCHED_LINK_RELS = frozenset(
    {"stylesheet", "icon", "apple-touch-icon", "mask-icon", "manifest", "preload",
     "modulepreload", "prefetch"}
)
CSS_REFERENCE = re.compile(
    r"""@import\s+(?:url\(\s*)?['"]?(?P<import>[^'")\s;]+)"""
    r"""|url\(\s*(?P<quote>['"]?)(?P<url>.*?)(?P=quote)\s*\)""",
    re.IGNORECASE,
)
# A Leaflet tile URL template written into a page's own JavaScript: the basemap.
TILE_TEMPLATE = re.compile(r"""["']((?:https?:)?//[^"']*\{z\}[^"']*)["']""")
NOT_FETCHED = ("data:", "blob:", "about:", "javascript:", "#")
META_CHARSET = re.compile(rb"""<meta\s+charset=["']?([\w-]+)""", re.IGNORECASE)


class PageLoads(HTMLParser):
    """What a browser fetches to render a page, as written in the HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.css: list[str] = []  # <style> blocks and style="" attributes
        self.scripts: list[str] = []  # inline <script> bodies
        self._inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "link" and FETCHED_LINK_RELS & set(attr.get("rel", "").lower().split()):
            self.urls.append(attr.get("href", ""))
        if tag != "a" and attr.get("src"):
            self.urls.append(attr["src"])
        if tag == "object" and attr.get("data"):
            self.urls.append(attr["data"])
        if attr.get("poster"):
            self.urls.append(attr["poster"])
        for candidate in attr.get("srcset", "").split(","):
            if candidate.strip():
                self.urls.append(candidate.split()[0])
        if attr.get("style"):
            self.css.append(attr["style"])
        if tag in ("script", "style") and not attr.get("src"):
            self._inside = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._inside:
            self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside == "style":
            self.css.append(data)
        elif self._inside == "script":
            self.scripts.append(data)


def css_references(css: str) -> list[str]:
    return [m.group("import") or m.group("url") for m in CSS_REFERENCE.finditer(css)]


def fetched(url: str) -> bool:
    return bool(url.strip()) and not url.strip().lower().startswith(NOT_FETCHED)


class Server:
    """The server under test, reached at `base_url`, which calls itself `server_url`
    in the pages it renders (pygeoapi's `server.url`: the same, or a proxy address)."""

    def __init__(self, http: requests.Session, base_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        landing = http.get(f"{self.base_url}/", params={"f": "json"}, timeout=30)
        landing.raise_for_status()
        self_link = next(link for link in landing.json()["links"] if link["rel"] == "self")
        self.server_url = self_link["href"].split("?")[0].rstrip("/")
        self._assets: dict[str, requests.Response] = {}

    def is_local(self, url: str) -> bool:
        origin = urlsplit(url)[:2]
        return origin in (urlsplit(self.base_url)[:2], urlsplit(self.server_url)[:2])

    def reachable(self, url: str) -> str:
        """`url` as reachable from the test: the server_url prefix becomes base_url."""
        if url.startswith(self.server_url):
            return self.base_url + url[len(self.server_url):]
        return url

    def page(
        self, path: str, params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """The HTML rendering of `path` (`f=html` unless `params` say otherwise)."""
        response = self.http.get(
            f"{self.base_url}{path}", params={"f": "html", **(params or {})},
            headers=headers, timeout=30,
        )
        if "charset=" not in response.headers.get("Content-Type", ""):
            # pygeoapi sends a bare text/html; a browser then reads <meta charset>.
            meta = META_CHARSET.search(response.content[:1024])
            response.encoding = meta.group(1).decode("ascii") if meta else None
        return response

    def asset(self, url: str) -> requests.Response:
        if url not in self._assets:
            self._assets[url] = self.http.get(self.reachable(url), timeout=60)
        return self._assets[url]


@pytest.fixture(scope="module")
def server(base_url: str) -> Iterator[Server]:
    with requests.Session() as http:
        http.trust_env = False  # never through a proxy: the server is local
        yield Server(http, base_url)


@pytest.fixture(scope="module")
def item_id(server: Server) -> str:
    items = server.http.get(
        f"{server.base_url}/collections/grids/items", params={"f": "json", "limit": "1"}, timeout=30
    )
    items.raise_for_status()
    return quote(str(items.json()["features"][0]["id"]), safe="")


@pytest.fixture(scope="module")
def process_id(server: Server) -> str:
    processes = server.http.get(f"{server.base_url}/processes", params={"f": "json"}, timeout=30)
    processes.raise_for_status()
    assert processes.json()["processes"], "the server offers no process"
    return quote(processes.json()["processes"][0]["id"], safe="")


# (page, path, status, files the page must load: name endings)
BOOTSTRAP = "vendor/bootstrap/css/bootstrap.min.css"
LEAFLET = ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css")
CLUSTER = ("leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css")
SWAGGER = ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css")
PAGES = [
    ("landing", "/", 200, (BOOTSTRAP, "static/css/default.css", "static/img/logo.png")),
    ("collections", "/collections", 200, (BOOTSTRAP,)),
    ("collection", "/collections/grids", 200, (BOOTSTRAP, *LEAFLET)),
    ("items", "/collections/grids/items", 200, (BOOTSTRAP, *LEAFLET, *CLUSTER)),
    ("point items", "/collections/incidents/items", 200, (BOOTSTRAP, *LEAFLET, *CLUSTER)),
    ("address items", "/collections/addresses/items", 200, (BOOTSTRAP, *LEAFLET, *CLUSTER)),
    ("item", "/collections/grids/items/{item_id}", 200, (BOOTSTRAP, *LEAFLET)),
    ("queryables", "/collections/grids/queryables", 200, (BOOTSTRAP,)),
    ("schema", "/collections/grids/schema", 200, (BOOTSTRAP,)),
    ("openapi", "/openapi", 200, SWAGGER),
    ("openapi redoc", "/openapi?ui=redoc", 200, SWAGGER),
    ("processes", "/processes", 200, (BOOTSTRAP,)),
    ("process", "/processes/{process_id}", 200, (BOOTSTRAP,)),
    ("jobs", "/jobs", 200, (BOOTSTRAP,)),
    ("conformance", "/conformance", 200, (BOOTSTRAP,)),
    ("exception", "/collections/no-such-collection", 404, (BOOTSTRAP,)),
    ("field app", "/field/", 200, ("vendor/maplibre-gl/maplibre-gl.js",
                                   "vendor/maplibre-gl/maplibre-gl.css",
                                   "vendor/zxing-library/umd/index.min.js", "field/app.js",
                                   "field/app.css", "field/manifest.webmanifest")),
]


@pytest.mark.parametrize(("path", "status", "must_load"), [p[1:] for p in PAGES],
                         ids=[p[0] for p in PAGES])
def test_page_loads_nothing_from_outside(
    request: pytest.FixtureRequest, server: Server, path: str, status: int,
    must_load: tuple[str, ...],
) -> None:
    placeholders = re.findall(r"\{(\w+)\}", path)  # item_id, process_id: fixtures
    path = path.format(**{name: request.getfixturevalue(name) for name in placeholders})
    path, _, query = path.partition("?")
    params = dict(part.split("=") for part in query.split("&") if part)
    response = server.page(path, params=params)
    assert response.status_code == status, response.text[:500]
    assert response.headers["Content-Type"].startswith("text/html")

    page = PageLoads()
    page.feed(response.text)
    loads = [urljoin(response.url, u.strip()) for u in page.urls if fetched(u)]
    for ending in must_load:
        assert any(urlsplit(u).path.endswith(ending) for u in loads), f"{ending} not loaded"
    assert [u for u in loads if not server.is_local(u)] == []

    for url in loads:
        asset = server.asset(url)
        assert asset.status_code == 200, url
        assert asset.content, f"{url} is empty"

    stylesheets = [u for u in loads if urlsplit(u).path.endswith(".css")]
    for css_url in stylesheets:
        check_stylesheet(server, css_url, server.asset(css_url).text)
    for inline in page.css:
        check_stylesheet(server, response.url, inline)

    basemaps = [m for script in page.scripts for m in TILE_TEMPLATE.findall(script)]
    assert [t for t in basemaps if not server.is_local(urljoin(response.url, t))] == []


def check_stylesheet(server: Server, css_url: str, css: str, depth: int = 0) -> None:
    """Everything `css` (found at `css_url`) references is local and served, recursively."""
    for reference in filter(fetched, css_references(css)):
        url = urljoin(css_url, reference)
        assert server.is_local(url), f"{css_url} loads {url}"
        asset = server.asset(url)
        assert asset.status_code == 200 and asset.content, f"{css_url} loads {url}"
        if urlsplit(url).path.endswith(".css") and depth < 3:
            check_stylesheet(server, url, asset.text, depth + 1)


def test_items_map_draws_the_features(server: Server) -> None:
    """The items map gets its features and its zoom limit from the page, not the basemap:
    with `server.map.url` empty no tile layer sets a maxZoom, which the marker cluster
    group needs."""
    html = server.page("/collections/grids/items").text
    assert 'id="items-map"' in html
    assert "new L.GeoJSON(geojson_data" in html
    assert "L.map('items-map', {maxZoom:" in html
    assert "fitBounds(" in html


# Strings of gridgeo/locale/zh/LC_MESSAGES/messages.po, and their English ids.
LANDING_ZH = ("首页", "数据集合", "查看本服务中的数据集合", "查看本服务符合的标准一致性类",
              "联系方式")
LANDING_EN = ("Home", "Collections", "View the collections in this service",
              "View the conformance classes of this service", "Contact point")


@pytest.mark.parametrize(
    ("params", "headers", "chinese"),
    [
        ({"lang": "zh-CN"}, {}, True),
        ({"lang": "en-US"}, {}, False),
        ({}, {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}, True),
        ({}, {"Accept-Language": "en-US,en;q=0.9"}, False),
        ({}, {}, True),
    ],
    ids=["lang=zh-CN", "lang=en-US", "accept zh-CN", "accept en-US", "default"],
)
def test_landing_page_language(
    server: Server, params: dict[str, str], headers: dict[str, str], chinese: bool
) -> None:
    response = server.page("/", params=params, headers=headers)
    assert response.status_code == 200
    html = response.text
    expected, other = (LANDING_ZH, LANDING_EN) if chinese else (LANDING_EN, LANDING_ZH)
    for text in expected:
        assert text in html
    assert other[2] not in html and other[3] not in html
    assert f'<html lang="{"zh" if chinese else "en"}" dir="ltr"' in html  # both catalogues load


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh-CN", ("浏览要素", "可查询属性", "要素（GeoJSON）", "参考系")),
        ("en-US", ("Browse Items", "Queryables", "Items as GeoJSON", "Reference Systems")),
    ],
)
def test_collection_page_language(server: Server, lang: str, expected: tuple[str, ...]) -> None:
    """Template strings and the link titles pygeoapi builds in Python are both translated."""
    html = server.page("/collections/grids", params={"lang": lang}).text
    for text in expected:
        assert text in html


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({}, {"Accept-Language": "fr-FR,fr;q=0.9"}),
        ({}, {"Accept-Language": "zh-TW,zh;q=0.9"}),
        ({"lang": "zh"}, {}),
    ],
    ids=["accept fr", "accept zh-TW", "lang=zh"],
)
def test_other_languages_fall_back_to_chinese(
    server: Server, params: dict[str, str], headers: dict[str, str]
) -> None:
    """A browser asking for a language gridgeo lacks still gets a page.

    pygeoapi 0.21 falls back to `Locale(language, first territory)`; with
    `server.languages: [zh-CN, ...]` that is 'zh_CN', which Babel does not know (it
    wants zh_Hans_CN), so every request from such a browser fails with 500. Configuring
    `server.languages: [zh, en-US]` avoids it.
    """
    response = server.page("/", params=params, headers=headers)
    assert response.status_code == 200, "see this test's docstring"
    assert "查看本服务中的数据集合" in response.text
