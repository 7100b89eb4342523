"""The town's reports (周报 / 月报 / 季报) on the demo town, through the running server.

One weekly report is made by the ``town-report`` process, and its one PDF rendered, for
the whole module; its numbers are checked against hand-written SQL, the PDF with
pdftotext and pdffonts, the XLSX with openpyxl.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
import requests
from openpyxl import load_workbook

from gridgeo.db.pool import connect
from tests.conftest import ROLE_KEYS
from tests.test_attachments import MemoryStore

ADMIN = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'admin')}"}
VIEWER = {"Authorization": f"Bearer {next(k for k, r in ROLE_KEYS.items() if r == 'viewer')}"}
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _execute(base_url: str, inputs: dict[str, Any], headers: dict[str, str]
             ) -> requests.Response:
    return requests.post(f"{base_url}/processes/town-report/execution",
                         json={"inputs": inputs}, headers=headers, timeout=120)


def _link(report: dict[str, Any], fmt: str) -> str:
    return next(link["href"] for link in report["links"] if link.get("title") == fmt.upper())


@pytest.fixture(scope="module")
def week(demo_db_url: str) -> tuple[str, date]:
    """The ISO week with the most demo incidents, and its Monday."""
    with connect(demo_db_url) as conn:
        monday = conn.execute(
            "SELECT date_trunc('week', reported_at AT TIME ZONE 'Asia/Shanghai')::date AS d"
            " FROM gridgeo.incidents GROUP BY d ORDER BY count(*) DESC, d LIMIT 1"
        ).fetchone()[0]  # type: ignore[index]
    year, number, _ = monday.isocalendar()
    return f"{year}-W{number:02d}", monday


@pytest.fixture(scope="module")
def weekly(base_url: str, week: tuple[str, date]) -> dict[str, Any]:
    answer = _execute(base_url, {"period": week[0]}, ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["stored"] is True and body["kind"] == "weekly"
    return body["report"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def pdf(weekly: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The suite's one rendered PDF."""
    answer = requests.get(_link(weekly, "pdf"), headers=ADMIN, timeout=120)
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF-")
    path = tmp_path_factory.mktemp("report") / "weekly.pdf"
    path.write_bytes(answer.content)
    return path


def _database_totals(conn: psycopg.Connection, monday: date) -> dict[str, int]:
    """Independent of the report's query: the incidents table itself, by state."""
    start = datetime(monday.year, monday.month, monday.day, tzinfo=SHANGHAI)
    row = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE state IN ('resolved', 'verified', 'closed')),"
        " count(*) FILTER (WHERE state IN ('invalid', 'duplicate'))"
        " FROM gridgeo.incidents WHERE reported_at >= %s AND reported_at < %s",
        (start, start + timedelta(days=7))).fetchone()
    assert row is not None
    accepted, resolved, invalid = row
    return {"accepted": accepted, "resolved": resolved, "invalid": invalid,
            "in_progress": accepted - resolved - invalid}


def test_weekly_totals_match_the_database(weekly: dict[str, Any], week: tuple[str, date],
                                          conn: psycopg.Connection) -> None:
    expected = _database_totals(conn, week[1])
    assert expected["accepted"] > 0 and expected["resolved"] > 0
    assert {k: weekly["totals"][k] for k in expected} == expected
    assert weekly["period"] == {"start": week[1].isoformat(),
                                "end": (week[1] + timedelta(days=6)).isoformat()}
    rates = weekly["totals"]["on_time_rate_by_colour"]
    assert set(rates) <= {"yellow", "orange", "red"} and rates


def _sheet(book: Any, title: str) -> list[tuple[Any, ...]]:
    return list(book[title].iter_rows(values_only=True))


def test_the_xlsx_holds_the_same_numbers(base_url: str, weekly: dict[str, Any],
                                         week: tuple[str, date],
                                         conn: psycopg.Connection) -> None:
    answer = requests.get(_link(weekly, "xlsx"), headers=ADMIN, timeout=60)
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.content))
    totals = dict(_sheet(book, "全镇总数")[1:])
    expected = _database_totals(conn, week[1])
    assert totals["受理"] == expected["accepted"] and totals["办结"] == expected["resolved"]
    assert totals["在办"] == expected["in_progress"] and totals["无效"] == expected["invalid"]
    start = datetime(week[1].year, week[1].month, week[1].day, tzinfo=SHANGHAI)
    by_name: dict[str, int] = dict(conn.execute(
        "SELECT c.name_zh, count(*) FROM gridgeo.incidents i JOIN gridgeo.incident_categories c"
        " ON c.code = i.category_code WHERE i.reported_at >= %s AND i.reported_at < %s"
        " GROUP BY c.name_zh", (start, start + timedelta(days=7))).fetchall())
    assert {row[1]: row[2] for row in _sheet(book, "按事件类别")[1:]} == by_name
    assert "按网格员" in book.sheetnames


