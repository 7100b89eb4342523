"""Turning failures into the sentence a process client sees, never a raw error text.

Every built-in process runs inside ``process_errors``; a plugin's process should too.

pygeoapi answers a failed synchronous execution with 400 and the text of the
exception; so every exception leaving a gridgeo process is a ProcessorExecuteError
whose message was written for the client.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import psycopg
from pygeoapi.process.base import ProcessorExecuteError

from gridgeo.errors import DatabaseUnavailable, database_unreachable

LOGGER = logging.getLogger(__name__)


class InputError(ValueError):
    """An input the client must fix; the message is shown to the client as is."""


def number(data: dict[str, Any], name: str, default: float, low: float, high: float,
           integer: bool = False) -> float:
    """The number input ``name`` (``default`` when absent), or an InputError saying the range."""
    value = data.get(name, default)
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{name} must be {kind} from {low:g} to {high:g}")
    if integer and value != int(value):
        raise InputError(f"{name} must be {kind} from {low:g} to {high:g}")
    if not low <= value <= high:
        raise InputError(f"{name} must be {kind} from {low:g} to {high:g}; got {value:g}")
    return float(value)



MAX_PERIOD_DAYS = 3653  # ten years: a yearly or multi-year review is still one query


def date_range(start: Any, end: Any, example: str) -> tuple[date, date]:
    """The inclusive period ``start``..``end`` (ISO dates), or a ProcessorExecuteError
    saying what to send (``example`` is a date shown in the sentence)."""
    try:
        first, last = date.fromisoformat(str(start)), date.fromisoformat(str(end))
    except ValueError:
        raise ProcessorExecuteError(
            user_msg=f"start and end must both be dates such as {example}.") from None
    if last < first or (last - first).days >= MAX_PERIOD_DAYS:
        raise ProcessorExecuteError(user_msg="end must be on or after start, and the period "
                                             f"at most {MAX_PERIOD_DAYS} days.")
    return first, last

@contextmanager
def process_errors(process_id: str) -> Iterator[None]:
    """Client-facing sentences for bad input, database trouble and unexpected failures."""
    try:
        yield
    except (ProcessorExecuteError, DatabaseUnavailable):
        raise  # DatabaseUnavailable: a 503 with Retry-After, not a failed computation
    except InputError as exc:
        raise ProcessorExecuteError(user_msg=str(exc)) from exc
    except psycopg.errors.QueryCanceled as exc:
        LOGGER.error("%s: query cancelled: %s", process_id, exc)
        raise ProcessorExecuteError(user_msg="The computation took too long and was cancelled; "
                                    "narrow the selection and try again.") from exc
    except psycopg.OperationalError as exc:
        if database_unreachable(exc):
            raise DatabaseUnavailable() from exc
        LOGGER.error("%s: database unavailable: %s", process_id, exc)
        raise ProcessorExecuteError(user_msg="The database is not reachable; "
                                    "try again shortly.") from exc
    except Exception as exc:
        LOGGER.exception("%s failed", process_id)
        raise ProcessorExecuteError(user_msg=f"The {process_id} process failed on the server; "
                                    "the details are in the server log.") from exc
