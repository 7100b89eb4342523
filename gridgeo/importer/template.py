"""``gridgeo import --template``: a starting mapping written from a file's actual fields.

Each gridgeo field gets the source field whose name matches it, in English or in the
words Chinese offices use; fields with allowed words get a value map listing the
file's own values, with ``?`` where a person must choose.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import psycopg
import shapely
import yaml

from gridgeo.geometry.layer import metric_srid

from .mapping import LayerMapping
from .prepare import ImportContext
from .problems import ImportError_, LayerReport
from .rows import DERIVABLE
from .sources import find_coordinates, read_source
from .targets import SPECIAL_TARGETS, TARGETS, table_shape

SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": ("编码", "代码", "网格编码", "网格代码", "wgbm", "bm", "dm"),
    "name": ("名称", "网格名称", "名字", "姓名", "mc", "wgmc", "xm"),
    "level": ("级别", "层级", "网格级别", "网格层级", "jb"),
    "parent_code": ("上级编码", "上级代码", "父级编码", "所属上级", "sjbm"),
    "kind": ("类型", "网格类型", "lx"),
    "dedicated_type": ("专属类型", "专属网格类型"),
    "difficulty": ("难度", "难度等级", "等级"),
    "households": ("户数", "hs"),
    "population": ("人口", "人数", "rk"),
    "station_code": ("派出所编码", "派出所代码", "所属派出所"),
    "address_code": ("地址编码", "地址代码", "门牌编码", "dzbm"),
    "province": ("省", "省份"), "city": ("市", "地市"), "county": ("县", "区县", "县区"),
    "township": ("乡镇", "街道", "乡镇街道"), "village": ("村", "社区", "村社区", "村居"),
    "road": ("路", "街路巷", "道路", "街巷"), "house_number": ("门牌号", "门牌", "号"),
    "building": ("楼栋", "楼号", "栋"), "unit": ("单元",), "room": ("房间", "户室", "室"),
    "full_address": ("地址", "完整地址", "标准地址", "详细地址"),
    "adit_no": ("洞口编号", "矿洞编号", "编号"), "mineral": ("矿种", "矿产"),
    "seal_method": ("封闭方式", "封堵方式"), "sealed_on": ("封闭日期", "封堵日期", "封闭时间"),
    "status": ("状态", "现状"), "patrol_frequency_days": ("巡查周期", "巡查频次"),
    "responsible_unit": ("责任单位", "负责单位"), "elevation_m": ("高程", "海拔"),
    "slope_deg": ("坡度",), "gh_no": ("大棚编号", "编号"),
    "operator_name": ("经营者", "户主", "负责人"), "operator_phone": ("联系电话", "电话"),
    "operator_id_number": ("身份证号", "身份证"), "use": ("用途", "种植"),
    "built_year": ("建设年份", "建成年份"), "staff_no": ("工号", "人员编号", "编号"),
    "role": ("角色", "职务", "岗位"), "work_phone": ("工作电话", "电话", "手机"),
    "department_code": ("部门编码", "单位编码"), "active": ("在岗", "状态"),
    "email": ("邮箱", "电子邮箱", "电子邮件"), "wecom_id": ("企业微信", "企业微信号"),
    "dingtalk_id": ("钉钉", "钉钉号"),
    "grid_code": ("网格编码", "网格代码"), "police_grid_code": ("警格编码", "警务网格编码"),
    "case_no": ("案件编号", "事件编号", "编号"), "category_code": ("类别", "事件类别", "案件类别"),
    "title": ("标题", "事件名称"), "description": ("描述", "事件描述", "内容"),
    "colour": ("颜色", "紧急程度", "预警"), "source": ("来源", "事件来源"),
    "reported_at": ("上报时间", "发现时间"), "reporter_name": ("上报人", "举报人"),
    "reporter_phone": ("上报人电话", "举报人电话"), "road_class": ("道路等级", "等级"),
    "oneway": ("单行", "单向"),
}
# Words offices write, with gridgeo's values in order of preference; a suggestion is
# used only when the column allows it (staff.role is grid_worker, an assignment's worker).
WORDS: dict[str, tuple[str, ...]] = {
    "镇": ("town",), "乡": ("town",), "街道": ("town",), "片区": ("area",),
    "村": ("village",), "社区": ("village",), "单元网格": ("unit",), "网格": ("unit",),
    "微网格": ("micro",), "基础网格": ("basic",), "专属网格": ("dedicated",),
    "封闭": ("sealed",), "已封闭": ("sealed",), "疑似复采": ("suspected_reopened",),
    "复采": ("reopened",), "已复采": ("reopened",), "重新封闭": ("resealed",),
    "在用": ("in_use",), "闲置": ("idle",), "废弃": ("abandoned",), "已拆除": ("demolished",),
    "网格员": ("grid_worker", "worker"), "网格长": ("grid_leader", "leader"),
    "网格指导员": ("grid_instructor", "instructor"), "信息员": ("info_reporter", "reporter"),
    "志愿者": ("volunteer",), "民警": ("police_officer",), "巡查员": ("inspector",),
    "县道": ("county",), "乡道": ("township",), "村道": ("village",), "机耕路": ("track",),
    "小路": ("path",), "步道": ("path",),
}
ROAD_FIELDS = ("name", "road_class", "oneway")
MAX_VALUES = 20


def _scalar(value: str) -> str:
    return yaml.safe_dump(value, allow_unicode=True).splitlines()[0]


def guess_field(target_field: str, source_fields: list[str], taken: set[str]) -> str | None:
    """The source field for a gridgeo field: same name, a synonym, or a name containing one."""
    lower = {f.lower(): f for f in source_fields if f not in taken}
    words = (target_field, *SYNONYMS.get(target_field, ()))
    for word in words:
        if word.lower() in lower:
            return lower[word.lower()]
    for word in words[1:]:
        if len(word) > 1:
            for name_lower, name in lower.items():
                if word in name_lower:
                    return name
    return None


def write_template(conn: psycopg.Connection, source: Path, target: str,
                   layer: str | None = None) -> str:
    """A commented mapping file for ``source`` feeding ``target``."""
    if target not in TARGETS and target not in SPECIAL_TARGETS:
        raise ImportError_(f"target '{target}' is not something gridgeo imports; choose one "
                           f"of {', '.join([*TARGETS, *SPECIAL_TARGETS])}")
    if target == "dem" or source.suffix.lower() == ".pbf":
        return yaml.safe_dump({"layers": [{"target": target, "source": str(source)}]},
                              allow_unicode=True, sort_keys=False)
    mapping = LayerMapping(target=target, source=source, layer=layer)
    metric = metric_srid(conn)
    report = LayerReport(mapping.label, target, str(source))
    from .prepare import read_positions

    spec = TARGETS.get(target)
    needs_geometry = spec is None or spec.geometry is not None
    table = read_source(source, layer, "auto", None, needs_geometry=False)
    if needs_geometry and table.crs is None and shapely.is_missing(table.geoms).all():
        mapping.coordinates = find_coordinates(table.fields)
    try:
        table = read_positions(mapping, ImportContext(conn, None, metric), report,
                               needs_geometry)
    except ImportError_ as exc:
        report.notes.append(str(exc))
    fields = ROAD_FIELDS if spec is None else table_shape(conn, spec.table).importable(spec)
    shape = table_shape(conn, spec.table) if spec else None
    lines = [f"# gridgeo import mapping for {source.name} -> {target}",
             f"# the file's fields: {', '.join(table.fields)}",
             *(f"# {note}" for note in report.notes),
             "layers:", f"  - target: {target}", f"    source: {source}"]
    if layer:
        lines.append(f"    layer: {layer}")
    if mapping.coordinates:
        coords = mapping.coordinates.model_dump(exclude_none=True)
        flow = yaml.safe_dump(coords, default_flow_style=True, allow_unicode=True).strip()
        lines.append(f"    coordinates: {flow}")
    lines += ["    encoding: auto", "    crs: auto", "    offset: none", "    fields:"]
    taken: set[str] = set()
    matched = 0
    for name in fields:
        found = guess_field(name, table.fields, taken)
        column = shape.columns.get(name) if shape else None
        derivable = name in DERIVABLE.get(target, set())
        need = (" (filled from the code when absent)" if derivable else
                " (required)" if column is not None and column.required else "")
        if found is None and name == "road_class":
            from .roads import ROAD_CLASSES

            # A network without attributes (a town's track survey) still needs a class.
            lines.append(f"      road_class: {{default: village}}  # no road class field: "
                         f"every line gets this one; one of {', '.join(ROAD_CLASSES)}")
            continue
        if found is None:
            lines.append(f"      # {name}:{need} no matching field found")
            continue
        matched += 1
        taken.add(found)
        allowed = column.allowed if column else ()
        values = Counter(str(r[found]) for r in table.rows if r.get(found) is not None)
        unknown = [v for v, _ in values.most_common(MAX_VALUES) if v not in allowed]
        if allowed and unknown:
            lines.append(f"      {name}:  # allowed: {', '.join(allowed)}")
            lines.append(f"        from: {_scalar(found)}")
            lines.append("        map:")
            for value in unknown:
                word = next((w for w in WORDS.get(value, ()) if w in allowed), "?")
                lines.append(f"          {_scalar(value)}: {_scalar(word)}")
        else:
            lines.append(f"      {name}: {_scalar(found)}{'  #' + need if need else ''}")
    if not matched and spec is not None:
        lines[2:2] = [f"# none of the file's fields matched a field of {target}; it needs "
                      f"{', '.join(_needed(conn, target))}: write each as "
                      "'gridgeo_field: SOURCE_FIELD' under fields:"]
    return "\n".join(lines) + "\n"


def _needed(conn: psycopg.Connection, target: str) -> list[str]:
    """The fields a target cannot do without (those a code can fill not counted)."""
    spec = TARGETS[target]
    shape = table_shape(conn, spec.table)
    required = shape.required(spec)
    derivable = DERIVABLE.get(target, set())
    return [name for name in shape.importable(spec) if name in required
            and name not in derivable]
