"""Which stops matter most when a patrol cannot visit them all.

A stop's weight is its prize in the prize-collecting route problem: the solver keeps the
stops whose weights add up most. Days overdue count most (an adit 3,583 days overdue
before one due yesterday), then the urgency of an open case's colour (yellow must be
cleared within a day, orange a week, red a month), then an adit's risk (reopened or
suspected of it).
"""

from __future__ import annotations

from dataclasses import dataclass

# A week overdue is worth one more ordinary stop.
DAYS_PER_UNIT = 7.0
COLOUR_URGENCY = {"yellow": 3.0, "orange": 2.0, "red": 1.0}
COLOUR_ZH = {"yellow": "黄色", "orange": "橙色", "red": "红色"}
ADIT_RISK = {"reopened": 4.0, "suspected_reopened": 3.0, "resealed": 1.0, "sealed": 0.0}


@dataclass(frozen=True)
class Priority:
    """What makes one stop more pressing than another."""

    days_overdue: int = 0
    colour: str | None = None  # an open case's urgency colour
    risk: str | None = None  # a sealed adit's status

    @property
    def weight(self) -> float:
        return (1.0 + max(self.days_overdue, 0) / DAYS_PER_UNIT
                + COLOUR_URGENCY.get(self.colour or "", 0.0) + ADIT_RISK.get(self.risk or "", 0.0))

    def reason(self, language: str = "en") -> str:
        """Why this stop weighs what it does, for the answer's list of left-out stops."""
        parts = []
        zh = language == "zh"
        days = self.days_overdue
        if days > 0:
            parts.append(f"逾期{days}天" if zh else f"{days} days overdue")
        if self.colour:
            colour = COLOUR_ZH.get(self.colour, self.colour)
            parts.append(f"{colour}事件" if zh else f"a {self.colour} case")
        if self.risk and ADIT_RISK.get(self.risk, 0.0) > 0:
            parts.append(f"状态{self.risk}" if zh else f"status {self.risk}")
        if not parts:
            return "到期" if zh else "due"
        return "，".join(parts) if zh else ", ".join(parts)
