"""Turns a collection folder (collection.yml + schema/ + styles) into a contribution.

Built-in and third-party plugins alike describe collections as data; this module
is the one place that reads that data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from gridgeo.contributions import CollectionContribution, Migration, MigrationRef

PROVIDER_CLASS = "gridgeo.provider.postgis.PostGISProvider"
STORAGE_CRS = "http://www.opengis.net/def/crs/EPSG/0/4490"
SUPPORTED_CRS = (
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "http://www.opengis.net/def/crs/EPSG/0/4490",
    "http://www.opengis.net/def/crs/EPSG/0/4326",
    "http://www.opengis.net/def/crs/EPSG/0/3857",
)
_MIGRATION_FILE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_REQUIRES = re.compile(r"^--\s*requires:\s*(.+)$", re.MULTILINE)
_AFTER = re.compile(r"^--\s*after:\s*(.+)$", re.MULTILINE)
# The keys of collection.yml the catalog reads; any other section is a declaration for
# whoever owns it (a plugin, the QGIS project), carried in the contribution as it is.
CATALOG_KEYS = frozenset({
    "id", "title", "description", "keywords", "table", "source", "id_field", "title_field",
    "geometry", "temporal", "order_by", "personal", "editable", "deletable", "readonly",
    "count", "links", "access", "if_match"})
STYLE_SUFFIXES = {".qml": "qml", ".sld": "sld", ".maplibre.json": "maplibre"}


class CatalogError(ValueError):
    """A collection folder or migration file is malformed."""


def parse_requires(sql: str, header: re.Pattern[str] = _REQUIRES) -> tuple[MigrationRef, ...]:
    """Read ``-- requires: grids/001, core/001`` header lines (or ``-- after:`` ones)."""
    refs = []
    for line in header.findall(sql):
        for item in filter(None, (part.strip() for part in line.split(","))):
            namespace, _, version = item.partition("/")
            if not version.isdigit():
                raise CatalogError(f"bad requires entry {item!r}: write namespace/NNN")
            refs.append(MigrationRef(namespace, int(version)))
    return tuple(refs)


def load_migrations(namespace: str, folder: Path) -> tuple[Migration, ...]:
    """Every ``NNN_name.sql`` file in ``folder``, in version order."""
    migrations = []
    for path in sorted(folder.glob("*.sql")):
        match = _MIGRATION_FILE.match(path.name)
        if not match:
            raise CatalogError(f"{path}: migration files are named NNN_name.sql")
        sql = path.read_text(encoding="utf-8")
        migrations.append(Migration(namespace, int(match.group(1)), match.group(2), sql,
                                    parse_requires(sql), parse_requires(sql, _AFTER)))
    return tuple(migrations)


def find_styles(collection_id: str, folders: Iterable[Path]) -> dict[str, Path]:
    """Styles named ``<id>.qml``, ``<id>.sld``, ``<id>.maplibre.json`` in the given folders."""
    styles: dict[str, Path] = {}
    for folder in folders:
        for suffix, kind in STYLE_SUFFIXES.items():
            path = folder / f"{collection_id}{suffix}"
            if path.is_file():
                styles.setdefault(kind, path)
    return styles


def load_collection_dir(folder: Path, style_dirs: Iterable[Path] = ()) -> CollectionContribution:
    """Read ``folder/collection.yml`` and ``folder/schema/*.sql`` into a contribution."""
    spec = yaml.safe_load((folder / "collection.yml").read_text(encoding="utf-8"))
    for key in ("id", "title", "table", "geometry"):
        if key not in spec:
            raise CatalogError(f"{folder}/collection.yml: missing {key!r}")
    cid = spec["id"]
    if spec.get("count", "exact") not in ("exact", "estimated", "off"):
        raise CatalogError(f"{folder}/collection.yml: count is exact, estimated or off")
    if spec.get("if_match", "optional") not in ("optional", "required"):
        raise CatalogError(f"{folder}/collection.yml: if_match is optional or required")
    personal = tuple(spec.get("personal", ()))
    migrations = load_migrations(cid, folder / "schema") if (folder / "schema").is_dir() else ()
    styles = find_styles(cid, [folder, *style_dirs])
    declarations = {key: value for key, value in spec.items() if key not in CATALOG_KEYS}
    return CollectionContribution(
        id=cid, resource=build_resource(spec), migrations=migrations, styles=styles,
        personal_fields=personal, declarations=declarations)


def build_resource(spec: dict[str, Any]) -> dict[str, Any]:
    """The pygeoapi resource definition for a collection spec."""
    geometry = spec["geometry"]
    provider: dict[str, Any] = {
        "type": "feature",
        "name": PROVIDER_CLASS,
        "data": {
            "table": spec["table"],
            "source": spec.get("source", spec["table"]),
            "geometry_column": geometry.get("column", "geom"),
            "geometry_type": geometry["type"],
            "personal": list(spec.get("personal", [])),
            "order_by": list(spec.get("order_by", [])),
            "readonly": sorted(spec.get("readonly", [])),
            "count": spec.get("count", "exact"),
        },
        "editable": bool(spec.get("editable", False)),
        "deletable": bool(spec.get("deletable", True)),
        # required: PUT, PATCH and DELETE without If-Match are a 428 (no lost updates)
        "if_match": spec.get("if_match", "optional"),
        "id_field": spec.get("id_field", "id"),
        "storage_crs": STORAGE_CRS,
        "crs": list(SUPPORTED_CRS),
    }
    if spec.get("title_field"):
        provider["title_field"] = spec["title_field"]
    if spec.get("temporal"):
        provider["time_field"] = spec["temporal"]["begin"]
    resource: dict[str, Any] = {
        "type": "collection",
        "title": spec["title"],
        "description": spec.get("description", spec["title"]),
        "keywords": spec.get("keywords", []),
        "links": spec.get("links", []),
        "extents": {"spatial": {"bbox": [-180, -90, 180, 90],
                                "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
        "providers": [provider],
    }
    if spec.get("access"):
        resource["access"] = spec["access"]  # who may read, write, see personal fields
    return resource
