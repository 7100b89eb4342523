"""Reading the files towns have into rows and geometries.

Vector files (Shapefile, GeoPackage, GeoJSON and whatever else GDAL reads) go through
pyogrio; CSV through the standard library; Excel through openpyxl. Tables carry their
positions in coordinate columns or a WKT column.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from .encoding import shapefile_encoding, text_file_encoding
from .mapping import Coordinates
from .problems import ImportError_

TABLE_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
# Column names that hold positions, in the words Chinese offices use.
X_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "东经", "横坐标", "x坐标")
Y_NAMES = ("lat", "latitude", "y", "纬度", "北纬", "纵坐标", "y坐标")
WKT_NAMES = ("wkt", "geom", "geometry", "shape", "几何")


@dataclass
class SourceTable:
    """A layer as read: field names, one dict per row, geometries in the source CRS."""

    path: Path
    fields: list[str]
    rows: list[dict[str, Any]]
    geoms: NDArray[np.object_]
    crs: CRS | None = None
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)


def _clean(value: Any) -> Any:
    """Empty strings and NaN are no value; strings lose surrounding blanks."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_vector(path: Path, layer: str | None, encoding: str) -> SourceTable:
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    notes = []
    if encoding == "auto" and path.suffix.lower() == ".shp":
        encoding, how = shapefile_encoding(path)
        notes.append(f"attribute encoding {encoding} ({how})")
    elif encoding != "auto":
        notes.append(f"attribute encoding {encoding} (as the mapping says)")
    _check_layer(path, layer)
    try:
        meta, _, wkb, columns = pyogrio.raw.read(
            path, layer=layer, encoding=None if encoding == "auto" else encoding,
            datetime_as_string=True, force_2d=True)
    except (DataSourceError, DataLayerError) as exc:
        raise ImportError_(f"{path.name}: GDAL cannot read it: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ImportError_(f"{path.name}: its attributes are not in {encoding}; set "
                           "encoding: in the mapping (GBK, GB18030 or UTF-8)") from exc
    names = [str(n) for n in meta["fields"]]
    rows = [dict(zip(names, (_clean(col[i]) for col in columns), strict=True))
            for i in range(len(wkb) if wkb is not None else len(columns[0]) if columns else 0)]
    geoms = (shapely.from_wkb(wkb, on_invalid="ignore") if wkb is not None
             else np.full(len(rows), None, dtype=object))
    crs = CRS.from_user_input(meta["crs"]) if meta.get("crs") else None
    return SourceTable(path, names, rows, np.asarray(geoms, dtype=object), crs, notes)


def read_csv(path: Path, encoding: str) -> SourceTable:
    notes = []
    if encoding == "auto":
        encoding, how = text_file_encoding(path)
        notes.append(f"encoding {encoding} ({how})")
    try:
        with path.open(encoding=encoding, newline="") as fh:
            sample = fh.read(65536)
            fh.seek(0)
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|") if sample else csv.excel
            reader = csv.DictReader(fh, dialect=dialect)
            rows = [{k.strip(): _clean(v) for k, v in row.items() if k is not None}
                    for row in reader]
            names = [n.strip() for n in reader.fieldnames or []]
    except UnicodeDecodeError as exc:
        raise ImportError_(f"{path.name} is not in {encoding}; set encoding: in the mapping "
                           "(GBK, GB18030 or UTF-8)") from exc
    except csv.Error as exc:
        raise ImportError_(f"{path.name} is not a readable CSV table: {exc}") from exc
    return SourceTable(path, names, rows, np.full(len(rows), None, dtype=object), None, notes)


