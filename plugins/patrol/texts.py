"""The words a patrol answer is written in: the request's language, Chinese by default.

Route names, stop tasks and the reasons stops were left out reach the worker's phone
(GeoJSON, GPX): a Chinese deployment's workers read Chinese. ``language: en`` (or the
request's ``lang``) asks for English.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

TEXTS: dict[str, dict[str, str]] = {
    "adit_task": {
        "en": "inspect sealed adit {code} ({status}), due {due}: scan its QR code",
        "zh": "巡查封闭矿洞{code}（{status}），应巡日期{due}：扫描洞口二维码"},
    "greenhouse_task": {
        "en": "scan greenhouse {code} ({status}): not scanned this month",
        "zh": "扫码巡查大棚{code}（{status}）：本月尚未扫码"},
    "incident_task": {
        "en": "check open incident {code} ({colour}): {title}",
        "zh": "核查未结事件{code}（{colour}）：{title}"},
    "feature_task": {"en": "visit {collection} {code}", "zh": "前往{collection} {code}"},
    "route_name": {"en": "{area} {day} patrol {n}", "zh": "{area} {day} 巡查路线{n}"},
    "too_far": {
        "en": "{distance:.0f} m from the nearest road (more than {limit:g} m): not reachable "
              "on the network",
        "zh": "距最近道路{distance:.0f}米（超过{limit:g}米）：路网无法到达"},
    "not_connected": {
        "en": "not connected to the start and end on the road network for {mode}",
        "zh": "{mode}路网上与起点、终点不连通"},
    "window_unmet": {
        "en": "its time window cannot be met even by a patrol going there directly",
        "zh": "即使直接前往也赶不上其时间窗"},
    "out_of_reach": {
        "en": "a patrol of {hours} cannot reach it and come back",
        "zh": "{hours}的巡查无法往返"},
    "too_much_work": {
        "en": "more work than {patrols} patrol(s) of {hours} can do; the stops kept weigh "
              "more (this one: {priority})",
        "zh": "超出{patrols}条{hours}巡查路线的工作量；已优先安排更紧迫的点位（本点：{priority}）"},
    "hours": {"en": "{hours:g} h", "zh": "{hours:g}小时"},
    "unlimited": {"en": "unlimited time", "zh": "不限时"},
    "walking": {"en": "walking", "zh": "步行"},
    "driving": {"en": "driving", "zh": "驾车"},
}


def text(key: str, language: str, **values: Any) -> str:
    """The sentence ``key`` in ``language`` (English when a language lacks it)."""
    forms = TEXTS[key]
    return forms.get(language, forms["en"]).format(**values)


def language_of(asked: Any, header: str | None = None) -> str | None:
    """``zh`` or ``en`` from an input or a request's ``lang`` / Accept-Language, else None."""
    for value in (asked, header):
        if isinstance(value, str) and value:
            first = value.split(",")[0].strip().lower()
            if first.startswith("zh"):
                return "zh"
            if first.startswith("en"):
                return "en"
    return None
