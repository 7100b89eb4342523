"""The plugin system: hooks, the manager's checks, migrations order, config overrides,
and a real third-party plugin package installed into a throwaway environment."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import types
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pluggy
import psycopg
import pytest
import requests

from gridgeo import hookimpl
from gridgeo.catalog import load_migrations
from gridgeo.config import ConfigError, render_config
from gridgeo.contributions import Migration, MigrationRef
from gridgeo.db.migrate import MigrationError, apply_migrations, order_migrations
from gridgeo.plugins import build_plugin_manager
from gridgeo.settings import Settings
from tests.conftest import EDITOR, free_port, server_env

PLUGIN_PKG = Path(__file__).parent / "plugin_pkg"
BUILTIN_COLLECTIONS = {"grids", "police_grids", "addresses", "mine_tunnels", "greenhouses",
                       "incidents", "roads", "patrol_routes", "inspections",
                       "grid_police_crosswalk", "incident_events", "greenhouses_due",
                       "mine_tunnels_due", "grid_figures", "worker_figures", "photos"}


def test_builtin_plugins_contribute_every_collection() -> None:
    pm = build_plugin_manager(load_entry_points=False)
    ids = {c.id for batch in pm.hook.gridgeo_collections() for c in batch}
    assert ids == BUILTIN_COLLECTIONS


def test_builtin_migrations_cover_core_and_every_collection() -> None:
    pm = build_plugin_manager(load_entry_points=False)
    namespaces = {m.namespace for batch in pm.hook.gridgeo_migrations() for m in batch}
    # Plugins add namespaces of their own (reports, fieldapi, ...); these three are the core's.
    assert {"core", "jobs", "attachments"} <= namespaces
    assert "incidents" not in namespaces  # collections' migrations come with the collection
    personal = {c.id: set(c.personal_fields) for b in pm.hook.gridgeo_collections() for c in b}
    assert personal["incidents"] == {"reporter_name", "reporter_phone", "reporter_id_number"}


def test_misspelled_hook_fails_loudly() -> None:
    pm = build_plugin_manager(load_entry_points=False)
    bad = types.ModuleType("bad_plugin")

    @hookimpl
    def gridgeo_colections() -> list[object]:  # the typo is the point
        return []

    bad.gridgeo_colections = gridgeo_colections  # type: ignore[attr-defined]
    pm.register(bad)
    with pytest.raises(pluggy.PluginValidationError):
        pm.check_pending()


def _m(ns: str, version: int, *requires: tuple[str, int]) -> Migration:
    return Migration(ns, version, f"{ns}{version}", "SELECT 1",
                     tuple(MigrationRef(n, v) for n, v in requires))


def test_migrations_run_after_what_they_require() -> None:
    ordered = order_migrations([_m("b", 2), _m("b", 1, ("a", 1)), _m("a", 1)])
    assert [str(m.ref) for m in ordered] == ["a/001", "b/001", "b/002"]


def test_after_orders_against_a_step_only_when_it_is_installed(tmp_path: Path) -> None:
    """``-- after:`` (core/015 after notify/003): first when present, ignored when absent."""
    (tmp_path / "001_probe.sql").write_text("-- after: notify/003\nSELECT 1\n")
    [parsed] = load_migrations("core", tmp_path)
    assert parsed.after == (MigrationRef("notify", 3),)
    core = Migration("core", 1, "core1", "SELECT 1", (), (MigrationRef("notify", 1),))
    ordered = order_migrations([core, _m("notify", 1)])
    assert [str(m.ref) for m in ordered] == ["notify/001", "core/001"]
    assert [str(m.ref) for m in order_migrations([core])] == ["core/001"]


def test_missing_or_cyclic_requirements_are_refused() -> None:
    with pytest.raises(MigrationError, match="requires x/001"):
        order_migrations([_m("b", 1, ("x", 1))])
    with pytest.raises(MigrationError, match="cycle"):
        order_migrations([_m("a", 1, ("b", 1)), _m("b", 1, ("a", 1))])


def test_an_edited_migration_is_refused(conn: psycopg.Connection) -> None:
    conn.commit()
    first = Migration("edit_check", 1, "probe", "CREATE TABLE gridgeo.edit_probe (x int)")
    apply_migrations(conn, [first])
    edited = Migration("edit_check", 1, "probe", "CREATE TABLE gridgeo.edit_probe (y int)")
    with pytest.raises(MigrationError, match="edited after it was applied"):
        apply_migrations(conn, [edited])
    assert apply_migrations(conn, [first]) == []  # unchanged: nothing to do


def test_deployment_file_overrides_and_switches_off(tmp_path: Path) -> None:
    deployment = tmp_path / "pygeoapi-config.yml"
    base = (Path(__file__).parent.parent / "pygeoapi-config.yml").read_text()
    deployment.write_text(base.replace(
        "resources: {}",
        "resources:\n  roads: {enabled: false}\n  incidents:\n    title: {en: Cases, zh: 案件}\n"))
    settings = Settings(config_file=deployment, home=tmp_path)
    config = render_config(settings, build_plugin_manager(load_entry_points=False))
    assert "roads" not in config["resources"]
    assert config["resources"]["incidents"]["title"] == {"en": "Cases", "zh": "案件"}
    # The override merges: the provider contributed by the plugin is still there.
    provider = config["resources"]["incidents"]["providers"][0]
    assert provider["name"] == "gridgeo.provider.postgis.PostGISProvider"


def test_invalid_override_is_a_clear_error(tmp_path: Path) -> None:
    deployment = tmp_path / "pygeoapi-config.yml"
    base = (Path(__file__).parent.parent / "pygeoapi-config.yml").read_text()
    deployment.write_text(base.replace("resources: {}", "resources:\n  grids: {type: 12}\n"))
    with pytest.raises(ConfigError, match="resources/grids"):
        render_config(Settings(config_file=deployment, home=tmp_path),
                      build_plugin_manager(load_entry_points=False))


@pytest.fixture(scope="module")
def plugin_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway virtualenv that sees gridgeo's environment and has the plugin pip-installed."""
    venv = tmp_path_factory.mktemp("plugin-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], capture_output=True, text=True, check=True)
    # addsitedir (not a bare path) so gridgeo's own editable-install .pth files run too.
    Path(site.stdout.strip(), "gridgeo-base.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_path('purelib')!r})\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", str(PLUGIN_PKG)], check=True)
    return python


