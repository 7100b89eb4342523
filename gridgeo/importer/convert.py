"""Source values to the column types gridgeo's tables use, with a sentence when they don't fit.

Spreadsheets turn codes into numbers (410399100001.0) and dates into many spellings;
Chinese offices write 是/否 and 2021年3月5日. Times without a zone are in the deployment's
time zone (gridgeo.timezone).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")  # gridgeo.timezone.DEFAULT_TIME_ZONE
_TRUE = {"true", "t", "yes", "y", "1", "是", "有", "在岗", "启用", "√"}
_FALSE = {"false", "f", "no", "n", "0", "否", "无", "离岗", "停用", "×"}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
_CJK_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$")


class ConversionError(ValueError):
    """The value does not fit the column; the message ends a sentence ("is not a date")."""


# Above this a double cannot hold every integer: a 17-digit micro-grid or 19-digit address
# code typed into a spreadsheet as a number has already lost its last digits.
_EXACT_FLOAT = 2**53


def as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        if abs(value) > _EXACT_FLOAT:
            raise ConversionError("was stored as a number and lost its last digits; format "
                                  "the column as text in the spreadsheet and enter it again")
        return str(int(value))  # a code a spreadsheet stored as a number
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def as_int(value: Any) -> int:
    try:
        number = float(as_text(value).replace(",", ""))
    except ValueError:
        raise ConversionError("is not a whole number") from None
    if not number.is_integer():
        raise ConversionError("is not a whole number")
    return int(number)


def as_float(value: Any) -> float:
    try:
        return float(as_text(value).replace(",", ""))
    except ValueError:
        raise ConversionError("is not a number") from None


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = as_text(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ConversionError("is not yes or no (true/false, 是/否, 1/0)")


def as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = as_text(value).strip()
    if (m := _CJK_DATE.match(text)) is not None:
        text = f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text[:10] if fmt == "%Y-%m-%d" else text, fmt).date()
        except ValueError:
            continue
    raise ConversionError("is not a date (write 2024-03-05)")


def as_timestamp(value: Any, zone: ZoneInfo = DEFAULT_ZONE) -> dt.datetime:
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, dt.date):
        stamp = dt.datetime.combine(value, dt.time(0))
    else:
        text = as_text(value).strip().replace("/", "-").replace("T", " ")
        try:
            stamp = dt.datetime.fromisoformat(text)
        except ValueError:
            try:
                stamp = dt.datetime.combine(as_date(text), dt.time(0))
            except ConversionError:
                raise ConversionError("is not a date and time (write 2024-03-05 14:30)"
                                      ) from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=zone)


CONVERTERS = {"text": as_text, "varchar": as_text, "bpchar": as_text, "int4": as_int,
              "int8": as_int, "int2": as_int, "float8": as_float, "float4": as_float,
              "numeric": as_float, "bool": as_bool, "date": as_date,
              "timestamptz": as_timestamp}


def convert(value: Any, udt: str, zone: ZoneInfo = DEFAULT_ZONE) -> Any:
    """``value`` as the column type ``udt``; None stays None; a time without a zone is
    in ``zone`` (the deployment's)."""
    if value is None:
        return None
    if udt == "timestamptz":
        return as_timestamp(value, zone)
    converter = CONVERTERS.get(udt, as_text)
    return converter(value)
