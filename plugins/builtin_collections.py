"""Contributes every collection described under the project's ``collections/`` folder
(installed as the ``gridgeo_collections`` data package)."""

from __future__ import annotations

from gridgeo import hookimpl
from gridgeo.catalog import load_collection_dir
from gridgeo.contributions import CollectionContribution
from gridgeo.resources import collections_dir, styles_dir


@hookimpl
def gridgeo_collections() -> list[CollectionContribution]:
    return [load_collection_dir(folder, [styles_dir()])
            for folder in sorted(collections_dir().iterdir())
            if (folder / "collection.yml").is_file()]