def test_third_party_plugin_serves_its_collection_and_process(
        plugin_python: Path, demo_db_url: str, tmp_path: Path,
        conn: psycopg.Connection) -> None:
    port = free_port()
    env = server_env(demo_db_url, tmp_path, port)
    cli = [str(plugin_python), "-m", "gridgeo.cli"]
    migrate = subprocess.run([*cli, "db", "migrate"], env=env, capture_output=True, text=True,
                             cwd=tmp_path)
    assert migrate.returncode == 0, migrate.stderr
    subprocess.run([*cli, "serve", "--background"], env=env, check=True, capture_output=True,
                   cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        collections = requests.get(f"{url}/collections?f=json", headers=EDITOR,
                                   timeout=30).json()
        ids = {c["id"] for c in collections["collections"]}
        assert ids == BUILTIN_COLLECTIONS | {"pocket_parks"}
        # the plugin's collection.yml declares it public
        public = requests.get(f"{url}/collections?f=json", timeout=30).json()
        assert "pocket_parks" in {c["id"] for c in public["collections"]}

        parks = requests.get(f"{url}/collections/pocket_parks/items",
                             headers={"Accept": "application/geo+json"}, timeout=30).json()
        expected = conn.execute(
            "SELECT code FROM gridgeo.grids WHERE level = 'unit' AND kind = 'basic'"
            " ORDER BY code LIMIT 3").fetchall()
        # The database placed each park in the unit grid whose centre it is.
        assert [f["properties"]["grid_code"] for f in parks["features"]] == \
            [row[0] for row in expected]

        processes = requests.get(f"{url}/processes?f=json", timeout=30).json()
        assert "count-grids" in {p["id"] for p in processes["processes"]}
        result = requests.post(f"{url}/processes/count-grids/execution",
                               json={"inputs": {"level": "village"}}, timeout=30)
        villages = conn.execute(
            "SELECT count(*) FROM gridgeo.grids WHERE level = 'village'").fetchone()
        assert result.status_code == 200
        assert result.json()["count"] == villages[0]  # type: ignore[index]

        # Its incident category was upserted by `gridgeo db migrate` and is offered.
        services = requests.get(f"{url}/open311/v2/services.json", timeout=30).json()
        assert "9901" in {s["service_code"] for s in services}

        bad = requests.post(f"{url}/processes/count-grids/execution",
                            json={"inputs": {"level": "planet"}}, timeout=30)
        assert bad.status_code == 400
        assert "level must be one of" in bad.text
        _declarations_are_served(url, cli, env, tmp_path, parks["features"])
    finally:
        subprocess.run([*cli, "stop"], env=env, check=False, capture_output=True)


def _declarations_are_served(url: str, cli: list[str], env: dict[str, str], tmp_path: Path,
                              parks: list[dict[str, Any]]) -> None:
    """What pocket_parks' collection.yml declares, the built-in plugins and the core serve:
    vector tiles, a QR kind and a place in the QGIS project."""
    tile = requests.get(f"{url}/collections/pocket_parks/tiles/WebMercatorQuad/0/0/0",
                        timeout=30)
    assert tile.status_code == 200, tile.text
    decoded = mapbox_vector_tile.decode(tile.content)["pocket_parks"]["features"]
    assert sorted(f["properties"]["park_no"] for f in decoded) == \
        sorted(p["properties"]["park_no"] for p in parks)
    first = parks[0]
    scanned = requests.get(f"{url}/q/p/{first['properties']['park_no']}", timeout=30,
                           allow_redirects=False)
    assert scanned.status_code in (301, 302, 303), scanned.text
    assert scanned.headers["Location"].endswith(
        f"/collections/pocket_parks/items/{first['id']}?f=html")
    assert first["properties"]["qr_payload"].endswith(f"/q/p/{first['properties']['park_no']}")
    project = tmp_path / "town.qgs"
    made = subprocess.run([*cli, "qgis-project", "--url", url, str(project)], env=env,
                          capture_output=True, text=True, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    groups = ET.parse(project).getroot().find("layer-tree-group")
    assert groups is not None
    placed = {layer.get("name"): group.get("name") for group in groups
              for layer in group.iter("layer-tree-layer")}
    assert placed["口袋公园"] == "现场对象", placed


def test_every_hook_is_documented() -> None:
    from gridgeo import hookspecs

    docs = (Path(__file__).parent.parent / "docs" / "plugins.md").read_text()
    hooks = [name for name in dir(hookspecs) if name.startswith("gridgeo_")]
    assert hooks
    for name in hooks:
        assert f"### `{name}(" in docs, f"{name} is not documented in docs/plugins.md"
        assert getattr(hookspecs, name).__doc__, f"{name} has no docstring"
