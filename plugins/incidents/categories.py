"""gridgeo's standard incident categories: the GB/T 30428 family's main classes with the
sub-categories towns report most. The numbering (01–06 and two digits more) is gridgeo's
own; a town with other categories adds them from a plugin (gridgeo_incident_categories)
and maps its own words onto codes when it imports old cases.

SENSITIVE names the sensitive categories (disputes between people, domestic matters,
petitions): only the roles that handle such cases read them (docs/security.md).
"""

from __future__ import annotations

from gridgeo.contributions import IncidentCategory

CATEGORIES = (
    ("01", "市容环境", "City appearance", "city_appearance", None),
    ("0101", "暴露垃圾", "Exposed rubbish", "city_appearance", "01"),
    ("0102", "积存垃圾渣土", "Accumulated rubbish and muck", "city_appearance", "01"),
    ("0103", "道路不洁", "Dirty road", "city_appearance", "01"),
    ("0104", "焚烧垃圾秸秆", "Burning rubbish or straw", "city_appearance", "01"),
    ("02", "宣传广告", "Advertising", "advertising", None),
    ("0201", "非法小广告", "Illegal small advertisements", "advertising", "02"),
    ("0202", "违规户外广告", "Unauthorised outdoor advertising", "advertising", "02"),
    ("0203", "破损广告牌匾", "Damaged signboard", "advertising", "02"),
    ("03", "施工管理", "Construction", "construction", None),
    ("0301", "违法建设", "Illegal building", "construction", "03"),
    ("0302", "施工扰民", "Construction noise", "construction", "03"),
    ("0303", "工地扬尘", "Construction dust", "construction", "03"),
    ("0304", "施工占道", "Construction blocking the road", "construction", "03"),
    ("04", "突发事件", "Emergencies", "emergency", None),
    ("0401", "安全隐患", "Safety hazard", "emergency", "04"),
    ("0402", "火灾", "Fire", "emergency", "04"),
    ("0403", "地质灾害", "Landslide or rockfall", "emergency", "04"),
    ("0404", "防汛险情", "Flood danger", "emergency", "04"),
    ("0405", "交通事故", "Traffic accident", "emergency", "04"),
    ("05", "街面秩序", "Street order", "street_order", None),
    ("0501", "乱停车", "Illegal parking", "street_order", "05"),
    ("0502", "占道经营", "Street vending on the road", "street_order", "05"),
    ("0503", "店外经营", "Trading outside the shop", "street_order", "05"),
    ("0504", "乱堆物料", "Materials piled in the street", "street_order", "05"),
    ("06", "扩展事件", "Extension classes", "extension", None),
    ("0601", "邻里纠纷", "Neighbour dispute", "extension", "06"),
    ("0602", "大棚房", "Greenhouse turned into housing", "extension", "06"),
    ("0603", "矿洞复采", "Sealed adit reopened", "extension", "06"),
    ("0604", "非法采矿", "Illegal mining", "extension", "06"),
    ("0605", "森林防火", "Forest fire risk", "extension", "06"),
    ("0606", "劳资纠纷", "Wage dispute", "extension", "06"),
    ("0607", "环境污染", "Pollution", "extension", "06"),
    ("0608", "家庭纠纷", "Domestic matter", "extension", "06"),
    ("0609", "信访事项", "Petition (xinfang)", "extension", "06"),
)


# Where a case starts more urgent than yellow (clear within a day): a danger to life or a
# matter that needs a department (orange: within a week; red: within a month, and watched).
DEFAULT_COLOURS = {"0301": "orange", "0401": "orange", "0402": "red", "0403": "red",
                   "0404": "red", "0405": "orange", "0603": "red", "0604": "red",
                   "0605": "orange", "0607": "orange"}


# Police matters (警网融合): the police answer them with the grid, within 15 minutes of dispatch.
POLICE_RESPONSE_MINUTES = {"0405": 15, "0601": 15, "0606": 15}


# Disputes between people, domestic matters and petitions: read only by the roles that
# handle them (gridgeo.deployment sensitive_roles).
SENSITIVE = frozenset({"0601", "0606", "0608", "0609"})


def standard_categories() -> list[IncidentCategory]:
    return [IncidentCategory(code, name_zh, name_en, incident_class, parent,
                             DEFAULT_COLOURS.get(code, "yellow"),
                             POLICE_RESPONSE_MINUTES.get(code), code in SENSITIVE)
            for code, name_zh, name_en, incident_class, parent in CATEGORIES]
