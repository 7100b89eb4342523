"""Builds the plugin manager: hookspecs, built-in plugins, entry points, then a check."""

from __future__ import annotations

import importlib
from functools import lru_cache

import pluggy

from gridgeo import hookspecs

ENTRY_POINT_GROUP = "gridgeo"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "gridgeo_plugins.core",
    "gridgeo_plugins.builtin_collections",
    "gridgeo_plugins.maps",
    "gridgeo_plugins.patrol",
    "gridgeo_plugins.incidents",
    "gridgeo_plugins.qr",
    "gridgeo_plugins.scans",
    "gridgeo_plugins.overlap",
    "gridgeo_plugins.topology",
)


def build_plugin_manager(load_entry_points: bool = True) -> pluggy.PluginManager:
    """A new plugin manager with every built-in plugin and installed third-party one.

    ``check_pending`` makes a misspelled hook implementation fail loudly instead
    of being silently ignored.
    """
    pm = pluggy.PluginManager("gridgeo")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if load_entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    pm.check_pending()
    return pm


@lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, built on first use."""
    return build_plugin_manager()
