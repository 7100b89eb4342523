"""The overview page (一屏观全域) rendered by headless Chromium against the running server:
the map, the figures (checked with hand-written SQL), a grid's people and open cases,
and nothing loaded from anywhere but the server."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser

import psycopg
import pytest
import requests

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--window-size=1600,1000", "--virtual-time-budget=30000"]
SETTLED = "('closed', 'invalid', 'duplicate')"


def rendered_dom(url: str) -> str:
    """The page's DOM after its scripts ran, as Chromium serialises it."""
    # A missing browser is an install bug (scripts/install-system.sh), not a skip.
    assert CHROMIUM is not None, "chromium is not installed: run scripts/install-system.sh"
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                              capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Dom(HTMLParser):
    """Texts of elements with an id, attributes of <body>, and tags by class."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text: dict[str, str] = {}
        self.body: dict[str, str] = {}
        self.classes: list[tuple[str, str, dict[str, str]]] = []
        self._open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "body":
            self.body = attr
        self.classes.append((tag, attr.get("class", ""), attr))
        if "id" in attr:
            self.text[attr["id"]] = ""
            self._open.append(attr["id"])
        elif self._open:
            self._open.append("")

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element_id in self._open:
            if element_id:
                self.text[element_id] += data

    def count(self, tag: str, css_class: str) -> int:
        return sum(1 for t, c, _ in self.classes if t == tag and css_class in c.split())


# The page is anonymous: it counts the incidents the public view shows (no sensitive
# category, docs/security.md).
PUBLIC = ("(SELECT i.* FROM gridgeo.incidents i JOIN gridgeo.incident_categories c"
          " ON c.code = i.category_code WHERE NOT c.sensitive)")


def scalar(conn: psycopg.Connection, query: str) -> int:
    return conn.execute(query).fetchone()[0]  # type: ignore[index,arg-type,no-any-return]


@pytest.fixture(scope="module")
def expected(demo_db_url: str) -> dict[str, int]:
    """The figures, counted with SQL written independently of the plugin's."""
    from gridgeo.db.pool import connect

    with connect(demo_db_url) as conn:
        return {
            "open": scalar(conn, f"SELECT count(*) FROM {PUBLIC} i "
                                 f"WHERE state NOT IN {SETTLED}"),
            # Overdue on the clock that runs: acceptance before acceptance, then handling.
            "overdue": scalar(conn, f"""SELECT count(*) FROM {PUBLIC} i
                WHERE i.state NOT IN {SETTLED} AND now() > CASE WHEN i.accepted_at IS NULL
                  THEN gridgeo.incident_accept_deadline(i.reported_at, i.colour, i.grid_code,
                                                        i.category_code)
                  ELSE gridgeo.incident_handle_deadline(i.accepted_at, i.colour, i.grid_code,
                                                        i.category_code) END"""),
            # Near due: the warning share (0.8) of the running clock passed, not yet due.
            "near_due": scalar(conn, f"""SELECT count(*) FROM {PUBLIC} i,
                gridgeo.incident_due(i.state, i.reported_at, i.accepted_at, i.colour,
                                     i.grid_code, i.category_code) d
                WHERE i.state NOT IN {SETTLED} AND now() <= d.due_at
                  AND now() >= d.started_at + 0.8 * (d.due_at - d.started_at)"""),
            "escalated": scalar(conn, f"""SELECT count(DISTINCT e.incident_id)
                FROM gridgeo.incident_escalations e JOIN {PUBLIC} i
                  ON i.id = e.incident_id
                WHERE e.kind = 'escalation' AND i.state NOT IN {SETTLED}"""),
            "closed_on_time": scalar(conn, f"""SELECT count(*) FROM {PUBLIC} i
                WHERE i.state = 'closed' AND i.closed_at <= gridgeo.incident_handle_deadline(
                      i.accepted_at, i.colour, i.grid_code, i.category_code)
                  AND i.closed_at >= date_trunc('week', now())"""),
            "adits": scalar(conn, "SELECT count(*) FROM gridgeo.mine_tunnels"),
            "adits_inspected": scalar(
                conn, "SELECT count(*) FROM gridgeo.mine_tunnels "
                      "WHERE last_inspected_at >= date_trunc('month', now())"),
            "greenhouses": scalar(conn, "SELECT count(*) FROM gridgeo.greenhouses "
                                        "WHERE status <> 'demolished'"),
            "greenhouses_scanned": scalar(conn, "SELECT count(*) FROM gridgeo.greenhouses WHERE "
                                                "status <> 'demolished' AND "
                                                "last_scanned_at >= date_trunc('month', now())"),
            "unit_grids": scalar(conn, "SELECT count(*) FROM gridgeo.grids "
                                       "WHERE level = 'unit' AND kind = 'basic'"),
        }


def percent(n: int, total: int) -> str:
    return f"{round(100 * n / total)}%" if total else "–"


@pytest.fixture(scope="module")
def page_zh(base_url: str) -> Dom:
    return Dom(rendered_dom(f"{base_url}/overview"))


