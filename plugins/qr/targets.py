"""The things a QR code can name: a collection whose collection.yml declares ``qr`` with
the kind letter printed in the code (``/q/<letter>/<code>``) and its natural code column."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from psycopg import sql

from gridgeo.catalog import CatalogError
from gridgeo.contributions import CollectionContribution


@dataclass(frozen=True)
class QrKind:
    letter: str
    collection: str
    code_column: str
    source: str  # the view served for the collection; it has a qr_payload column

    @property
    def view(self) -> sql.Composable:
        return sql.Identifier("gridgeo", self.source)


def qr_kind(collection: CollectionContribution) -> QrKind:
    """The QR kind a collection declares."""
    declared = collection.declarations["qr"]
    try:
        return QrKind(str(declared["letter"]), collection.id, str(declared["code_column"]),
                      collection.resource["providers"][0]["data"]["source"])
    except (KeyError, TypeError) as exc:
        raise CatalogError(f"collection {collection.id}: its qr section takes letter and "
                           "code_column") from exc


@lru_cache(maxsize=1)
def qr_kinds() -> dict[str, QrKind]:
    """Every declared QR kind by its letter (built once per process)."""
    from gridgeo.plugins import get_plugin_manager

    kinds: dict[str, QrKind] = {}
    for batch in get_plugin_manager().hook.gridgeo_collections():
        for collection in batch:
            if "qr" not in collection.declarations:
                continue
            kind = qr_kind(collection)
            if kind.letter in kinds:
                raise CatalogError(f"collections {kinds[kind.letter].collection} and "
                                   f"{kind.collection} both declare the QR letter {kind.letter}")
            kinds[kind.letter] = kind
    return kinds
