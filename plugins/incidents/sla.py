"""The deadline rules (SLA table, 时限标准) over HTTP: ``GET /sla-rules`` reads them,
``PUT /sla-rules`` replaces them.

Deadlines are the town's public service standard, so anyone may read them; changing them
needs a role ``gridgeo.incident_authorities`` names for 'sla' (admin), which the database
checks (incidents/013). A PUT sends the whole table and is written in one transaction or
not at all: every rule must parse, name a known colour, difficulty and category, appear
once, and every colour keeps its default rule. Open cases follow the new rules at once:
their deadlines are computed when read, never stored (closing records on-time once).
"""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
from flask import Blueprint, Response, request

from gridgeo.db.pool import connection, write_transaction
from gridgeo.errors import RequestError
from gridgeo.identity import current_identity

blueprint = Blueprint("gridgeo_sla_rules", __name__)
FIELDS = ("colour", "difficulty", "category_code", "accept_within", "handle_within")
MAX_RULES = 1000
_READ = """SELECT id, colour, difficulty, category_code, accept_within, handle_within
             FROM gridgeo.incident_sla
            ORDER BY colour, category_code NULLS FIRST, difficulty NULLS FIRST, id"""


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json",
                    headers={"Cache-Control": "no-cache"})


def read_rules(conn: psycopg.Connection) -> list[dict[str, Any]]:
    cur = conn.execute(_READ)
    names = [c.name for c in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _text(rule: dict[str, Any], name: str, where: str, optional: bool) -> str | None:
    value = rule.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise RequestError(f"{where}: {name} must be text"
                           f"{' or null' if optional else ''}; got {value!r}.")
    return value.strip()


def parse_rule(rule: Any, number: int) -> tuple[str | None, ...]:
    """One rule of a PUT body as the table's columns; deadlines are checked by the
    database (gridgeo.sla_rule_problem), the one place that reads them."""
    where = f"rule {number}"
    if not isinstance(rule, dict):
        raise RequestError(f"{where} must be an object with the fields {', '.join(FIELDS)}.")
    unknown = sorted(set(rule) - set(FIELDS) - {"id"})
    if unknown:
        raise RequestError(f"{where} has unknown fields {', '.join(unknown)}; a rule has "
                           f"{', '.join(FIELDS)}.")
    difficulty = _text(rule, "difficulty", where, optional=True)
    if difficulty not in (None, "A", "B", "C"):
        raise RequestError(f"{where}: difficulty is A, B, C or null (any grid); "
                           f"got {difficulty!r}.")
    return (_text(rule, "colour", where, optional=False), difficulty,
            _text(rule, "category_code", where, optional=True),
            _text(rule, "accept_within", where, optional=False),
            _text(rule, "handle_within", where, optional=False))


def parse_rules(body: Any) -> list[tuple[str | None, ...]]:
    if not isinstance(body, dict) or not isinstance(body.get("rules"), list):
        raise RequestError('the body must be a JSON object {"rules": [...]}, the whole table '
                           "as GET /sla-rules gives it.")
    if len(body["rules"]) > MAX_RULES:
        raise RequestError(f"{len(body['rules'])} rules are too many; the limit is {MAX_RULES}.")
    rules = [parse_rule(rule, number) for number, rule in enumerate(body["rules"], 1)]
    seen: dict[tuple[str | None, ...], int] = {}
    for number, rule in enumerate(rules, 1):
        first = seen.setdefault(rule[:3], number)
        if first != number:
            raise RequestError(f"rules {first} and {number} are for the same colour, "
                               "difficulty and category; keep one.")
    return rules


def _check_colours(conn: psycopg.Connection, rules: list[tuple[str | None, ...]]) -> None:
    known = {row[0] for row in conn.execute("SELECT colour FROM gridgeo.incident_colours")}
    for number, rule in enumerate(rules, 1):
        if rule[0] not in known:
            raise RequestError(f"rule {number}: there is no colour {rule[0]!r}; use one of "
                               f"{', '.join(sorted(known))}.")


def replace_rules(conn: psycopg.Connection, body: Any) -> None:
    """The whole table replaced by ``body``'s rules; a problem raises and the caller's
    transaction rolls back. The delete comes first: it is where the database refuses a
    role that may not change the rules, before any complaint about the body."""
    conn.execute("DELETE FROM gridgeo.incident_sla")
    rules = parse_rules(body)
    _check_colours(conn, rules)
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO gridgeo.incident_sla (colour, difficulty, category_code,"
                        " accept_within, handle_within) VALUES (%s, %s, %s, %s, %s)", rules)
    problem = conn.execute("SELECT gridgeo.incident_sla_defaults_problem()").fetchone()
    if problem and problem[0]:
        raise RequestError(problem[0])


@blueprint.get("/sla-rules")
def get_rules() -> Response:
    with connection(read=True) as conn:
        return _json({"rules": read_rules(conn)})


@blueprint.put("/sla-rules")
def put_rules() -> Response:
    if current_identity().is_anonymous:
        raise RequestError("changing the deadline rules needs credentials: send "
                           "'Authorization: Bearer <token or API key>'.", 401, "Unauthorized")
    with write_transaction() as conn:
        replace_rules(conn, request.get_json(silent=True))
        body = {"rules": read_rules(conn)}
    return _json(body)