def _excel_value(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return _clean(value)


def _filled(line: tuple[Any, ...]) -> int:
    return sum(v not in (None, "") for v in line)


def _header_row(lines: list[tuple[Any, ...]]) -> int:
    """The header is the first row filled at least half as wide as the widest of the first
    rows: registers often start with a title row (一个镇的网格台账) merged across the sheet."""
    head = lines[:10]
    if not head:
        return 0
    widest = max(_filled(line) for line in head)
    return next(i for i, line in enumerate(head) if _filled(line) >= max(1, widest / 2))


def _check_layer(path: Path, layer: str | None) -> None:
    """A file of several layers (a GeoPackage) must be told which one: GDAL would read
    the first and only warn."""
    import pyogrio
    from pyogrio.errors import DataSourceError

    try:
        layers = pyogrio.list_layers(path)
    except DataSourceError as exc:
        raise ImportError_(f"{path.name}: GDAL cannot read it: {exc}") from exc
    names = [str(row[0]) for row in layers]
    listed = ", ".join(f"{row[0]} ({row[1] or 'no geometry'})" for row in layers)
    if layer is None and len(names) > 1:
        raise ImportError_(f"{path.name} has {len(names)} layers: {listed}; choose one with "
                           "layer: NAME in the mapping (--layer NAME with --template)")
    if layer is not None and layer not in names:
        raise ImportError_(f"{path.name} has no layer '{layer}'; it has {listed}")


def read_excel(path: Path, sheet: str | None) -> SourceTable:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError) as exc:
        raise ImportError_(f"{path.name} is not a readable Excel workbook (.xlsx)") from exc
    if sheet is not None and sheet not in book.sheetnames:
        raise ImportError_(f"{path.name} has no sheet '{sheet}'; it has "
                           f"{', '.join(book.sheetnames)}")
    ws = book[sheet] if sheet else book.worksheets[0]
    lines = list(ws.iter_rows(values_only=True))
    start = _header_row(lines)
    header = [str(v).strip() if v is not None else "" for v in lines[start]] if lines else []
    rows = []
    for line in lines[start + 1:]:
        if all(v in (None, "") for v in line):
            continue
        rows.append({name: _excel_value(v) for name, v in zip(header, line, strict=False)
                     if name})
    book.close()
    names = [n for n in header if n]
    return SourceTable(path, names, rows, np.full(len(rows), None, dtype=object), None, [])


def _number(value: Any) -> float:
    if value is None:
        return np.nan
    try:
        return float(str(value).replace("°", "").strip())
    except ValueError:
        return np.nan


def attach_positions(table: SourceTable, coordinates: Coordinates | None) -> None:
    """Geometries for a table from its coordinate or WKT columns (given, or found by name)."""
    if coordinates is None:
        coordinates = find_coordinates(table.fields)
        if coordinates is None:
            raise ImportError_(f"{table.path.name} has no geometry and no coordinate columns "
                               "this importer recognises; add coordinates: {x: ..., y: ...} "
                               "or coordinates: {wkt: ...} to the mapping")
        table.notes.append(f"positions from columns {coordinates.wkt or ''}"
                           f"{coordinates.x or ''} {coordinates.y or ''}".rstrip())
    for name in (coordinates.x, coordinates.y, coordinates.wkt):
        if name and name not in table.fields:
            raise ImportError_(f"{table.path.name} has no column '{name}'; its columns are "
                               f"{', '.join(table.fields)}")
    if coordinates.wkt:
        texts = [row.get(coordinates.wkt) for row in table.rows]
        table.geoms = np.asarray(shapely.from_wkt([str(t) if t else None for t in texts],
                                                  on_invalid="ignore"), dtype=object)
        return
    x_name, y_name = str(coordinates.x), str(coordinates.y)
    x = np.array([_number(row.get(x_name)) for row in table.rows], dtype=np.float64)
    y = np.array([_number(row.get(y_name)) for row in table.rows], dtype=np.float64)
    points = shapely.points(x, y)
    points[~(np.isfinite(x) & np.isfinite(y))] = None
    table.geoms = np.asarray(points, dtype=object)


def find_coordinates(fields: list[str]) -> Coordinates | None:
    lower = {f.lower(): f for f in fields}
    x = next((lower[n] for n in X_NAMES if n in lower), None)
    y = next((lower[n] for n in Y_NAMES if n in lower), None)
    if x and y:
        return Coordinates(x=x, y=y)
    wkt = next((lower[n] for n in WKT_NAMES if n in lower), None)
    return Coordinates(wkt=wkt) if wkt else None


def read_source(path: Path, layer: str | None = None, encoding: str = "auto",
                coordinates: Coordinates | None = None, needs_geometry: bool = True
                ) -> SourceTable:
    """Any supported file as a :class:`SourceTable`."""
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        table = read_csv(path, encoding)
    elif suffix in EXCEL_SUFFIXES:
        table = read_excel(path, layer)
    elif suffix == ".xls":
        raise ImportError_(f"{path.name} is an old .xls workbook; save it as .xlsx in Excel "
                           "or WPS and import that")
    else:
        return read_vector(path, layer, encoding)
    if needs_geometry:
        attach_positions(table, coordinates)
    return table
