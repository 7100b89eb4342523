"""Each built-in plugin switched off in turn (``GRIDGEO_DISABLED_PLUGINS``): the app, built
by its factory in a process of its own, still starts and serves the rest.

Plugins whose migrations another built-in plugin requires (core and the built-in
collections need each other) cannot be switched off alone, so they are not tried.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gridgeo.contributions import Migration
from gridgeo.plugins import DEFAULT_PLUGINS, PluginError, build_plugin_manager
from tests.conftest import ROLE_KEYS, server_env

# Run in the child: build the app with the factory, serve it on a free port, ask it the
# paths given as arguments over HTTP and print what it answered.
SERVE_AND_ASK = """
import json, os, sys, threading
import requests
from werkzeug.serving import make_server
from gridgeo.app import create_app

server = make_server("127.0.0.1", 0, create_app(), threaded=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{server.server_port}"
answers = {}
for path in sys.argv[1:]:
    response = requests.get(base + path, timeout=120,
                            headers={"Authorization": os.environ["ASK_AUTHORIZATION"]})
    json_body = "json" in response.headers.get("Content-Type", "")
    answers[path] = [response.status_code, response.json() if json_body else None]
server.shutdown()
print(json.dumps(answers))
"""
ASKED = ("/?f=json", "/collections?f=json", "/processes?f=json", "/openapi?f=json",
         "/collections/grids/items?f=json&limit=1", "/collections/grids/items?f=html&limit=1")


def _migrations(plugin: Any) -> list[Migration]:
    found = list(plugin.gridgeo_migrations()) if hasattr(plugin, "gridgeo_migrations") else []
    if hasattr(plugin, "gridgeo_collections"):
        found += [m for c in plugin.gridgeo_collections() for m in c.migrations]
    return found


def required_plugins() -> set[str]:
    """Built-in plugins whose migrations another built-in plugin's migrations require."""
    provided = {name: {m.namespace for m in _migrations(importlib.import_module(name))}
                for name in DEFAULT_PLUGINS}
    required: set[str] = set()
    for name in DEFAULT_PLUGINS:
        needs = {r.namespace for m in _migrations(importlib.import_module(name))
                 for r in m.requires} - provided[name]
        required |= {other for other, spaces in provided.items() if spaces & needs}
    return required


SWITCHABLE = [name for name in DEFAULT_PLUGINS if name not in required_plugins()]


def test_core_and_builtin_collections_are_the_required_ones() -> None:
    assert required_plugins() == {"gridgeo_plugins.core", "gridgeo_plugins.builtin_collections"}
    assert len(SWITCHABLE) == len(DEFAULT_PLUGINS) - 2


def test_a_misspelled_plugin_cannot_be_disabled() -> None:
    with pytest.raises(PluginError, match="no such plugin"):
        build_plugin_manager(load_entry_points=False, disabled=["gridgeo_plugins.qrr"])


def _served(demo_db_url: str, home: Path, disabled: str) -> dict[str, Any]:
    # As admin: the collection list names only what the caller may read (docs/security.md).
    admin = next(k for k, r in ROLE_KEYS.items() if r == "admin")
    env = {**server_env(demo_db_url, home, 0), "GRIDGEO_DISABLED_PLUGINS": json.dumps([disabled]),
           "ASK_AUTHORIZATION": f"Bearer {admin}"}
    done = subprocess.run([sys.executable, "-c", SERVE_AND_ASK, *ASKED], env=env,
                          capture_output=True, text=True, timeout=300, cwd=home)
    assert done.returncode == 0, f"{disabled}: {done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _expected(disabled: str) -> tuple[set[str], set[str], set[str], set[str]]:
    """Collections, processes and OpenAPI paths with the plugin off, and its own paths."""
    pm = build_plugin_manager(load_entry_points=False, disabled=[disabled])
    collections = {c.id for batch in pm.hook.gridgeo_collections() for c in batch}
    processes = {p.id for batch in pm.hook.gridgeo_processes() for p in batch}
    paths = {path for batch in pm.hook.gridgeo_openapi_paths(server_url="") for path in batch}
    plugin = importlib.import_module(disabled)
    own = set(plugin.gridgeo_openapi_paths(server_url="")) \
        if hasattr(plugin, "gridgeo_openapi_paths") else set()
    return collections, processes, paths, own


def test_each_builtin_plugin_can_be_switched_off(demo_db_url: str, tmp_path: Path) -> None:
    def serve(name: str) -> dict[str, Any]:
        home = tmp_path / name
        home.mkdir()
        return _served(demo_db_url, home, name)

    with ThreadPoolExecutor(max_workers=2) as pool:  # two children at a time: two cores
        answers = dict(zip(SWITCHABLE, pool.map(serve, SWITCHABLE), strict=True))
    for name, answered in answers.items():
        collections, processes, paths, own = _expected(name)
        assert all(status == 200 for status, _ in answered.values()), (name, answered)
        served = {c["id"] for c in answered["/collections?f=json"][1]["collections"]}
        assert served == collections, name
        offered = {p["id"] for p in answered["/processes?f=json"][1]["processes"]}
        assert offered == processes, name
        document = set(answered["/openapi?f=json"][1]["paths"])
        assert paths <= document and not own & document, name
        grids = answered["/collections/grids/items?f=json&limit=1"][1]
        assert grids["numberReturned"] == 1, name
