"""What an import reports: rows it rejects, problems of the whole layer, and counts."""

from __future__ import annotations

from dataclasses import dataclass, field


class ImportError_(Exception):
    """The import cannot go on; the message is a sentence saying what to fix."""


@dataclass(frozen=True)
class Reject:
    """One source row that cannot be written, and why."""

    layer: str
    row: int  # 1-based, as a spreadsheet or attribute table shows it
    key: str | None
    reason: str
    # A reason many rows share (a code layout nothing fits, a rejected parent): the report
    # says it once, with the rows, instead of once per row.
    cause: str | None = None

    def sentence(self) -> str:
        key = f" ({self.key})" if self.key else ""
        return f"{self.layer} row {self.row}{key}: {self.reason}"


@dataclass(frozen=True)
class LayerProblem:
    """A problem of several rows together (gaps, overlaps), not of one row."""

    layer: str
    kind: str
    codes: tuple[str, ...]
    detail: str
    area_m2: float | None = None

    def sentence(self) -> str:
        area = f" ({self.area_m2:,.0f} m²)" if self.area_m2 is not None else ""
        return f"{self.layer}: {self.kind}{area} {', '.join(self.codes)}: {self.detail}"


@dataclass
class LayerReport:
    """Everything one mapped layer produced."""

    name: str
    target: str
    source: str
    rows: int = 0
    notes: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    problems: list[LayerProblem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # inserted, updated, unchanged...


@dataclass
class ImportReport:
    layers: list[LayerReport] = field(default_factory=list)
    written: bool = False
    dry_run: bool = False

    @property
    def rejects(self) -> list[Reject]:
        return [r for layer in self.layers for r in layer.rejects]

    @property
    def problems(self) -> list[LayerProblem]:
        return [p for layer in self.layers for p in layer.problems]

    @property
    def clean(self) -> bool:
        return not self.rejects and not self.problems
