"""QR codes: every target's code decodes (with a real decoder) to a URL that opens its page."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
import requests

from tests.conftest import EDITOR
from tests.field_town import ADDRESS_CODES, ADIT, GREENHOUSE, UNIT, WORKER_NAME, WORKER_PHONE

# zbarimg and rsvg-convert come from scripts/install-system.sh; missing is an install bug.
TARGETS = [("a", "addresses", ADDRESS_CODES[0]), ("g", "greenhouses", GREENHOUSE),
           ("k", "mine_tunnels", ADIT)]


@pytest.fixture()
def conn(request: pytest.FixtureRequest) -> psycopg.Connection:
    """This module's tests run against the field town's database ..."""
    return request.getfixturevalue("field_conn")  # type: ignore[no-any-return]


@pytest.fixture()
def base_url(request: pytest.FixtureRequest) -> str:
    """... and its server."""
    return str(request.getfixturevalue("field_town").base_url)


@pytest.fixture()
def field_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("field_town").url)


def decode(png: Path) -> list[str]:
    """Every QR code zbarimg finds in an image."""
    result = subprocess.run(["zbarimg", "--quiet", "--raw", str(png)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return sorted(result.stdout.split())


def render(svg: bytes, folder: Path) -> Path:
    """An SVG drawn as PNG by a real renderer (librsvg), fonts included."""
    assert shutil.which("rsvg-convert"), "rsvg-convert missing: run scripts/install-system.sh"
    source, target = folder / "image.svg", folder / "image.png"
    source.write_bytes(svg)
    subprocess.run(["rsvg-convert", str(source), "-o", str(target)], check=True, timeout=60)
    return target


@pytest.mark.parametrize("letter,collection,code", TARGETS)
def test_png_and_svg_decode_to_the_items_url(base_url: str, tmp_path: Path,
                                             letter: str, collection: str, code: str) -> None:
    expected = f"{base_url}/q/{letter}/{code}"
    png = requests.get(f"{base_url}/qr/{letter}/{code}.png", timeout=30)
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
    (tmp_path / "code.png").write_bytes(png.content)
    assert decode(tmp_path / "code.png") == [expected]
    svg = requests.get(f"{base_url}/qr/{letter}/{code}.svg", timeout=30)
    assert svg.headers["Content-Type"].startswith("image/svg+xml")
    assert decode(render(svg.content, tmp_path)) == [expected]


@pytest.mark.parametrize("letter,collection,code", TARGETS)
def test_the_url_opens_the_items_page(base_url: str, conn: psycopg.Connection,
                                      letter: str, collection: str, code: str) -> None:
    # sealed adits are not public: a resident scanning the plate gets a safety notice,
    # staff the adit's page
    headers = EDITOR if collection == "mine_tunnels" else {}
    if collection == "mine_tunnels":
        notice = requests.get(f"{base_url}/q/{letter}/{code}", allow_redirects=False,
                              timeout=30)
        assert notice.status_code == 200 and code in notice.text and "禁止进入" in notice.text
    response = requests.get(f"{base_url}/q/{letter}/{code}", allow_redirects=False,
                            headers=headers, timeout=30)
    assert response.status_code == 302
    column = {"a": "address_code", "g": "gh_no", "k": "adit_no"}[letter]
    item_id = conn.execute(f"SELECT id FROM gridgeo.{collection} WHERE {column} = %s",
                           (code,)).fetchone()
    assert item_id is not None
    assert response.headers["Location"] == (
        f"{base_url}/collections/{collection}/items/{item_id[0]}?f=html")
    page = requests.get(response.headers["Location"], headers=headers, timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    html = page.content.decode("utf-8")
    assert code in html and WORKER_NAME in html and WORKER_PHONE in html


def test_the_collections_qr_payload_is_the_printed_url(base_url: str) -> None:
    expected = f"{base_url}/q/a/{ADDRESS_CODES[0]}"
    item = requests.get(f"{base_url}/collections/addresses/items",
                        params={"address_code": ADDRESS_CODES[0]},
                        headers={"Accept": "application/geo+json"}, timeout=30).json()
    assert item["features"][0]["properties"]["qr_payload"] == expected


def test_an_address_page_shows_its_grid_and_worker(base_url: str,
                                                   tmp_path: Path) -> None:
    png = requests.get(f"{base_url}/qr/a/{ADDRESS_CODES[1]}.png", timeout=30)
    (tmp_path / "code.png").write_bytes(png.content)
    [url] = decode(tmp_path / "code.png")
    page = requests.get(url, timeout=30)  # follows the redirect, like a phone
    assert page.status_code == 200
    html = page.content.decode("utf-8")
    assert WORKER_NAME in html and WORKER_PHONE in html
    assert "田野村第一网格" in html


def test_door_plate_sheet_of_a_grid(base_url: str, tmp_path: Path) -> None:
    response = requests.get(f"{base_url}/qr/plates/{UNIT}.svg", timeout=60)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    text = response.content.decode()
    assert "田野村田园路1号" in text and f"网格员：{WORKER_NAME} {WORKER_PHONE}" in text
    found = decode(render(response.content, tmp_path))
    assert found == sorted(f"{base_url}/q/a/{code}" for code in ADDRESS_CODES)


@pytest.mark.parametrize("path,status", [
    ("/q/x/123", 404), ("/q/a/0000000000000000000", 404), ("/q/a/bad%20code", 404),
    ("/qr/a/0000000000000000000.png", 404), (f"/qr/a/{ADDRESS_CODES[0]}.gif", 404),
    ("/qr/plates/999.svg", 404),
])
def test_unknown_targets_are_404s(base_url: str, path: str,
                                  status: int) -> None:
    response = requests.get(f"{base_url}{path}", allow_redirects=False, timeout=30)
    assert response.status_code == status
    assert "description" in response.json()
