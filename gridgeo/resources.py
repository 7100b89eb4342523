"""Where gridgeo's data folders are: in the installed wheel or in the source tree.

The repository keeps ``collections/`` and ``styles/`` at its top level; the wheel
installs them as the data packages ``gridgeo_collections`` and ``gridgeo_styles``
(pyproject.toml), so an installed gridgeo needs no checkout.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parent.parent


def data_folder(package: str, source_folder: str) -> Path:
    """The folder of data package ``package``, or ``source_folder`` of the checkout
    when the package is not installed (a plain clone on ``sys.path``)."""
    spec = importlib.util.find_spec(package)
    # A data package has no __init__.py (collections/ must not shadow the standard
    # library's ``collections``): it is a namespace package, a plain folder on disk.
    if spec is None or not spec.submodule_search_locations:
        return SOURCE_ROOT / source_folder
    return Path(next(iter(spec.submodule_search_locations)))


def collections_dir() -> Path:
    return data_folder("gridgeo_collections", "collections")


def styles_dir() -> Path:
    return data_folder("gridgeo_styles", "styles")


def default_config_file() -> Path:
    """The checkout's pygeoapi-config.yml, or the copy the wheel carries in ``gridgeo``."""
    source = SOURCE_ROOT / "pygeoapi-config.yml"
    return source if source.is_file() else Path(__file__).resolve().parent / "pygeoapi-config.yml"


def default_home() -> Path:
    """State folder: ``.gridgeo`` in a checkout; otherwise in the user's home (a service
    sets GRIDGEO_HOME, e.g. /var/lib/gridgeo)."""
    if (SOURCE_ROOT / "pyproject.toml").is_file():
        return SOURCE_ROOT / ".gridgeo"
    return Path.home() / ".gridgeo"
