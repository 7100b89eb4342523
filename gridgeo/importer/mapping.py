"""The mapping file: which source feeds which gridgeo collection, field by field.

```yaml
county_code: "410399"          # optional: codes must start with it
time_zone: Asia/Shanghai       # optional: the deployment's wall clock (gridgeo.timezone)
layers:
  - target: grids
    source: 网格.shp            # relative to this file
    encoding: auto              # or GBK, UTF-8
    crs: auto                   # or EPSG:4549, a PROJ string
    offset: none                # gcj02 / bd09: undo a Chinese web map's offset
    fields:
      code: WGBM                # gridgeo field: source field
      name: WGMC
      level: {from: JB, map: {单元网格: unit, 微网格: micro}}
      kind: {default: basic}
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .problems import ImportError_


class Lookup(BaseModel):
    """Another file's table: the value of ``value`` on the row whose ``key`` matches."""

    model_config = ConfigDict(extra="forbid")
    source: Path
    key: str
    value: str


class FieldRule(BaseModel):
    """A gridgeo field from a source field, with local words mapped to gridgeo's values,
    or computed (gridgeo.importer.expressions): a format, a prefix and a sequence, the
    first characters of a code, a constant value, a lookup in another file."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    source: str | None = Field(default=None, alias="from")
    map: dict[str, Any] = Field(default_factory=dict)
    default: Any = None
    format: str | None = None
    prefix: str | None = None
    sequence: int | None = Field(default=None, ge=1, le=9)
    first: int | None = Field(default=None, ge=1)
    value: Any = None
    lookup: Lookup | None = None

    @model_validator(mode="after")
    def _one_computation(self) -> FieldRule:
        kinds = [k for k in ("format", "prefix", "first", "value", "lookup")
                 if getattr(self, k) is not None]
        if len(kinds) > 1:
            raise ValueError(f"give one of {' or '.join(kinds)}, not both")
        if (self.prefix is None) != (self.sequence is None):
            raise ValueError("prefix and sequence go together: {prefix: \"410399101001\", "
                             "sequence: 3} numbers the rows 001, 002, ... after the prefix")
        if (self.first is not None or self.lookup is not None) and self.source is None:
            raise ValueError("first: and lookup: need from: the source field they read")
        if self.source is not None and kinds and kinds[0] in ("format", "prefix", "value"):
            raise ValueError(f"{kinds[0]}: builds the value itself; drop from:")
        return self


class Coordinates(BaseModel):
    """Where a table without geometry keeps its positions: x/y columns or a WKT column."""

    model_config = ConfigDict(extra="forbid")
    x: str | None = None
    y: str | None = None
    wkt: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Coordinates:
        if not self.wkt and not (self.x and self.y):
            raise ValueError("coordinates need x and y columns, or a wkt column")
        return self


class LayerMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str
    source: Path
    layer: str | None = None
    encoding: str = "auto"
    crs: str = "auto"
    offset: Literal["none", "gcj02", "bd09"] = "none"
    coordinates: Coordinates | None = None
    repair: bool = False
    noding: Literal["crossings", "endpoints"] | None = None
    retire_missing: bool = False
    fields: dict[str, str | FieldRule] = Field(default_factory=dict)

    def rule(self, field: str) -> FieldRule | None:
        value = self.fields.get(field)
        if value is None:
            return None
        return FieldRule(**{"from": value}) if isinstance(value, str) else value

    @property
    def label(self) -> str:
        return f"{self.target} ({self.source.name}{':' + self.layer if self.layer else ''})"


class ImportPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    county_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    # The deployment's time zone (IANA name), for a town outside Asia/Shanghai's.
    time_zone: str | None = None
    layers: list[LayerMapping]

    @model_validator(mode="before")
    @classmethod
    def _empty_fields(cls, data: Any) -> Any:
        # A template whose fields all stayed comments leaves `fields:` empty (None):
        # the check of the fields themselves then says which ones the target needs.
        for layer in data.get("layers") or [] if isinstance(data, dict) else []:
            if isinstance(layer, dict) and "fields" in layer and layer["fields"] is None:
                layer["fields"] = {}
        return data


def _where(loc: tuple[int | str, ...]) -> str:
    # A field is a source name or a rule: pydantic names the branch tried ("str",
    # "function-after[...]"), which says nothing to the person writing the file.
    parts = [str(p) for p in loc if not (isinstance(p, str) and (
        p == "str" or p.startswith("function-") or p == "FieldRule"))]
    return ".".join(parts) or "the file"


def _telling(exc: ValidationError) -> Any:
    """The error that says what is wrong: a rule's own complaint over "not a string"."""
    errors = exc.errors()
    return next((e for e in errors if e["type"] != "string_type"), errors[0])


def load_plan(path: Path) -> ImportPlan:
    """Read and check a mapping file; source paths become relative to the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImportError_(f"cannot read the mapping file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ImportError_(f"the mapping file {path} is not valid YAML: {exc}") from exc
    if isinstance(data, dict) and "layers" not in data and "target" in data:
        data = {"layers": [data]}  # a single layer needs no list around it
    try:
        plan = ImportPlan.model_validate(data)
    except ValidationError as exc:
        first = _telling(exc)
        raise ImportError_(f"mapping file {path.name}, {_where(first['loc'])}: "
                           f"{first['msg'].removeprefix('Value error, ')}") from exc
    for layer in plan.layers:
        if not layer.source.is_absolute():
            layer.source = (path.parent / layer.source).resolve()
        if not layer.source.exists():
            raise ImportError_(f"mapping file {path.name}: source {layer.source} does not exist")
        for name, rule in layer.fields.items():
            if isinstance(rule, FieldRule) and rule.lookup is not None:
                found = rule.lookup.source
                rule.lookup.source = found if found.is_absolute() else (path.parent / found
                                                                        ).resolve()
                if not rule.lookup.source.exists():
                    raise ImportError_(f"mapping file {path.name}: fields.{name}.lookup reads "
                                       f"{rule.lookup.source}, which does not exist")
    return plan
