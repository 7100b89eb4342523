"""The field app (/field) in real headless Chromium: a grid worker signs in, the network
goes (a proxy the test owns is cut), a door plate is scanned with the camera (a fake
camera playing a QR video; the app's JS decoder reads it) and an incident with a camera
photo is reported; the network comes back and one answer is lost after the server
committed it. Both arrive exactly once, with the time they were made."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import segno
from PIL import Image, ImageFilter
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from gridgeo.db.pool import connect
from tests.conftest import EDITOR_KEY, free_port
from tests.field_proxy import FlakyProxy

CHROMIUM = "/usr/bin/chromium"
VIDEO_SIZE = (640, 480)
WAIT_MS = 30_000
INSECURE_HOST = "field.gridgeo.test"


@dataclass(frozen=True)
class Plate:
    code: str
    payload: str
    lon: float
    lat: float


@pytest.fixture(scope="module")
def plate(demo_db_url: str) -> Plate:
    with connect(demo_db_url) as conn:
        row = conn.execute("SELECT address_code, qr_payload, ST_X(geom), ST_Y(geom)"
                           " FROM gridgeo.addresses_view ORDER BY address_code LIMIT 1"
                           ).fetchone()
    assert row is not None
    return Plate(*row)


def camera_frame(plate_png: bytes, fill: float = 0.55, turn: float = 6, blur: float = 0.8
                 ) -> Image.Image:
    """What a phone camera sees of a door plate: the server's own QR image filling `fill`
    of the frame's height, turned `turn` degrees, out of focus by `blur`, on a grey wall."""
    code = Image.open(io.BytesIO(plate_png)).convert("L")
    side = int(VIDEO_SIZE[1] * fill)
    code = code.resize((side, side), Image.Resampling.BILINEAR).rotate(
        turn, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=190)
    image = Image.new("L", VIDEO_SIZE, 190)
    image.paste(code, ((VIDEO_SIZE[0] - code.width) // 2, (VIDEO_SIZE[1] - code.height) // 2))
    return image.filter(ImageFilter.GaussianBlur(blur))


def qr_video(plate_png: bytes, path: Path) -> Path:
    """A Y4M video (what Chromium's fake camera plays) of a door plate."""
    image = camera_frame(plate_png)
    width, height = VIDEO_SIZE
    chroma = bytes([128]) * (width // 2 * height // 2 * 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F5:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(3):
            out.write(b"FRAME\n" + image.tobytes() + chroma)
    return path


@pytest.fixture(scope="module")
def plate_png(base_url: str, plate: Plate) -> bytes:
    """The door plate's QR exactly as the server renders it for printing."""
    image = requests.get(f"{base_url}/qr/a/{plate.code}.png", timeout=30)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    # A demo address's link needs a version-4 code at the plates' level M: the size the
    # vendored ZXing once failed on, so the scan below proves real plates decode.
    assert int(segno.make(plate.payload, error="m", micro=False).version) >= 4
    return image.content


@pytest.fixture(scope="module")
def proxy(base_url: str) -> Iterator[FlakyProxy]:
    flaky = FlakyProxy(free_port(), int(base_url.rsplit(":", 1)[1]))
    flaky.restore()
    yield flaky
    flaky.cut()


@pytest.fixture(scope="module")
def page(proxy: FlakyProxy, plate: Plate, plate_png: bytes,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    video = qr_video(plate_png, tmp_path_factory.mktemp("camera") / "plate.y4m")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}", "--enable-unsafe-swiftshader",
            # A name that is not localhost: plain HTTP to it is not a secure context.
            f"--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1"])
        context = browser.new_context(
            viewport={"width": 360, "height": 740}, device_scale_factor=1,
            permissions=["geolocation", "camera"], locale="zh-CN",
            geolocation={"longitude": plate.lon, "latitude": plate.lat, "accuracy": 6})
        opened = context.new_page()
        opened.set_default_timeout(WAIT_MS)
        yield opened
        browser.close()


def app_url(proxy: FlakyProxy) -> str:
    return f"http://127.0.0.1:{proxy.port}/field/"


def test_the_app_and_its_libraries_are_served(base_url: str) -> None:
    shell = requests.get(f"{base_url}/field/", timeout=30)
    assert shell.status_code == 200 and 'src="app.js"' in shell.text
    worker = requests.get(f"{base_url}/field/sw.js", timeout=30)
    assert worker.headers["Service-Worker-Allowed"] == "/field/"
    assert worker.headers["Content-Type"].startswith("text/javascript")
    manifest = requests.get(f"{base_url}/field/manifest.webmanifest", timeout=30).json()
    assert manifest["scope"] == "/field/" and manifest["icons"]
    for vendored in ("maplibre-gl/maplibre-gl.js", "zxing-library/umd/index.min.js"):
        assert requests.get(f"{base_url}/static/vendor/{vendored}", timeout=30).ok
    missing = requests.get(f"{base_url}/field/nothing.js", timeout=30)
    assert missing.status_code == 404 and "/field/" in missing.json()["description"]


def sign_in(page: Any, proxy: FlakyProxy) -> None:
    page.goto(app_url(proxy))
    page.fill("#credential", EDITOR_KEY)
    page.click("#save")
    page.wait_for_selector("body[data-ready=true]")
    # The service worker controls the page and has cached the shell and today's documents.
    page.wait_for_selector("body[data-cached=true]")


def scan_door_plate(page: Any) -> None:
    page.click("nav [data-screen=scan]")
    page.click("#camera")
    page.click("#results [data-result=ok]")  # appears once the camera's QR is decoded
    page.wait_for_function("document.querySelector('#verdict').textContent.length > 0")


def report_incident(page: Any, token: str) -> None:
    page.click("nav [data-screen=report]")
    page.wait_for_function("document.querySelector('#category').options.length > 0")
    page.fill("#description", token)
    page.click("#photo")
    page.wait_for_selector("#thumbs img")
    page.click("#submit")
    page.wait_for_function("document.querySelector('#report-status').textContent.length > 0")


def outbox(page: Any) -> list[dict[str, Any]]:
    return page.evaluate("""() => new Promise((resolve) => {
        const open = indexedDB.open('gridgeo-field', 1);
        open.onsuccess = () => {
          const all = open.result.transaction('outbox').objectStore('outbox').getAll();
          all.onsuccess = () => resolve(all.result.map((i) => ({key: i.key, kind: i.kind,
            state: i.state, body: i.body, incident_id: i.incident_id,
            message: i.message, photos_sent: i.photos_sent})));
        };
    })""")


def wait_until_sent(page: Any) -> None:
    """Tap 'send now' until the outbox is delivered (bounded: the wait's timeout)."""
    page.click("nav [data-screen=mine]")
    for _ in range(10):
        page.click("#outbox")
        try:
            page.wait_for_function("""[...document.querySelectorAll('#report-list li')]
                .filter((li) => li.dataset.state === 'sent').length === 2""", timeout=5000)
            return
        except PlaywrightTimeout:
            continue  # tap again
    raise AssertionError(f"the outbox was not delivered: {outbox(page)}")


def test_offline_scan_and_report_arrive_once_with_their_times(
        page: Any, proxy: FlakyProxy, plate: Plate, demo_db_url: str) -> None:
    sign_in(page, proxy)
    proxy.cut()
    page.reload()  # a warm start with no network: the service worker serves the app
    page.wait_for_selector("body[data-ready=true]")
    made_from = datetime.now(UTC)
    scan_door_plate(page)
    assert page.text_content("#verdict") == "已排队，联网后自动发送"
    token = f"field-app test {uuid.uuid4()}"
    report_incident(page, token)
    made_until = datetime.now(UTC)
    queued = {item["kind"]: item for item in outbox(page)}
    assert {i["state"] for i in queued.values()} == {"waiting"}
    page.wait_for_function("document.querySelector('#queued').textContent === '2'")

    proxy.lose_answer_once(b"POST /collections/incidents/items")
    proxy.restore()
    wait_until_sent(page)
    assert proxy.requests[b"POST /collections/incidents/items"] >= 2  # the lost one, again

    scan_uuid = queued["scan"]["key"]
    with connect(demo_db_url) as conn:
        scans = conn.execute(
            "SELECT target_collection, target_code, scanned_at, received_at, result,"
            " ST_X(geom), ST_Y(geom) FROM gridgeo.inspections WHERE scan_uuid = %s",
            (scan_uuid,)).fetchall()
        incidents = conn.execute(
            "SELECT id, reported_at, source, (SELECT count(*) FROM gridgeo.attachments a"
            " WHERE a.incident_id = i.id) FROM gridgeo.incidents i WHERE description = %s",
            (token,)).fetchall()
    assert len(scans) == 1, scans
    collection, code, scanned_at, received_at, result, lon, lat = scans[0]
    assert (collection, code, result) == ("addresses", plate.code, "ok")
    assert made_from <= scanned_at <= made_until < received_at  # made offline, sent later
    assert (round(lon, 6), round(lat, 6)) == (round(plate.lon, 6), round(plate.lat, 6))
    assert len(incidents) == 1, incidents
    incident_id, reported_at, source, photos = incidents[0]
    assert made_from <= reported_at <= made_until and source == "grid_worker"
    delivered = {item["kind"]: item for item in outbox(page)}
    assert photos == 1 and str(delivered["incident"]["incident_id"]) == str(incident_id)
    page.click("nav [data-screen=scan]")  # the scan's verdict, now the server's
    page.wait_for_function("document.querySelector('#verdict').textContent.startsWith('已记录')")

    # A category withdrawn since the phone cached the list: the server refuses the report,
    # the item keeps the server's sentence, nothing is written.
    refused = f"field-app test {uuid.uuid4()}"
    page.click("nav [data-screen=report]")
    page.evaluate("document.querySelector('#category').options[0].value = 'withdrawn'")
    page.fill("#description", refused)
    page.click("#submit")
    page.click("nav [data-screen=mine]")
    reason = page.wait_for_selector("#report-list li[data-state=refused] .message")
    assert reason.text_content() == "a referenced item does not exist."
    with connect(demo_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM gridgeo.incidents WHERE description = %s",
                            (refused,)).fetchone() == (0,)


def test_a_photo_from_the_gallery_is_sent_as_it_is(
        page: Any, plate_png: bytes, demo_db_url: str) -> None:
    """The file picker (the phone's camera app or gallery): the picked file itself is
    uploaded, not a canvas re-encoding of it (its EXIF time and place would be lost)."""
    picked = io.BytesIO()
    camera_frame(plate_png).save(picked, format="PNG")
    token = f"field-app test {uuid.uuid4()}"
    page.click("nav [data-screen=report]")
    page.wait_for_function("document.querySelector('#category').options.length > 0")
    page.select_option("#category", index=1)  # the first was withdrawn by the test before
    page.fill("#description", token)
    page.set_input_files("#photo-file", files=[
        {"name": "IMG_0001.png", "mimeType": "image/png", "buffer": picked.getvalue()}])
    page.wait_for_selector("#thumbs img")
    page.click("#submit")
    try:
        page.wait_for_function("document.querySelector('#report-status').textContent"
                               " === '已记录'")
    except PlaywrightTimeout:
        raise AssertionError(f"not delivered: {page.text_content('#report-status')} "
                             f"{[i for i in outbox(page) if i['state'] != 'sent']}") from None
    with connect(demo_db_url) as conn:
        photos = conn.execute(
            "SELECT a.media_type, a.sha256 FROM gridgeo.attachments a JOIN gridgeo.incidents i"
            " ON i.id = a.incident_id WHERE i.description = %s", (token,)).fetchall()
    assert photos == [("image/png", hashlib.sha256(picked.getvalue()).hexdigest())]


def test_over_plain_http_the_app_says_it_needs_https(page: Any, proxy: FlakyProxy) -> None:
    page.goto(f"http://{INSECURE_HOST}:{proxy.port}/field/")
    warning = page.wait_for_selector("#insecure", state="visible")
    assert "HTTPS" in warning.text_content()
    assert page.evaluate("window.isSecureContext") is False
