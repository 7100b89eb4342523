"""Builds the plugin manager: hookspecs, built-in plugins, entry points, then a check."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import entry_points

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
    "gridgeo_plugins.attachments",
    "gridgeo_plugins.fieldapi",
    "gridgeo_plugins.reports",
    "gridgeo_plugins.notify",
    "gridgeo_plugins.notify_robots",
    "gridgeo_plugins.figures",
    "gridgeo_plugins.field",
)


class PluginError(ValueError):
    """The plugin set asked for cannot be built; the message says what to fix."""


def build_plugin_manager(load_entry_points: bool = True,
                         disabled: Iterable[str] = ()) -> pluggy.PluginManager:
    """A new plugin manager with every built-in plugin and installed third-party one,
    except the ``disabled`` ones (built-in module names or entry-point names).

    ``check_pending`` makes a misspelled hook implementation fail loudly instead
    of being silently ignored; a misspelled disabled name fails too.
    """
    pm = pluggy.PluginManager("gridgeo")
    pm.add_hookspecs(hookspecs)
    _block(pm, set(disabled), load_entry_points)
    for name in DEFAULT_PLUGINS:
        if not pm.is_blocked(name):
            pm.register(importlib.import_module(name), name=name)
    if load_entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    pm.check_pending()
    return pm


def _block(pm: pluggy.PluginManager, names: set[str], load_entry_points: bool) -> None:
    known = set(DEFAULT_PLUGINS)
    if load_entry_points:
        known |= {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    unknown = sorted(names - known)
    if unknown:
        raise PluginError(f"cannot disable {', '.join(unknown)}: no such plugin; the plugins "
                          f"are {', '.join(sorted(known))}")
    for name in names:
        pm.set_blocked(name)


@lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, built on first use, without the plugins the
    settings disable (``GRIDGEO_DISABLED_PLUGINS``)."""
    from gridgeo.settings import get_settings

    return build_plugin_manager(disabled=get_settings().disabled_plugins)
