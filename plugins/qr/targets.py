"""The things a QR code can name: kind letter -> collection, view and natural code column."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql


@dataclass(frozen=True)
class QrKind:
    letter: str
    collection: str
    code_column: str

    @property
    def view(self) -> sql.Composable:
        return sql.Identifier("gridgeo", f"{self.collection}_view")


KINDS = {k.letter: k for k in (QrKind("a", "addresses", "address_code"),
                               QrKind("g", "greenhouses", "gh_no"),
                               QrKind("k", "mine_tunnels", "adit_no"))}
BY_COLLECTION = {k.collection: k for k in KINDS.values()}
