"""Contributes every collection described under the project's ``collections/`` folder."""

from __future__ import annotations

from pathlib import Path

from gridgeo import hookimpl
from gridgeo.catalog import load_collection_dir
from gridgeo.contributions import CollectionContribution

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_DIR = ROOT / "collections"
STYLES_DIR = ROOT / "styles"


@hookimpl
def gridgeo_collections() -> list[CollectionContribution]:
    return [load_collection_dir(folder, [STYLES_DIR])
            for folder in sorted(COLLECTIONS_DIR.iterdir())
            if (folder / "collection.yml").is_file()]
