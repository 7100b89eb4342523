"""Attachments: photos and PDFs on incidents and inspections, checked by content, kept
as evidence by hash, served under the item's access rules, never left half-stored."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from gridgeo.db.pool import connect
from tests.conftest import EDITOR, ROLE_KEYS
from tests.test_security import token

VIEWER = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'viewer')}"}
ADMIN = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'admin')}"}
LIMIT = 30 * 1024 * 1024
GPS_IFD, EXIF_IFD = 0x8825, 0x8769


@dataclass(frozen=True)
class Case:
    id: int
    lon: float
    lat: float
    reported_local: datetime  # the deployment's wall clock, as a camera writes it
    category: str
    grid_code: str

    def url(self, base_url: str, collection: str = "incidents") -> str:
        return f"{base_url}/collections/{collection}/items/{self.id}/attachments"


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4)


def photo(lon: float | None = None, lat: float | None = None, taken: datetime | None = None,
          fmt: str = "JPEG", size: tuple[int, int] = (800, 600)) -> bytes:
    """A real image made here, with EXIF time and GPS when given."""
    image = Image.new("RGB", size, (40, 120, 60))
    image.paste((200, 40, 40), (100, 100, 300, 250))
    exif = Image.Exif()
    if taken is not None:
        exif[0x0132] = taken.strftime("%Y:%m:%d %H:%M:%S")
        exif.get_ifd(EXIF_IFD)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    if lon is not None and lat is not None:
        gps = exif.get_ifd(GPS_IFD)
        gps.update({1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon)})
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    out = io.BytesIO()
    image.save(out, fmt, exif=exif)
    return out.getvalue()


def pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages"
            b"/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def gps_of(data: bytes) -> dict[int, Any]:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    return dict(Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD))


def upload(url: str, data: bytes, headers: dict[str, str] = EDITOR, name: str = "photo.jpg",
           declared: str = "image/jpeg", **fields: str) -> requests.Response:
    return requests.post(url, files={"file": (name, data, declared)}, data=fields,
                         headers=headers, timeout=60)


@pytest.fixture(scope="module")
def case(base_url: str, demo_db_url: str) -> Case:
    """A new incident in the demo town, at an existing incident's place and category."""
    with connect(demo_db_url) as conn:
        lon, lat, category = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom), category_code FROM gridgeo.incidents"
            " WHERE grid_code IS NOT NULL ORDER BY id LIMIT 1").fetchone()  # type: ignore[misc]
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
               "properties": {"category_code": category, "title": "占道堆物",
                              "source": "grid_worker"}}
    response = requests.post(f"{base_url}/collections/incidents/items", json=feature,
                             headers=EDITOR, timeout=30)
    assert response.status_code == 201, response.text
    item = int(response.json()["id"])
    with connect(demo_db_url) as conn:
        reported, grid = conn.execute(
            "SELECT reported_at AT TIME ZONE gridgeo.local_tz(), grid_code"
            " FROM gridgeo.incidents WHERE id = %s", (item,)).fetchone()  # type: ignore[misc]
    return Case(item, lon, lat, reported, category, grid)