def test_the_pdf_holds_the_chinese_totals_in_embedded_cjk_fonts(
        pdf: Path, weekly: dict[str, Any]) -> None:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "网格化管理周报" in text and "黄色事件清单" in text
    totals = weekly["totals"]
    for label, key in (("受理", "accepted"), ("办结", "resolved"), ("在办", "in_progress"),
                       ("无效", "invalid")):
        assert any(line.split() == [label, str(totals[key])] for line in text.splitlines()), \
            (label, totals[key])
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    cjk = [line for line in fonts if "CJK" in line]
    assert cjk and all(line.split()[-5] == "yes" for line in cjk), fonts


def _worker_names(conn: psycopg.Connection, monday: date) -> set[str]:
    start = datetime(monday.year, monday.month, monday.day, tzinfo=SHANGHAI)
    return {r[0] for r in conn.execute(
        "SELECT DISTINCT s.name FROM gridgeo.incidents i JOIN gridgeo.staff s"
        " ON s.id = i.grid_worker_id WHERE i.reported_at >= %s AND i.reported_at < %s",
        (start, start + timedelta(days=7)))}


def _sensitive_names(conn: psycopg.Connection, monday: date) -> set[str]:
    start = datetime(monday.year, monday.month, monday.day, tzinfo=SHANGHAI)
    return {r[0] for r in conn.execute(
        "SELECT DISTINCT c.name_zh FROM gridgeo.incidents i JOIN gridgeo.incident_categories c"
        " ON c.code = i.category_code WHERE c.sensitive AND i.reported_at >= %s"
        " AND i.reported_at < %s", (start, start + timedelta(days=7)))}


def test_a_viewer_sees_no_worker_or_sensitive_category_names(base_url: str, weekly: dict[str, Any],
                                       week: tuple[str, date],
                                       conn: psycopg.Connection) -> None:
    names = _worker_names(conn, week[1])
    admin_answer = requests.get(_link(weekly, "html"), headers=ADMIN, timeout=60)
    assert "default-src 'none'" in admin_answer.headers["Content-Security-Policy"]
    admin_html = admin_answer.text
    assert names and any(name in admin_html for name in names)
    listing = requests.get(f"{base_url}/reports", headers=VIEWER, timeout=60)
    assert listing.status_code == 200
    seen = next(r for r in listing.json()["reports"] if r["id"] == weekly["id"])
    for fmt in ("html", "csv"):
        body = requests.get(_link(seen, fmt), headers=VIEWER, timeout=60).text
        assert "受理" in body and not any(name in body for name in names), fmt
    book = load_workbook(io.BytesIO(requests.get(_link(seen, "xlsx"), headers=VIEWER,
                                                 timeout=60).content))
    assert "按网格员" not in book.sheetnames
    # Sensitive categories: counted (the lines still add up to the total), never named.
    sensitive = _sensitive_names(conn, week[1])
    assert sensitive and any(name in admin_html for name in sensitive)
    categories = _sheet(book, "按事件类别")[1:]
    assert not {row[1] for row in categories} & sensitive
    assert sum(row[2] for row in categories) == weekly["totals"]["accepted"]
    assert requests.get(f"{base_url}/reports", timeout=30).status_code == 404
    refused = _execute(base_url, {"period": week[0]}, VIEWER)
    assert refused.status_code == 200 and refused.json()["stored"] is False
    assert "reports" in refused.json()["why"] and "report" not in refused.json()


def test_the_english_option_has_english_headings(base_url: str, week: tuple[str, date]
                                                 ) -> None:
    answer = _execute(base_url, {"period": week[0], "kind": "weekly", "language": "en"},
                      ADMIN)
    assert answer.status_code == 200, answer.text
    report = answer.json()["report"]
    assert report["language"] == "en"
    html = requests.get(_link(report, "html"), headers=ADMIN, timeout=60).text
    assert "Town totals" in html and "By category" in html and "Yellow cases" in html
    assert "受理" not in html
    csv_text = requests.get(_link(report, "csv"), headers=ADMIN, timeout=60).text
    assert "Accepted" in csv_text


@pytest.mark.parametrize(("inputs", "words"), [
    ({"period": "2026-W60"}, "not a week"),
    ({"period": "2026-11", "kind": "weekly"}, "monthly period"),
    ({"period": "last week"}, "must look like"),
    ({"language": "fr"}, "zh or en"),
])
def test_a_wrong_period_or_language_is_a_sentence(base_url: str, inputs: dict[str, Any],
                                                  words: str) -> None:
    answer = _execute(base_url, inputs, ADMIN)
    assert answer.status_code == 400 and words in answer.text, answer.text