def test_summary_counts_match_sql(base_url: str, expected: dict[str, int]) -> None:
    figures = requests.get(f"{base_url}/overview/summary.json", timeout=60).json()["figures"]
    assert figures["open"] == expected["open"]
    assert figures["overdue"] == expected["overdue"]
    assert (figures["near_due"], figures["escalated"]) == (expected["near_due"],
                                                           expected["escalated"])
    assert figures["closed_on_time_this_week"] == expected["closed_on_time"]
    assert figures["adits_inspected_this_month"] == expected["adits_inspected"]
    assert figures["greenhouses_scanned_this_month"] == expected["greenhouses_scanned"]


def test_page_shows_the_figures_in_chinese(page_zh: Dom, expected: dict[str, int]) -> None:
    assert page_zh.body.get("data-ready") == "1", page_zh.body.get("data-error")
    assert page_zh.text["fig-open"] == str(expected["open"])
    assert page_zh.text["fig-overdue"] == str(expected["overdue"])
    assert page_zh.text["fig-overdue-sub"] == (
        f"临期 {expected['near_due']} 件 · 督办中 {expected['escalated']} 件")
    assert page_zh.text["fig-closed-on-time"] == str(expected["closed_on_time"])
    assert page_zh.text["fig-adits"] == percent(expected["adits_inspected"], expected["adits"])
    assert page_zh.text["fig-adits-sub"] == f"{expected['adits_inspected']} / {expected['adits']}"
    assert page_zh.text["fig-greenhouses"] == percent(expected["greenhouses_scanned"],
                                                      expected["greenhouses"])
    assert page_zh.text["page-title"] == "一屏观全域"
    assert page_zh.body["data-lang"] == "zh"


def test_page_draws_the_map(page_zh: Dom, expected: dict[str, int]) -> None:
    assert page_zh.count("div", "leaflet-container") == 1
    assert int(page_zh.body["data-grids"]) == expected["unit_grids"]
    assert page_zh.count("path", "grid") == expected["unit_grids"]
    assert int(page_zh.body["data-incidents"]) == expected["open"]
    assert page_zh.count("path", "incident") == expected["open"]
    assert page_zh.count("path", "overdue") == expected["overdue"]
    hillshade = [a for t, c, a in page_zh.classes if t == "img" and "hillshade" in c.split()]
    assert hillshade and hillshade[0]["src"].endswith("/overview/hillshade.png")
    assert page_zh.count("rect", "bar") >= 3, "charts drawn"


def test_grid_colour_follows_its_open_incidents(page_zh: Dom, demo_db_url: str) -> None:
    from gridgeo.db.pool import connect

    with connect(demo_db_url) as conn:
        busiest, count = conn.execute(
            f"SELECT g.code, count(i.id) FROM gridgeo.grids g JOIN {PUBLIC} i "
            f"ON i.grid_code = g.code AND i.state NOT IN {SETTLED} "
            f"WHERE g.level = 'unit' AND g.kind = 'basic' GROUP BY g.code "
            f"ORDER BY count(i.id) DESC LIMIT 1").fetchone()  # type: ignore[misc]
    classes = [c for t, c, _ in page_zh.classes if t == "path" and "grid" in c.split()]
    assert sum(f"grid-open-{count}" in c.split() for c in classes) >= 1, busiest


def test_grid_panel_shows_its_people_and_open_cases(base_url: str, demo_db_url: str) -> None:
    from gridgeo.db.pool import connect

    with connect(demo_db_url) as conn:
        code, worker, phone, open_cases = conn.execute(f"""
            SELECT g.code, s.name, s.work_phone,
                   (SELECT count(*) FROM {PUBLIC} i
                     WHERE i.grid_code = g.code AND i.state NOT IN {SETTLED})
              FROM gridgeo.grids g
              JOIN gridgeo.grid_assignments a ON a.grid_code = g.code AND a.role = 'worker'
              JOIN gridgeo.staff s ON s.id = a.staff_id
             WHERE g.level = 'unit' AND g.kind = 'basic'
             ORDER BY 4 DESC, g.code, s.id LIMIT 1""").fetchone()  # type: ignore[misc]
    dom = Dom(rendered_dom(f"{base_url}/overview#grid={code}"))
    assert dom.body.get("data-ready") == "1", dom.body.get("data-error")
    panel = dom.text["grid-panel"]
    assert code in panel and worker in panel and (phone or "") in panel
    assert dom.text["grid-open-count"] == f"({open_cases})"
    assert dom.count("tr", "case") == open_cases


def test_english_on_request(base_url: str) -> None:
    dom = Dom(rendered_dom(f"{base_url}/overview?lang=en"))
    assert dom.body.get("data-ready") == "1"
    assert dom.body["data-lang"] == "en" and "Open incidents" in " ".join(dom.text.values())


def test_page_loads_nothing_from_elsewhere(base_url: str) -> None:
    html = requests.get(f"{base_url}/overview", timeout=30).text
    js = requests.get(f"{base_url}/static/overview/overview.js", timeout=30).text
    loads = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert loads and all(u.startswith(base_url) for u in loads), loads
    for url in (u for u in loads if not u.endswith("?lang=zh") and "lang=en" not in u):
        assert requests.get(url, timeout=30).status_code == 200, url
    assert not re.search(r"https?://", js), "the script builds every URL from the server's"
    css = requests.get(f"{base_url}/static/overview/overview.css", timeout=30).text
    assert "url(" not in css and "@import" not in css and "@font-face" not in css
