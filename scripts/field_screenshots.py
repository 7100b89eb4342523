"""Screenshots of the field app's main screens at 360×740 (docs/field-app/*.png), and its
page weight and start times measured in the same headless Chromium: the first load (cold
caches, sign-in to Today) and a warm start with the network cut (the service worker
serves the app).

Needs a running server on the demo town and a grid worker's API key, e.g.
  GRIDGEO_API_KEYS='{"demo-worker-key": {"role": "grid_worker", "staff_no": "410399101W001"}}' \\
    .venv/bin/gridgeo serve --background
  .venv/bin/python scripts/field_screenshots.py --server http://127.0.0.1:5000 --key demo-worker-key

The browser reaches the server through the tests' cuttable proxy (tests/field_proxy.py)
and its fake camera plays a QR video of a door plate in the worker's first grid.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import free_port  # noqa: E402
from tests.field_proxy import FlakyProxy  # noqa: E402
from tests.test_field_app import CHROMIUM, qr_video  # noqa: E402

OUT = ROOT / "docs" / "field-app"


def door_plate(server: str, key: str) -> tuple[bytes, float, float]:
    """The QR image the server prints (PNG), longitude and latitude of a door plate in the
    worker's first grid."""
    auth = {"Authorization": f"Bearer {key}"}
    grid = requests.get(f"{server}/me", headers=auth, timeout=30).json()["grids"][0]["code"]
    plate = requests.get(f"{server}/collections/addresses/items", headers=auth, timeout=30,
                         params={"grid_code": grid, "limit": 1, "f": "json"}).json()
    feature = plate["features"][0]
    lon, lat = feature["geometry"]["coordinates"]
    code = feature["properties"]["address_code"]
    image = requests.get(f"{server}/qr/a/{code}.png", timeout=30)
    image.raise_for_status()
    return image.content, lon, lat


def plan_today(server: str, key: str) -> None:
    """A route for today through the worker's first grid, unless they have one (the
    patrol-route process, as the worker)."""
    auth = {"Authorization": f"Bearer {key}"}
    today = requests.get(f"{server}/me/today", headers=auth, timeout=30).json()
    if today["routes"]:
        return
    grid = today["grids"]["features"][0]["properties"]["code"]
    requests.post(f"{server}/processes/patrol-route/execution", headers=auth, timeout=300,
                  json={"inputs": {"area": {"grids": [grid]}, "time_limit_s": 2,
                                   "targets": ["greenhouses", "incidents"]}}
                  ).raise_for_status()


def page_weight(page: Any) -> dict[str, int]:
    return page.evaluate("""() => {
        const all = [...performance.getEntriesByType('navigation'),
                     ...performance.getEntriesByType('resource')];
        const sum = (f) => all.reduce((n, e) => n + (e[f] || 0), 0);
        return {requests: all.length, transferred: sum('transferSize'),
                decoded: sum('decodedBodySize')};
    }""")


def shoot(page: Any, name: str) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"))


def run(server: str, key: str) -> None:
    plate_png, lon, lat = door_plate(server, key)
    plan_today(server, key)
    proxy = FlakyProxy(free_port(), int(server.rsplit(":", 1)[1]))
    proxy.restore()
    from playwright.sync_api import sync_playwright

    video = qr_video(plate_png, Path(tempfile.mkdtemp()) / "plate.y4m")
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}", "--enable-unsafe-swiftshader"])
        context = browser.new_context(
            viewport={"width": 360, "height": 740}, permissions=["geolocation", "camera"],
            geolocation={"longitude": lon, "latitude": lat, "accuracy": 6}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(60_000)
        started = time.monotonic()
        page.goto(f"http://127.0.0.1:{proxy.port}/field/")
        page.wait_for_selector("#credential")
        shell_s = time.monotonic() - started
        shoot(page, "signin")
        page.fill("#credential", key)
        page.click("#save")
        page.wait_for_selector("body[data-ready=true]")
        first_s = time.monotonic() - started
        weight = page_weight(page)
        page.wait_for_selector("body[data-cached=true]")
        page.wait_for_timeout(1500)  # the map's tiles and markers
        shoot(page, "today")
        page.click("nav [data-screen=map]")
        page.wait_for_timeout(3000)
        shoot(page, "map")
        page.click("nav [data-screen=scan]")
        page.click("#camera")
        page.wait_for_selector("#results [data-result=ok]")
        shoot(page, "scan")
        page.click("#results [data-result=ok]")
        page.wait_for_selector("#verdict.ok, #verdict.flagged")  # the server's verdict
        shoot(page, "scan-verdict")
        page.click("nav [data-screen=report]")
        page.fill("#description", "路灯不亮 (screenshot)")
        page.click("#photo")
        page.wait_for_selector("#thumbs img")
        page.wait_for_timeout(1000)
        shoot(page, "report")
        page.click("#submit")
        page.wait_for_function("document.querySelector('#report-status').textContent.length > 0")

        proxy.cut()
        started = time.monotonic()
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        warm_s = time.monotonic() - started
        page.click("nav [data-screen=mine]")
        page.wait_for_timeout(500)
        shoot(page, "mine")
        browser.close()
    print(f"shell shown (cold): {shell_s:.2f} s; first load to Today: {first_s:.2f} s; "
          f"{weight['requests']} requests, {weight['transferred'] / 1024:.0f} KiB transferred, "
          f"{weight['decoded'] / 1024:.0f} KiB decoded")
    print(f"warm start offline to Today: {warm_s:.2f} s; screenshots in {OUT}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="http://127.0.0.1:5000")
    parser.add_argument("--key", required=True, help="a grid worker's API key")
    args = parser.parse_args()
    run(args.server.rstrip("/"), args.key)


if __name__ == "__main__":
    main()
