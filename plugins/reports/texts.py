"""The reports' words in Chinese (the default) and English."""

from __future__ import annotations

LANGUAGES = ("zh", "en")

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "weekly": "周报", "monthly": "月报", "quarterly": "季报",
        "title": "{town}网格化管理{kind}", "period": "统计时段：{start} 至 {end}（{label}）",
        "made_at": "生成时间：{made_at}",
        "accepted": "受理", "resolved": "办结", "in_progress": "在办", "invalid": "无效",
        "on_time": "按时办结", "overdue": "超期", "on_time_rate": "按时办结率",
        "totals": "全镇总数", "figure": "指标", "count": "数量",
        "category": "按事件类别", "grid": "按网格", "department": "按责任部门",
        "worker": "按网格员", "colour": "按颜色等级（按时办结率）",
        "colour_cases": "{colour}事件清单（{rhythm}）", "key": "编码", "name": "名称",
        "case_no": "案件编号", "state": "状态", "deadline": "办结时限",
        "yellow": "黄色", "orange": "橙色", "red": "红色",
        "rhythm_yellow": "日清周报", "rhythm_orange": "周清月报", "rhythm_red": "月清季报",
        "none": "本期无此类事件。", "yes": "是", "no": "否", "unassigned": "未指定",
        "workers_left_out": "网格员姓名属于个人信息、敏感类别的名称仅向有权查看的角色提供；"
                            "此处敏感类别合并计数。",
        "town": "本镇", "category_column": "类别", "grid_column": "网格",
        "sensitive_categories": "敏感类别（合计，不列名称）",
    },
    "en": {
        "weekly": "weekly report", "monthly": "monthly report",
        "quarterly": "quarterly report",
        "title": "{town} grid management {kind}", "period": "Period: {start} to {end} ({label})",
        "made_at": "Made at: {made_at}",
        "accepted": "Accepted", "resolved": "Resolved", "in_progress": "In progress",
        "invalid": "Invalid", "on_time": "Resolved on time", "overdue": "Overdue",
        "on_time_rate": "On-time rate", "totals": "Town totals", "figure": "Figure",
        "count": "Count", "category": "By category", "grid": "By grid",
        "department": "By department", "worker": "By grid worker",
        "colour": "By colour (on-time rate)", "colour_cases": "{colour} cases ({rhythm})",
        "key": "Code", "name": "Name", "case_no": "Case number", "state": "State",
        "deadline": "Deadline", "yellow": "Yellow", "orange": "Orange", "red": "Red",
        "rhythm_yellow": "cleared daily, reported weekly",
        "rhythm_orange": "cleared weekly, reported monthly",
        "rhythm_red": "cleared monthly, reported quarterly",
        "none": "No such cases in this period.", "yes": "yes", "no": "no",
        "unassigned": "unassigned",
        "workers_left_out": "Grid workers' names (personal data) and the names of sensitive "
                            "categories are given only to the roles that may see them; "
                            "sensitive categories are counted together here.",
        "town": "The town", "category_column": "Category", "grid_column": "Grid",
        "sensitive_categories": "sensitive categories (together, unnamed)",
    },
}


def words(language: str) -> dict[str, str]:
    return TEXTS[language]
