"""gridgeo: OGC API collections and processes for grid-based community governance."""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("gridgeo")
"""Marker for plugin hook implementations: ``from gridgeo import hookimpl``."""

__all__ = ["__version__", "hookimpl"]
