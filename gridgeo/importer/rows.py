"""Source rows to gridgeo rows: mapped, converted and checked one by one.

Every rule a single row can break is checked here, with a sentence naming the field and
what to fix: missing required values, values that are not of the column's type, words
outside the column's allowed list, codes outside the national layout or the county,
and codes that disagree with their parent's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from gridgeo.grid_codes import CODE_FORMAT, FORMAT_WORDS, parent_matches

from . import expressions
from .convert import ConversionError, as_text, convert
from .expressions import Compute, ExpressionError
from .mapping import FieldRule, LayerMapping
from .problems import ImportError_
from .targets import TableShape, Target

# The natural code of each target starts with the county's 6-digit GB/T 2260 code.
COUNTY_CODED = {"grids": "code", "police_grids": "code", "addresses": "address_code",
                "mine_tunnels": "adit_no", "greenhouses": "gh_no", "incidents": "case_no"}
# Fields the importer can fill from a code when the file lacks them.
DERIVABLE = {"grids": {"level", "parent_code", "village_code", "kind"},
             "addresses": {"village_code"}}
_LEVEL_BY_CODE = [(level, CODE_FORMAT[level]) for level in CODE_FORMAT]


@dataclass(frozen=True)
class FieldPlan:
    """Which source field (or only a default, or a computation) feeds each gridgeo field."""

    target_field: str
    source_field: str | None
    values: dict[str, Any]
    default: Any
    compute: Compute | None = None


def _computation(rule: FieldRule, where: str, source_fields: list[str]) -> Compute | None:
    """The rule's computed value, checked against the file's fields now, not per row."""
    if rule.format is not None:
        return expressions.formatted(rule.format, source_fields, where + ".format")
    if rule.prefix is not None and rule.sequence is not None:
        return expressions.sequence(rule.prefix, rule.sequence, source_fields, where)
    if rule.first is not None and rule.source is not None:
        return expressions.first_chars(rule.source, rule.first, where)
    if rule.lookup is not None and rule.source is not None:
        found = rule.lookup
        table = expressions.lookup_table(found.source, found.key, found.value, where + ".lookup")
        return expressions.lookup(rule.source, table, f"{found.source.name}'s {found.key}",
                                  where)
    if rule.value is not None:
        constant = rule.value
        return lambda _source, _row: constant
    return None


def field_plans(mapping: LayerMapping, shape: TableShape, target: Target,
                source_fields: list[str]) -> list[FieldPlan]:
    """The mapping checked against the table and the file; same-named fields map themselves."""
    importable = shape.importable(target)
    plans = []
    for name in mapping.fields:
        if name not in importable:
            raise ImportError_(f"{mapping.label}: fields.{name}: {target.name} has no field "
                               f"'{name}'; it has {', '.join(importable)}")
    for name in importable:
        rule = mapping.rule(name)
        if rule is None:
            if name in source_fields:
                plans.append(FieldPlan(name, name, {}, None))
            continue
        if rule.source is not None and rule.source not in source_fields:
            raise ImportError_(f"{mapping.label}: fields.{name} reads '{rule.source}', which "
                               f"the file does not have; its fields are "
                               f"{', '.join(source_fields)}")
        plans.append(FieldPlan(name, rule.source, {as_text(k): v for k, v in rule.map.items()},
                               rule.default, _computation(rule, f"{mapping.label}: fields.{name}",
                                                          source_fields)))
    planned = {p.target_field for p in plans} | DERIVABLE.get(target.name, set())
    required = shape.required(target)
    missing = [name for name in importable if name in required and name not in planned]
    if missing:
        raise ImportError_(f"{mapping.label}: {target.name} needs {', '.join(missing)}, but the "
                           "mapping gives no source field or default for "
                           f"{'it' if len(missing) == 1 else 'them'} (add them under fields:)")
    return plans


def mapped_value(plan: FieldPlan, source: dict[str, Any], row_no: int = 0) -> Any:
    """The gridgeo value of one field for one source row (1-based ``row_no``); a
    computation that cannot be made raises ExpressionError with the reason."""
    if plan.compute is not None:
        value = plan.compute(source, row_no)
    else:
        value = source.get(plan.source_field) if plan.source_field else None
    if value is not None and plan.values:
        value = plan.values.get(as_text(value).strip(), value)
    return plan.default if value is None else value


NO_LAYOUT = "fits no grid code layout"
_FIX_LAYOUT = ("fix the codes, or give level: and build the code with fields.code.format or "
               "prefix/sequence")


def _layouts() -> str:
    return "; ".join(f"{level} {FORMAT_WORDS[level]}" for level in CODE_FORMAT)


def no_layout(code: str) -> str:
    """The reason for a code no level's layout fits."""
    return f"code {code} {NO_LAYOUT} ({_layouts()}): {_FIX_LAYOUT}"


