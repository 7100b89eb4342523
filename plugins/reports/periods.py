"""Report periods in local days: ISO weeks (周报), calendar months (月报), quarters (季报).

Each kind has its colour (日清周报 / 周清月报 / 月清季报): yellow cases are cleared within
the day and counted in the weekly report, orange within the week and counted monthly,
red within the month and counted quarterly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

KINDS = ("weekly", "monthly", "quarterly")
KIND_COLOUR = {"weekly": "yellow", "monthly": "orange", "quarterly": "red"}
_LABELS = {"weekly": re.compile(r"^(\d{4})-W(\d{2})$"),
           "monthly": re.compile(r"^(\d{4})-(\d{2})$"),
           "quarterly": re.compile(r"^(\d{4})-Q([1-4])$")}


class PeriodError(ValueError):
    """A period label or kind that names no period; the message says what to send."""


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date  # included

    @property
    def colour(self) -> str:
        return KIND_COLOUR[self.kind]

    @property
    def label(self) -> str:
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "monthly":
            return f"{self.start.year}-{self.start.month:02d}"
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def containing(kind: str, day: date) -> Period:
    """The period of ``kind`` that ``day`` falls in."""
    if kind == "weekly":
        start = day - timedelta(days=day.isoweekday() - 1)
        return Period(kind, start, start + timedelta(days=6))
    months = 1 if kind == "monthly" else 3
    first_month = day.month if kind == "monthly" else (day.month - 1) // 3 * 3 + 1
    start = date(day.year, first_month, 1)
    return Period(kind, start, _month_start(day.year, first_month + months) - timedelta(days=1))


def last_complete(kind: str, today: date) -> Period:
    """The latest period of ``kind`` that ended before ``today``: the one a report is due for
    (on Monday the past week, on the 1st the past month, on a quarter's first day the past
    quarter)."""
    return containing(kind, containing(kind, today).start - timedelta(days=1))


def kind_of(label: str) -> str:
    for kind, pattern in _LABELS.items():
        if pattern.match(label):
            return kind
    raise PeriodError(f"period must look like 2026-W48 (a week), 2026-11 (a month) or "
                      f"2026-Q4 (a quarter); got {label!r}.")


def parse(label: str, kind: str | None = None) -> Period:
    """The period a label names; ``kind``, when given, must agree with the label."""
    if kind is not None and kind not in KINDS:
        raise PeriodError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}.")
    found = kind_of(label)
    if kind is not None and kind != found:
        raise PeriodError(f"period {label} is a {found} period, not a {kind} one.")
    match = _LABELS[found].match(label)
    assert match is not None  # kind_of matched it
    year, number = int(match[1]), int(match[2])
    try:
        if found == "weekly":
            return containing(found, date.fromisocalendar(year, number, 1))
        if found == "monthly":
            return containing(found, date(year, number, 1))
    except ValueError:
        unit = "week" if found == "weekly" else "month"
        raise PeriodError(f"{label} is not a {unit} of that year.") from None
    return containing(found, date(year, number * 3 - 2, 1))