def stored_blobs(base: Path) -> set[str]:
    return {p.name for p in base.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def store(base_url: str, case: Case, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's attachment folder, found by the first upload's hash."""
    data = photo(case.lon, case.lat, case.reported_local + timedelta(hours=1))
    response = upload(case.url(base_url), data, stage="处置前", title="现场照片")
    assert response.status_code == 201, response.text
    digest = hashlib.sha256(data).hexdigest()
    homes = tmp_path_factory.getbasetemp().glob("server-home*/data/attachments")
    return next(h for h in homes if (h / digest[:2] / digest[2:4] / digest).is_file())


def assert_nothing_left_behind(store: Path, demo_db_url: str) -> None:
    """Every blob belongs to a row, every row has its blobs, no temporary file remains."""
    with connect(demo_db_url) as conn:
        rows = conn.execute("SELECT sha256, has_thumbnail FROM gridgeo.attachments"
                            " WHERE uploaded_by <> 'in-process'").fetchall()
    expected = {k for sha, thumb in rows
                for k in (sha, f"{sha}.public", *([f"{sha}.thumbnail"] if thumb else []))}
    assert stored_blobs(store) == expected


# ------------------------------------------------------------------ uploads that succeed


def test_a_photo_with_gps_is_kept_whole_and_served_by_role(
        base_url: str, case: Case, store: Path, demo_db_url: str) -> None:
    original = photo(case.lon, case.lat, case.reported_local + timedelta(hours=1))
    digest = hashlib.sha256(original).hexdigest()
    again = upload(case.url(base_url), original, stage="处置前", title="现场照片")
    assert again.status_code == 200  # the same bytes on the same item: the first upload
    body = again.json()
    assert body["sha256"] == digest and body["type"] == "image/jpeg"
    assert body["stage"] == "before" and body["title"] == "现场照片"
    assert body["flagged"] is False and body["distance_m"] < 1
    assert body["position"] == pytest.approx([case.lon, case.lat], abs=1e-5)
    assert body["length"] == len(original) and body["width"] == 800
    assert again.headers["Location"] == body["href"]

    item = requests.get(f"{base_url}/collections/incidents/items/{case.id}", headers=VIEWER,
                        timeout=30).json()
    enclosures = [link for link in item["links"] if link["rel"] == "enclosure"]
    assert [e["href"] for e in enclosures] == [body["href"]]
    assert enclosures[0]["title"] == "现场照片" and enclosures[0]["type"] == "image/jpeg"
    # The thumbnail is the photo's preview: what a list or a map pop-up shows.
    previews = [link for link in item["links"] if link["rel"] == "preview"]
    assert [p["href"] for p in previews] == [body["thumbnail"]]

    seen = requests.get(case.url(base_url), headers=VIEWER, timeout=30).json()["attachments"]
    assert len(seen) == 1 and "position" not in seen[0] and "uploaded_by" not in seen[0]
    public = requests.get(body["href"], headers=VIEWER, timeout=30)
    assert public.status_code == 200 and public.headers["Content-Type"] == "image/jpeg"
    assert public.content != original and gps_of(public.content) == {}
    assert len(public.content) == seen[0]["length"] == enclosures[0]["length"]
    assert Image.open(io.BytesIO(public.content)).size == (800, 600)

    evidence = requests.get(f"{case.url(base_url)}/{digest}", headers=ADMIN, timeout=30)
    assert evidence.content == original and hashlib.sha256(evidence.content).hexdigest() == digest
    assert gps_of(evidence.content)[2][0] == int(case.lat)
    thumb = requests.get(body["thumbnail"], headers=VIEWER, timeout=30)
    assert thumb.headers["Content-Type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) == 320
    assert_nothing_left_behind(store, demo_db_url)


def test_a_photo_far_away_and_a_week_early_is_flagged_raw_body(
        base_url: str, case: Case, store: Path) -> None:
    data = photo(case.lon + 0.03, case.lat, case.reported_local - timedelta(days=7))
    response = requests.post(case.url(base_url), data=data, params={"stage": "after"},
                             headers={**EDITOR, "Content-Type": "image/jpeg"}, timeout=30)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["flagged"] is True and body["stage"] == "after"
    assert 2500 < body["distance_m"] < 3500
    assert "km from the place" in body["flag_reason"] and "168 h before" in body["flag_reason"]
    plain = requests.post(case.url(base_url), data=photo(size=(320, 200)), timeout=30,
                          headers={**EDITOR, "Content-Type": "application/octet-stream"})
    assert plain.status_code == 201 and plain.json()["flagged"] is False
    assert plain.json()["taken_at"] is None and plain.json()["position"] is None


def test_type_is_read_from_the_content_png_named_jpg_heic_and_pdf(
        base_url: str, case: Case, store: Path, demo_db_url: str) -> None:
    png = upload(case.url(base_url), photo(fmt="PNG", size=(300, 200)), name="renamed.jpg")
    assert png.status_code == 201 and png.json()["type"] == "image/png", png.text
    assert requests.get(png.json()["href"], headers=VIEWER,
                        timeout=30).headers["Content-Type"] == "image/png"
    original = photo(case.lon, case.lat, case.reported_local, fmt="HEIF", size=(400, 300))
    heic = upload(case.url(base_url), original, name="IMG_0001.HEIC", declared="image/heic")
    assert heic.status_code == 201, heic.text
    assert heic.json()["type"] == "image/heic" and heic.json()["position"] is not None
    admin = requests.get(heic.json()["href"], headers=ADMIN, timeout=30)
    assert admin.headers["Content-Type"] == "image/heic" and admin.content == original
    viewer = requests.get(heic.json()["href"], headers=VIEWER, timeout=30)
    assert viewer.headers["Content-Type"] == "image/jpeg" and gps_of(viewer.content) == {}
    document = upload(case.url(base_url), pdf(), name="处置报告.pdf", declared="application/pdf")
    assert document.status_code == 201 and document.json()["thumbnail"] is None
    assert requests.get(document.json()["href"], headers=VIEWER, timeout=30).content == pdf()
    missing = requests.get(f"{document.json()['href']}/thumbnail", headers=VIEWER, timeout=30)
    assert missing.status_code == 404 and "only photos" in missing.json()["description"]
    assert_nothing_left_behind(store, demo_db_url)


def test_a_phone_photo_above_the_json_body_limit_is_taken(
        base_url: str, case: Case, store: Path) -> None:
    noise = random.Random(7).randbytes(1500 * 1100 * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (1500, 1100), noise).save(out, "JPEG", quality=100, subsampling=0)
    assert len(out.getvalue()) > 5 * 1024 * 1024  # over GRIDGEO_MAX_BODY_BYTES
    response = upload(case.url(base_url), out.getvalue(), name="IMG_2041.JPG")
    assert response.status_code == 201, response.text
    assert response.json()["length"] == len(out.getvalue())


def test_a_retried_upload_with_its_idempotency_key_gets_the_first_answer(
        base_url: str, case: Case, store: Path, demo_db_url: str) -> None:
    keyed = {**EDITOR, "Idempotency-Key": f"upload-{case.id}-1"}
    first = upload(case.url(base_url), photo(size=(120, 90)), headers=keyed, stage="after")
    assert first.status_code == 201, first.text
    retry = upload(case.url(base_url), photo(size=(120, 90)), headers=keyed, stage="after")
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    other = upload(case.url(base_url), photo(size=(121, 90)), headers=keyed, stage="after")
    assert other.status_code == 422, other.text
    assert_nothing_left_behind(store, demo_db_url)


def test_photos_are_listed_with_their_thumbnails_for_lists_and_maps(
        base_url: str, case: Case, store: Path, demo_db_url: str) -> None:
    with connect(demo_db_url) as conn:
        photos = [r[0] for r in conn.execute(
            "SELECT id FROM gridgeo.attachments WHERE incident_id = %s AND has_thumbnail"
            " ORDER BY id", (case.id,))]
    assert photos  # the store fixture's photo at least
    for headers in (VIEWER, {}):  # staff, and the public (the incident is public)
        listed = requests.get(f"{base_url}/collections/photos/items", headers=headers,
                              params={"collection": "incidents", "item_id": str(case.id),
                                      "f": "json"}, timeout=30)
        assert listed.status_code == 200, listed.text
        features = listed.json()["features"]
        assert [f["id"] for f in features] == photos
        first = features[0]["properties"]
        assert first["thumbnail"] == f"/collections/incidents/items/{case.id}/attachments/" \
                                     f"{photos[0]}/thumbnail"
        thumb = requests.get(base_url + first["thumbnail"], headers=headers, timeout=30)
        assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"
        place = features[0]["geometry"]["coordinates"]
        if headers:  # staff see the case's own place, the public its 1 km cell's centre
            assert place == pytest.approx([case.lon, case.lat], abs=1e-6)
        else:
            assert place != pytest.approx([case.lon, case.lat], abs=1e-6)
            assert place == pytest.approx([case.lon, case.lat], abs=0.01)


def test_an_inspection_takes_photos_checked_against_its_scan(
        base_url: str, store: Path, demo_db_url: str) -> None:
    with connect(demo_db_url) as conn:  # a door-plate scan (it moves no due list)
        code, lon, lat = conn.execute("SELECT address_code, ST_X(geom), ST_Y(geom) FROM"
                                      " gridgeo.addresses ORDER BY id LIMIT 1").fetchone()  # type: ignore[misc]
        scan, scanned = conn.execute(
            "INSERT INTO gridgeo.inspections (scan_uuid, target_collection, target_code,"
            " scanned_at, result, geom) VALUES (gen_random_uuid(), 'addresses', %s,"
            " now() - interval '1 hour', 'ok', ST_SetSRID(ST_MakePoint(%s, %s), 4490))"
            " RETURNING id, scanned_at AT TIME ZONE gridgeo.local_tz()",
            (code, lon, lat)).fetchone()  # type: ignore[misc]
        conn.commit()
    url = f"{base_url}/collections/inspections/items/{scan}/attachments"
    near = upload(url, photo(lon, lat, scanned))
    assert near.status_code == 201, near.text
    assert near.json()["flagged"] is False and near.json()["distance_m"] < 1
    far = upload(url, photo(lon + 0.03, lat, scanned - timedelta(days=3)), title="补拍")
    assert far.status_code == 201 and far.json()["flagged"] is True
    assert "72 h before the scan was made" in far.json()["flag_reason"]
    seen = requests.get(url, headers=VIEWER, timeout=30).json()["attachments"]
    assert len(seen) == 2 and all("position" not in a for a in seen)
    assert requests.get(url, timeout=30).status_code == 404  # inspections are not public
    assert_nothing_left_behind(store, demo_db_url)


# ------------------------------------------------------------------ refusals


def test_refusals_say_what_to_fix_and_store_nothing(
        base_url: str, case: Case, store: Path, demo_db_url: str) -> None:
    url = case.url(base_url)
    with connect(demo_db_url) as conn:
        before = conn.execute("SELECT count(*) FROM gridgeo.attachments").fetchone()
    whole = photo(case.lon, case.lat, size=(640, 480))
    refusals: list[tuple[requests.Response, int, str]] = [
        (upload(url, whole[: len(whole) // 2]), 400, "does not decode"),
        (upload(url, b"#!/bin/sh\necho hi\n", name="photo.jpg"), 415, "none of the accepted"),
        (upload(url, pdf()[:-7], name="a.pdf"), 400, "cut short"),
        (upload(url, b""), 400, "empty"),
        (upload(url, whole, stage="later"), 400, "before (处置前) or after"),
        (requests.post(url, data=b"x" * (LIMIT + 1024), timeout=60,
                       headers={**EDITOR, "Content-Type": "image/jpeg"}), 413, "31,457,280"),
        (upload(url, b"\xff\xd8\xff" + b"x" * LIMIT), 413, "(30 MiB)"),
        (upload(url, whole, headers={}), 401, "credentials"),
        (upload(url, whole, headers=VIEWER), 403, "may not write"),
        (upload(f"{base_url}/collections/incidents/items/99999999/attachments", whole),
         404, "No item"),
        (upload(f"{base_url}/collections/grids/items/1/attachments", whole), 404, "take no"),
    ]
    for response, status, sentence in refusals:
        assert response.status_code == status, response.text
        assert sentence in response.json()["description"], response.text
    with connect(demo_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM gridgeo.attachments").fetchone() == before
    assert_nothing_left_behind(store, demo_db_url)


def test_attachments_follow_the_items_row_scope(
        base_url: str, case: Case, store: Path, demo_db_url: str) -> None:
    with connect(demo_db_url) as conn:
        inside, outside = (conn.execute(
            "SELECT s.staff_no FROM gridgeo.staff s WHERE s.active AND EXISTS (SELECT 1 FROM"
            " gridgeo.grid_assignments a WHERE a.staff_id = s.id) AND"
            f" {verb} (SELECT 1 FROM gridgeo.grid_assignments a WHERE a.staff_id = s.id"
            " AND a.grid_code = %s) ORDER BY s.staff_no LIMIT 1",
            (case.grid_code,)).fetchone()[0]  # type: ignore[index]
            for verb in ("EXISTS", "NOT EXISTS"))
    own = token("w-in", ("grid_worker",), staff_no=inside)
    other = token("w-out", ("grid_worker",), staff_no=outside)
    listing = requests.get(case.url(base_url), headers=own, timeout=30)
    assert listing.status_code == 200 and "position" in listing.json()["attachments"][0]
    assert requests.get(case.url(base_url), headers=other, timeout=30).status_code == 404
    href = listing.json()["attachments"][0]["href"]
    assert requests.get(href, headers=other, timeout=30).status_code == 404
    refused = upload(case.url(base_url), photo(size=(64, 64)), headers=other)
    assert refused.status_code == 404
    assert upload(case.url(base_url), photo(size=(64, 65)), headers=own).status_code == 201
    assert_nothing_left_behind(store, demo_db_url)


# ------------------------------------------------------------------ the case's handling


def _set_requires_after_photo(demo_db_url: str, category: str, value: bool) -> None:
    with connect(demo_db_url) as conn:
        conn.execute("UPDATE gridgeo.incident_categories SET requires_after_photo = %s"
                     " WHERE code = %s", (value, category))
        conn.commit()


def _move(base_url: str, item: int, state: str, **more: str) -> requests.Response:
    url = f"{base_url}/collections/incidents/items/{item}"
    tag = requests.get(url, headers=EDITOR, timeout=30).headers["ETag"]
    return requests.patch(url, json={"properties": {"state": state, **more}}, timeout=30,
                          headers={**EDITOR, "If-Match": tag})


def test_a_category_can_require_an_after_photo_before_resolving(
        base_url: str, case: Case, demo_db_url: str) -> None:
    created = requests.post(f"{base_url}/collections/incidents/items", timeout=30, json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [case.lon, case.lat]},
        "properties": {"category_code": case.category, "title": "井盖缺失",
                       "source": "grid_worker"}}, headers=EDITOR)
    item = int(created.json()["id"])
    with connect(demo_db_url) as conn:
        department = conn.execute("SELECT min(code) FROM gridgeo.departments").fetchone()[0]  # type: ignore[index]
    assert _move(base_url, item, "accepted").status_code == 200
    assert _move(base_url, item, "dispatched", department_code=department).status_code == 200
    assert _move(base_url, item, "in_progress").status_code == 200
    url = f"{base_url}/collections/incidents/items/{item}/attachments"
    assert upload(url, photo(size=(90, 90)), stage="before").status_code == 201
    _set_requires_after_photo(demo_db_url, case.category, True)
    try:
        refused = _move(base_url, item, "resolved")
        assert refused.status_code == 409, refused.text
        assert "处置后" in refused.json()["description"]
        assert "stage=after" in refused.json()["description"]
        assert upload(url, photo(size=(91, 90)), stage="处置后").status_code == 201
        assert _move(base_url, item, "resolved").status_code == 200
    finally:
        _set_requires_after_photo(demo_db_url, case.category, False)


# ------------------------------------------------------------------ Open311


def test_open311_keeps_media_url_and_takes_a_media_upload(
        base_url: str, case: Case, store: Path, demo_db_url: str) -> None:
    form = {"service_code": case.category, "lat": str(case.lat), "long": str(case.lon),
            "description": "路灯不亮", "media_url": "https://hotline.example/p/1.jpg"}
    image = photo(case.lon, case.lat, datetime.now() - timedelta(minutes=5))
    response = requests.post(f"{base_url}/open311/v2/requests.json", data=form, timeout=30,
                             files={"media": ("call.jpg", image, "image/jpeg")}, headers=EDITOR)
    assert response.status_code == 201, response.text
    case_no = response.json()[0]["service_request_id"]
    status = requests.get(f"{base_url}/open311/v2/requests/{case_no}.json", timeout=30).json()
    assert status[0]["media_url"] is None  # the public answer has no photo link
    status = requests.get(f"{base_url}/open311/v2/requests/{case_no}.json", headers=ADMIN,
                          timeout=30).json()
    assert status[0]["media_url"] == form["media_url"]
    with connect(demo_db_url) as conn:
        item, count = conn.execute(
            "SELECT id, (SELECT count(*) FROM gridgeo.incidents)"
            " FROM gridgeo.incidents WHERE case_no = %s", (case_no,)).fetchone()  # type: ignore[misc]
    def related(headers: dict[str, str]) -> list[str]:
        links = requests.get(f"{base_url}/collections/incidents/items/{item}", headers=headers,
                             timeout=30).json()["links"]
        return [link["href"] for link in links if link["rel"] == "related"]

    # Kept on the item too: a link for roles that see personal data, none for a viewer.
    assert related(ADMIN) == [form["media_url"]] and related(VIEWER) == []
    listed = requests.get(f"{base_url}/collections/incidents/items/{item}/attachments",
                          headers=ADMIN, timeout=30).json()["attachments"]
    assert [a["sha256"] for a in listed] == [hashlib.sha256(image).hexdigest()]
    broken = requests.post(f"{base_url}/open311/v2/requests.json", data=form, timeout=30,
                           files={"media": ("call.jpg", image[:900], "image/jpeg")},
                           headers=EDITOR)
    assert broken.status_code == 400 and "does not decode" in broken.json()["description"]
    with connect(demo_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM gridgeo.incidents").fetchone() == (count,)
    assert_nothing_left_behind(store, demo_db_url)


# ------------------------------------------------------------------ the unit of work


class MemoryStore:
    """A complete attachment store in a dict, offered by a plugin through the hook."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        self.blobs.setdefault(key, data)

    def get(self, key: str) -> bytes | None:
        return self.blobs.get(key)

    def delete(self, key: str) -> None:
        self.blobs.pop(key, None)


@pytest.fixture()
def memory_store(demo_db_url: str) -> Iterator[MemoryStore]:
    """A plugin's store, registered on the process's plugin manager for one test."""
    from gridgeo import hookimpl
    from gridgeo.identity import Identity, reset_identity, set_identity
    from gridgeo.plugins import get_plugin_manager
    from gridgeo.storage import get_store

    memory = MemoryStore()

    class MemoryPlugin:
        @hookimpl
        def gridgeo_attachment_store(self, settings: object) -> MemoryStore:
            return memory

    pm = get_plugin_manager()
    pm.register(MemoryPlugin(), name="memory-store")
    get_store.cache_clear()
    identity = set_identity(Identity("in-process", frozenset({"admin"})))
    try:
        assert get_store() is memory
        yield memory
    finally:
        reset_identity(identity)
        pm.unregister(name="memory-store")
        get_store.cache_clear()


def _attach_in_process(item: int, data: bytes, fail: bool) -> None:
    from gridgeo_plugins.attachments.media import prepare
    from gridgeo_plugins.attachments.records import ATTACHABLE
    from gridgeo_plugins.attachments.routes import attach
    from gridgeo_plugins.attachments.unit import placements

    from gridgeo.db.pool import connection

    with placements() as placed, connection() as conn:
        attach(conn, placed, ATTACHABLE["incidents"], item, prepare(data), None, None)
        if fail:
            raise RuntimeError("a later step of the same transaction failed")


def test_a_rolled_back_upload_leaves_no_blob_unless_a_committed_row_shares_it(
        memory_store: MemoryStore, case: Case, demo_db_url: str) -> None:
    data = photo(size=(70, 70))
    digest = hashlib.sha256(data).hexdigest()
    with pytest.raises(RuntimeError):
        _attach_in_process(case.id, data, fail=True)
    assert memory_store.blobs == {}
    with connect(demo_db_url) as conn:
        other = conn.execute("SELECT min(id) FROM gridgeo.incidents").fetchone()[0]  # type: ignore[index]
    try:
        _attach_in_process(other, data, fail=False)
        assert set(memory_store.blobs) == {digest, f"{digest}.public", f"{digest}.thumbnail"}
        with pytest.raises(RuntimeError):
            _attach_in_process(case.id, data, fail=True)
        # The same bytes are another item's committed evidence: they stay.
        assert set(memory_store.blobs) == {digest, f"{digest}.public", f"{digest}.thumbnail"}
    finally:
        with connect(demo_db_url) as conn:
            conn.execute("DELETE FROM gridgeo.attachments WHERE uploaded_by = 'in-process'")
            conn.commit()


# ------------------------------------------------------------------ the sweep


def test_the_sweep_removes_files_without_rows_and_reports_rows_without_files(
        base_url: str, case: Case, store: Path, demo_db_url: str) -> None:
    """After a crash between placing and committing (a file no row names) and a restore
    without the files (a row whose file is gone): the daily sweep finds both."""
    from gridgeo_plugins.attachments.sweep import sweep

    from gridgeo.plugins import build_plugin_manager
    from gridgeo.storage import FileStore

    tasks = {t.name for b in build_plugin_manager(load_entry_points=False).hook
             .gridgeo_scheduled_tasks() for t in b}
    assert "attachments-sweep" in tasks
    files = FileStore(store)
    crashed = hashlib.sha256(b"placed, never committed").hexdigest()
    files.put(crashed, photo(size=(30, 30)))
    files.put(f"{crashed}.public", photo(size=(30, 30)))
    restored = hashlib.sha256(b"a row restored without its file").hexdigest()
    with connect(demo_db_url) as conn:
        lost = conn.execute(
            "INSERT INTO gridgeo.attachments (incident_id, sha256, media_type, length,"
            " public_type, public_length, has_thumbnail, uploaded_by) VALUES (%s, %s,"
            " 'image/jpeg', 10, 'image/jpeg', 10, false, 'sweep-test') RETURNING id",
            (case.id, restored)).fetchone()[0]  # type: ignore[index]
        conn.commit()
        try:
            report = sweep(conn, files)
            conn.commit()
            assert report.rows_without_files == [lost]
            assert sorted(report.files_removed) == [crashed, f"{crashed}.public"]
            assert str(report) == (f"1 attachment row(s) without their file: {lost}; restore"
                                   " the files from a backup; 2 file(s) without a row removed.")
        finally:
            conn.execute("DELETE FROM gridgeo.attachments WHERE uploaded_by = 'sweep-test'")
            conn.commit()
        assert str(sweep(conn, files)) == ("every attachment row has its files and every "
                                           "file its row.")
    assert crashed not in stored_blobs(store)
    assert_nothing_left_behind(store, demo_db_url)


def test_the_routes_are_in_the_openapi_document(base_url: str) -> None:
    paths = requests.get(f"{base_url}/openapi", params={"f": "json"}, headers=EDITOR,
                         timeout=60).json()["paths"]
    base = "/collections/incidents/items/{itemId}/attachments"
    assert "multipart/form-data" in paths[base]["post"]["requestBody"]["content"]
    assert "413" in paths[base]["post"]["responses"]
    assert {f"{base}/{{attachmentId}}", f"{base}/{{attachmentId}}/thumbnail",
            "/collections/inspections/items/{itemId}/attachments"} <= set(paths)
