"""Reading a CQL2 filter into its CQL2-JSON tree, within the size limits.

CQL2 text is parsed by the ``cql2`` package (Rust), chosen over pygeofilter because it
reads every example of the standard (see docs/cql.md); its JSON output is the one tree
the compiler walks. CQL2-JSON is read with the standard library.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any

import cql2

from gridgeo.provider.cql_terms import CqlError

MAX_LENGTH = 20_000
MAX_DEPTH = 30
MAX_NODES = 200

_TEXT_LANGS = frozenset({"cql2-text", "cql-text"})
_JSON_LANGS = frozenset({"cql2-json", "cql-json"})
# The Rust parser recurses once per nesting level; thousands of levels overflow an ordinary
# thread's stack and kill the process, so long texts are parsed on a thread with room.
_BIG_STACK_FROM = 500
_BIG_STACK_BYTES = 256 * 1024 * 1024
_LEAF_KEYS = frozenset({"property", "date", "timestamp", "bbox"})
_stack_lock = threading.Lock()


def read_filter(text_or_json: str | dict[str, Any], lang: str | None) -> Any:
    """The CQL2-JSON tree of a filter in ``lang`` (None: JSON if it looks like JSON)."""
    if lang is not None and lang.lower() not in _TEXT_LANGS | _JSON_LANGS:
        raise CqlError(f"unsupported filter-lang '{lang}'; use cql2-text or cql2-json")
    as_json = lang.lower() in _JSON_LANGS if lang else _looks_like_json(text_or_json)
    if isinstance(text_or_json, dict):
        if not as_json:
            raise CqlError("a cql2-text filter must be a string, not a JSON object; "
                           "send it as text or set filter-lang to cql2-json")
        check_size(text_or_json)
        _check_length(_dumps(text_or_json))
        return text_or_json
    if not isinstance(text_or_json, str):
        raise CqlError("the filter must be CQL2 text or a CQL2-JSON object")
    _check_length(text_or_json)
    tree = _read_json(text_or_json) if as_json else _read_text(text_or_json)
    check_size(tree)
    return tree


def _looks_like_json(value: str | dict[str, Any]) -> bool:
    return isinstance(value, dict) or (isinstance(value, str) and value.lstrip()[:1] == "{")


def _too_complex(reason: str) -> CqlError:
    return CqlError(f"the filter is too complex: {reason}; simplify it or split the query")


def _check_length(text: str) -> None:
    if len(text) > MAX_LENGTH:
        raise _too_complex(f"it is {len(text):,} characters long and the limit is "
                           f"{MAX_LENGTH:,}")
    if not text.strip():
        raise CqlError("the filter is empty; write a condition such as name = 'value'")


# -- CQL2-JSON ----------------------------------------------------------------------------

def _dumps(tree: dict[str, Any]) -> str:
    try:
        return json.dumps(tree)
    except RecursionError:
        raise _too_complex(f"it nests more than {MAX_DEPTH} levels deep") from None
    except (TypeError, ValueError):
        raise CqlError("the filter object holds values JSON cannot carry; "
                       "send plain CQL2-JSON") from None


def _read_json(text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise _too_complex(f"it nests more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as exc:
        raise CqlError(f"the filter is not valid JSON at line {exc.lineno}, column "
                       f"{exc.colno}: {exc.msg}; fix the JSON there") from None


# -- CQL2 text ----------------------------------------------------------------------------

def _read_text(text: str) -> Any:
    depth, position = _paren_depth(text)
    if depth > MAX_DEPTH:
        raise _too_complex(f"its parentheses nest {depth} deep near character {position} "
                           f"and the limit is {MAX_DEPTH}")
    outcome: dict[str, Any] = {}
    if len(text) < _BIG_STACK_FROM:
        _parse_into(text, outcome)
    else:
        _run_with_big_stack(lambda: _parse_into(text, outcome))
    if "tree" not in outcome:
        raise CqlError(_parse_error_sentence(text, outcome.get("error", "")))
    return outcome["tree"]


def _parse_into(text: str, outcome: dict[str, Any]) -> None:
    """Parse on the current thread; the Rust expression is dropped here too (also recursive)."""
    try:
        expression = cql2.parse_text(text)
        outcome["tree"] = expression.to_json()
        del expression
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # on a worker thread it would be lost; pyo3 panics too
        outcome["error"] = str(exc)


def _run_with_big_stack(work: Callable[[], None]) -> None:
    with _stack_lock:
        previous = threading.stack_size(_BIG_STACK_BYTES)
        try:
            worker = threading.Thread(target=work, name="cql2-parse")
            worker.start()
        finally:
            threading.stack_size(previous)
    worker.join()


def _paren_depth(text: str) -> tuple[int, int]:
    """The deepest parenthesis nesting outside quotes, and where it is reached."""
    depth = deepest = where = 0
    quote = ""
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
            if depth > deepest:
                deepest, where = depth, index + 1
        elif char == ")":
            depth -= 1
    return deepest, where


_POSITION = re.compile(r"-->\s*(\d+):(\d+)")
_EXPECTED = re.compile(r"=\s*expected (.*)$", re.MULTILINE)


def _parse_error_sentence(text: str, message: str) -> str:
    position = _POSITION.search(message)
    if not position:
        detail = message.strip().splitlines()[0] if message.strip() else "unreadable"
        return f"the filter is not valid CQL2 text ({detail}); check its syntax"
    line, column = int(position.group(1)), int(position.group(2))
    lines = text.splitlines() or [""]
    near = lines[min(line, len(lines)) - 1][column - 1:column + 14].strip()
    where = f"near '{near}'" if near else "at the end"
    expected = _EXPECTED.search(message)
    wanted = _expectation(expected.group(1) if expected else "")
    return (f"the filter is not valid CQL2 text at line {line}, column {column} ({where}): "
            f"expected {wanted} there")


def _expectation(tokens: str) -> str:
    if "Identifier" in tokens:
        return "a property name, a value such as 'text' or 5, or '('"
    if "EOI" in tokens:
        return "AND, OR, an operator such as = or +, or the end of the filter"
    if "And" in tokens or "Eq" in tokens:
        return "an operator such as AND, =, + or ')'"
    return tokens or "something else"


# -- size ---------------------------------------------------------------------------------

def check_size(tree: Any) -> None:
    """Raise when the tree nests deeper than MAX_DEPTH operators or has over MAX_NODES terms."""
    stack: list[tuple[Any, int]] = [(tree, 0)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise _too_complex(f"it has more than {MAX_NODES} terms")
        stack.extend(_children(node, depth))


def _children(node: Any, depth: int) -> list[tuple[Any, int]]:
    if isinstance(node, list):
        return [(child, depth) for child in node]
    if not isinstance(node, dict) or "type" in node or _LEAF_KEYS & node.keys():
        return []
    if "interval" in node:
        ends = node["interval"]
        return [(end, depth) for end in ends] if isinstance(ends, list) else []
    if "op" in node:
        if depth >= MAX_DEPTH:
            raise _too_complex(f"it nests more than {MAX_DEPTH} operators deep")
        args = node.get("args")
        return [(arg, depth + 1) for arg in args] if isinstance(args, list) else []
    return []