@contextmanager
def _offered(store: MemoryStore) -> Iterator[MemoryStore]:
    """A store plugin's store (the hook several web nodes share storage through)."""
    from gridgeo import hookimpl
    from gridgeo.plugins import get_plugin_manager
    from gridgeo.storage import get_store

    class StorePlugin:
        @hookimpl
        def gridgeo_attachment_store(self, settings: object) -> MemoryStore:
            return store

    pm = get_plugin_manager()
    pm.register(StorePlugin(), name="report-test-store")
    get_store.cache_clear()
    try:
        yield store
    finally:
        pm.unregister(name="report-test-store")
        get_store.cache_clear()


@pytest.fixture()
def memory_store(demo_db_url: str) -> Iterator[MemoryStore]:
    with _offered(MemoryStore()) as store:
        yield store


class BrokenStore(MemoryStore):
    def put(self, key: str, data: bytes) -> None:
        raise OSError(28, "No space left on device")


def test_the_scheduled_task_makes_each_period_once(memory_store: MemoryStore,
                                                   demo_db_url: str) -> None:
    """Two ticks on a Monday (each in its own transaction, as the scheduler runs them):
    the first makes the past week's, month's and quarter's reports, the second nothing."""
    from gridgeo_plugins.reports.schedule import make_due_reports

    from gridgeo.plugins import get_plugin_manager

    task = next(t for batch in get_plugin_manager().hook.gridgeo_scheduled_tasks()
                for t in batch if t.name == "town-reports")
    assert task.run is make_due_reports  # the clock below is the only thing set by hand
    monday = datetime(2030, 1, 7, 9, tzinfo=SHANGHAI)
    # due that Monday: the week from 2029-12-31 (2030-W01), December, the fourth quarter
    starts = [date(2029, 12, 31), date(2029, 12, 1), date(2029, 10, 1)]
    with connect(demo_db_url, autocommit=True) as conn:
        try:
            with conn.transaction():
                first = make_due_reports(conn, monday)
            with conn.transaction():
                second = make_due_reports(conn, monday + timedelta(hours=1))
            made = conn.execute(
                "SELECT kind, period_start FROM gridgeo.town_reports WHERE period_start"
                " = ANY(%s) AND made_by = 'system:scheduler' ORDER BY period_start",
                (starts,)).fetchall()
            files = conn.execute(
                "SELECT count(*) FROM gridgeo.town_report_files f JOIN gridgeo.town_reports r"
                " ON r.id = f.report_id WHERE r.period_start = ANY(%s)", (starts,)).fetchone()
        finally:
            conn.execute("DELETE FROM gridgeo.town_reports WHERE period_start = ANY(%s)",
                         (starts,))
    assert first == "made 2030-W01 zh, 2029-12 zh, 2029-Q4 zh"
    assert second == "nothing due"
    assert made == [("quarterly", starts[2]), ("monthly", starts[1]), ("weekly", starts[0])]
    assert files == (3 * 2 * 3,)  # html, csv and xlsx for both audiences, per report
    assert memory_store.blobs  # the files went to the deployment's store


def test_the_report_routes_are_in_the_openapi_document(base_url: str) -> None:
    paths = requests.get(f"{base_url}/openapi", params={"f": "json"}, headers=ADMIN,
                         timeout=60).json()["paths"]
    assert {"/reports", "/reports/{reportId}", "/reports/{reportId}/report.{format}",
            "/processes/town-report/execution"} <= set(paths)


def test_a_report_whose_files_cannot_be_stored_leaves_no_row(demo_db_url: str) -> None:
    """The store fails (a full disk): the tick says so and keeps no row, so the next
    tick makes the report."""
    from gridgeo_plugins.reports.schedule import make_due_reports

    starts = [date(2030, 12, 30), date(2030, 12, 1), date(2030, 10, 1)]
    with _offered(BrokenStore()), connect(demo_db_url, autocommit=True) as conn:
        with conn.transaction():
            outcome = make_due_reports(conn, datetime(2031, 1, 6, 9, tzinfo=SHANGHAI))
        kept = conn.execute("SELECT count(*) FROM gridgeo.town_reports WHERE period_start"
                            " = ANY(%s)", (starts,)).fetchone()
    assert outcome == "not stored, tried again next tick: 2031-W01 zh, 2030-12 zh, 2030-Q4 zh"
    assert kept == (0,)
