"""Values a mapping computes instead of reading them: real files lack gridgeo's codes.

```yaml
fields:
  code: {prefix: "410399101001", sequence: 3}     # 410399101001001, ...002, ... by row
  code: {prefix: "{村编码}", sequence: 3}          # numbered within each village
  code: {format: "410399101{村号:03}"}             # text built from the row's fields
  parent_code: {from: 编码, first: 12}             # the first 12 characters of a code
  kind: {value: basic}                             # the same value on every row
  village_code: {from: 村名, lookup: {source: 村.csv, key: 名称, value: 编码}}
```

In ``format`` and ``prefix``, ``{field}`` is the row's value of that source field and
``{row}`` its row number (1 = the first data row); ``{field:03}`` pads a number to three
digits. Every mistake is a sentence naming the field and what to write instead.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .convert import ConversionError, as_int, as_text
from .problems import ImportError_

Compute = Callable[[dict[str, Any], int], Any]
EXPRESSION_KEYS = ("format", "prefix", "sequence", "first", "value", "lookup")


class ExpressionError(ValueError):
    """A computed value that cannot be made for one row; the message is the reason."""


def names_in(template: str, where: str) -> list[str]:
    """The ``{names}`` a format text uses, refusing what str.format would trip over."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ImportError_(f"{where} '{template}' is not a valid text with {{field}} "
                           f"places ({exc}); write literal braces as {{{{ and }}}}") from exc
    names = [name for _, name, _, _ in parsed if name is not None]
    if "" in names or any(n.isdigit() for n in names):
        raise ImportError_(f"{where} '{template}' has an empty or numbered {{}}; name the "
                           "source field inside the braces, e.g. {村号}")
    return names


def _plain(value: Any) -> Any:
    """A row value as format() should see it: whole numbers as int, the rest as text."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else as_text(value)
    if isinstance(value, int | float):
        try:
            return as_int(value)
        except ConversionError:
            return as_text(value)
    return as_text(value).strip()


class _RowFormatter(string.Formatter):
    """str.format, except that a padded place ({F:03}) pads digits read as text too."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        if format_spec and isinstance(value, str) and value.isdigit():
            value = int(value)
        return super().format_field(value, format_spec)


_FORMATTER = _RowFormatter()


def render(template: str, source: dict[str, Any], row_no: int, where: str) -> str:
    values = {name: _plain(value) for name, value in source.items()}
    values["row"] = row_no
    try:
        return _FORMATTER.vformat(template, (), values)
    except (ValueError, TypeError, KeyError) as exc:
        raise ExpressionError(f"{where} '{template}' cannot be filled from this row ({exc}); "
                              "a padded place such as {F:03} needs a whole number") from None


def check_names(template: str, source_fields: list[str], where: str) -> None:
    unknown = [n for n in names_in(template, where) if n != "row" and n not in source_fields]
    if unknown:
        raise ImportError_(f"{where} names {{{unknown[0]}}}, which the file does not have; its "
                           f"fields are {', '.join(source_fields)} (and {{row}}, the row number)")


def sequence(prefix: str, digits: int, source_fields: list[str], where: str) -> Compute:
    """Prefix (itself a format text) and a counter of ``digits`` digits per prefix."""
    check_names(prefix, source_fields, f"{where}.prefix")
    counters: Counter[str] = Counter()

    def compute(source: dict[str, Any], row_no: int) -> str:
        head = render(prefix, source, row_no, f"{where}.prefix")
        counters[head] += 1
        n = counters[head]
        if n >= 10 ** digits:
            raise ExpressionError(f"{where}: number {n} under {head} needs more than "
                                  f"{digits} digits; raise sequence: to {digits + 1}")
        return f"{head}{n:0{digits}d}"
    return compute


def formatted(template: str, source_fields: list[str], where: str) -> Compute:
    check_names(template, source_fields, where)
    return lambda source, row_no: render(template, source, row_no, where)


def first_chars(field: str, count: int, where: str) -> Compute:
    def compute(source: dict[str, Any], _row: int) -> str | None:
        value = source.get(field)
        if value is None or as_text(value).strip() == "":
            return None
        text = as_text(value).strip()
        if len(text) < count:
            raise ExpressionError(f"{where}: {field} '{text}' is shorter than the {count} "
                                  "characters first: takes")
        return text[:count]
    return compute


def lookup(field: str, table: dict[str, Any], described: str, where: str) -> Compute:
    def compute(source: dict[str, Any], _row: int) -> Any:
        value = source.get(field)
        if value is None or as_text(value).strip() == "":
            return None
        key = as_text(value).strip()
        if key not in table:
            raise ExpressionError(f"{where}: {field} '{key}' is not in {described}")
        return table[key]
    return compute


def lookup_table(path: Path, key: str, value: str, where: str) -> dict[str, Any]:
    """The key → value pairs of another file (CSV, Excel, any table the importer reads)."""
    from .sources import read_source

    table = read_source(path, None, "auto", None, needs_geometry=False)
    for name in (key, value):
        if name not in table.fields:
            raise ImportError_(f"{where}: {path.name} has no field '{name}'; its fields are "
                               f"{', '.join(table.fields)}")
    pairs: dict[str, Any] = {}
    for row in table.rows:
        if row.get(key) is not None:
            pairs.setdefault(as_text(row[key]).strip(), row.get(value))
    return pairs
