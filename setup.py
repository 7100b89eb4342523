"""Package discovery with the repository's folder names mapped to installed ones.

pyproject.toml holds the metadata; only what pyproject cannot say is here: every
package below gridgeo/ and plugins/ is found (no list to forget one in), plugins/
installs as ``gridgeo_plugins``, and the top-level data folders collections/ and
styles/ install as the data packages ``gridgeo_collections`` and ``gridgeo_styles``.
The top-level pygeoapi-config.yml is copied into ``gridgeo`` as the default config.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def mapped(folder: str, installed_as: str) -> list[str]:
    found = find_packages(where=folder)
    return [installed_as, *(f"{installed_as}.{name}" for name in found)]


class BuildWithDefaultConfig(build_py):
    """Copies the deployment config template into the built ``gridgeo`` package."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "gridgeo" / "pygeoapi-config.yml"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "pygeoapi-config.yml", target)


setup(
    packages=[*mapped("gridgeo", "gridgeo"), *mapped("plugins", "gridgeo_plugins"),
              "gridgeo_collections", "gridgeo_styles"],
    package_dir={"gridgeo": "gridgeo", "gridgeo_plugins": "plugins",
                 "gridgeo_collections": "collections", "gridgeo_styles": "styles"},
    package_data={
        "gridgeo": ["templates/**/*", "static/**/*", "locale/**/*", "schemas/**/*"],
        "gridgeo_plugins": ["**/*.sql", "**/*.xsd", "**/*.yml"],
        "gridgeo_collections": ["**/*.yml", "**/*.sql"],
        "gridgeo_styles": ["*.qml", "*.sld", "*.json"],
    },
    cmdclass={"build_py": BuildWithDefaultConfig},
)