def _grid_defaults(row: dict[str, Any], village_parents: dict[str, str]) -> None:
    """Level, parent and village follow from a grid's code where the layout fixes them;
    a village's parent is its town's area when the town has exactly one."""
    code = row.get("code")
    if code is None:
        return
    if row.get("level") is None:
        row["level"] = next((lv for lv, rx in _LEVEL_BY_CODE if rx.match(code)), None)
    level = row.get("level")
    if row.get("parent_code") is None and level in ("area", "unit", "micro"):
        row["parent_code"] = code[: {"area": 9, "unit": 12, "micro": 15}[level]]
    if row.get("parent_code") is None and level == "village":
        row["parent_code"] = village_parents.get(code[:9])
    if row.get("village_code") is None and level in ("village", "unit", "micro"):
        row["village_code"] = code[:12]
    row.setdefault("kind", "basic")
    if row.get("kind") is None:
        row["kind"] = "basic"


def _grid_problem(row: dict[str, Any]) -> str | None:
    code, level, parent = row.get("code"), row.get("level"), row.get("parent_code")
    if level not in CODE_FORMAT:
        return f"code {code} fits no grid level; give level: (town, area, village, unit, micro)"
    if not CODE_FORMAT[level].match(code or ""):
        return f"code {code} of a {level} grid is not {FORMAT_WORDS[level]}"
    if level == "village" and parent is None:
        return (f"village grid {code} needs its area as parent_code (the town's 9 digits, 'P' "
                f"and 2 digits); town {str(code)[:9]} has no area or several in gridgeo and this "
                "import, so map parent_code")
    if level != "town" and (parent is None or not parent_matches(level, str(code), parent)):
        return f"code {code} disagrees with its parent {parent}"
    if level == "town" and parent is not None:
        return f"town grid {code} cannot have a parent ({parent})"
    return None


def _address_problem(row: dict[str, Any]) -> str | None:
    code = row.get("address_code") or ""
    if row["village_code"] != code[:12]:
        return (f"village_code {row['village_code']} disagrees with address code {code}, "
                "whose first 12 digits are its village")
    return None


def check_row(source: dict[str, Any], plans: list[FieldPlan], shape: TableShape,
              target: Target, county_code: str | None, required: frozenset[str],
              zone: ZoneInfo | None = None, row_no: int = 0,
              village_parents: dict[str, str] | None = None
              ) -> tuple[dict[str, Any], str | None]:
    """The gridgeo row for one source row, and the first reason it cannot be written.

    ``required`` is ``shape.required(target)``, computed once per layer, not per row;
    ``village_parents`` maps a town's code to its only area (a village's parent)."""
    row: dict[str, Any] = {}
    for plan in plans:
        try:
            value = mapped_value(plan, source, row_no)
        except ExpressionError as exc:
            return row, str(exc)
        column = shape.columns.get(plan.target_field)
        try:
            row[plan.target_field] = convert(value, column.type if column else "text",
                                             *([zone] if zone else []))
        except ConversionError as exc:
            return row, f"{plan.target_field} '{value}' {exc}"
    if target.name == "grids":
        _grid_defaults(row, village_parents or {})
        if row.get("code") is not None and row.get("level") is None:
            return row, no_layout(str(row["code"]))
    if target.name == "addresses" and row.get("village_code") is None and row.get("address_code"):
        row["village_code"] = str(row["address_code"])[:12]
    for name, column in shape.columns.items():
        value = row.get(name)
        if value is None:
            if name in required:
                return row, f"{name} is empty; every {target.name} row needs one"
            continue
        if column.allowed and value not in column.allowed:
            return row, (f"{name} '{value}' is not one of {', '.join(column.allowed)}; "
                         f"map it with fields.{name}.map")
        for pattern in column.patterns:
            if re.search(pattern, str(value)) is None:
                return row, f"{name} {value} does not follow the national code layout"
    key_field = COUNTY_CODED.get(target.name)
    if county_code and key_field and not str(row.get(key_field, "")).startswith(county_code):
        return row, f"{key_field} {row.get(key_field)} is not in county {county_code}"
    if target.name == "grids":
        return row, _grid_problem(row)
    if target.name == "addresses":
        return row, _address_problem(row)
    return row, None


def key_of(row: dict[str, Any], target: Target) -> str:
    return "/".join(str(row.get(k)) for k in target.key)


def cause_of(reason: str) -> str | None:
    """The reason many rows share, said once in the report (see Reject.cause)."""
    if NO_LAYOUT in reason:  # the same words for every such row, with the layouts
        return f"the codes fit no grid code layout ({_layouts()}): {_FIX_LAYOUT}"
    return None


def adopt_areas(context: Any, checked: list[tuple[dict[str, Any], str | None]]
                ) -> list[tuple[dict[str, Any], str | None]]:
    """This layer's areas join the known ones; a village whose parent was unknown gets its
    town's only area and is checked again."""
    assert context.areas is not None
    for row, reason in checked:
        if reason is None and row.get("level") == "area":
            context.areas.setdefault(str(row["code"])[:9], set()).add(str(row["code"]))
    parents = context.village_parents()
    out = []
    for row, reason in checked:
        if (reason is not None and row.get("level") == "village"
                and row.get("parent_code") is None and row.get("code")):
            parent = parents.get(str(row["code"])[:9])
            if parent is not None:
                row["parent_code"] = parent
                reason = _grid_problem(row)
        out.append((row, reason))
    return out
