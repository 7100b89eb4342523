"""The deadline rules (SLA table) over HTTP: anyone reads them, an admin replaces them in
one transaction, and a rule that does not parse or names nothing known is a 400 with a
sentence and nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from tests.conftest import EDITOR, ROLE_KEYS
from tests.field_town import CATEGORY
from tests.test_incidents import create

ADMIN = {"Authorization": "Bearer " + next(k for k, r in ROLE_KEYS.items() if r == "admin")}


@pytest.fixture()
def base_url(field_town) -> str:  # type: ignore[no-untyped-def]
    return str(field_town.base_url)


def read(base_url: str) -> list[dict[str, Any]]:
    response = requests.get(f"{base_url}/sla-rules", timeout=30)
    assert response.status_code == 200, response.text
    return list(response.json()["rules"])


def put(base_url: str, rules: object, who: dict[str, str] | None = None) -> requests.Response:
    return requests.put(f"{base_url}/sla-rules", json={"rules": rules},
                        headers=ADMIN if who is None else who, timeout=30)


@contextmanager
def rules_in_place(base_url: str, *extra: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """The table with ``extra`` rules added for a block, then put back as it was."""
    before = read(base_url)
    response = put(base_url, [*before, *extra])
    assert response.status_code == 200, response.text
    try:
        yield list(response.json()["rules"])
    finally:
        assert put(base_url, before).status_code == 200


def test_anyone_reads_the_rules(base_url: str) -> None:
    rules = read(base_url)
    default = next(r for r in rules if r["colour"] == "yellow" and r["difficulty"] is None
                   and r["category_code"] is None)
    assert (default["accept_within"], default["handle_within"]) == ("4 hours", "1 day")
    assert {r["colour"] for r in rules} == {"yellow", "orange", "red"}


def test_an_admin_changes_an_open_cases_deadlines(base_url: str) -> None:
    item = create(base_url)["id"]
    rule = {"colour": "yellow", "difficulty": None, "category_code": CATEGORY,
            "accept_within": "3 working days", "handle_within": "2 weeks"}
    with rules_in_place(base_url, rule) as stored:
        assert rule in [{k: v for k, v in r.items() if k != "id"} for r in stored]
        case = requests.get(f"{base_url}/collections/incidents/items/{item}", headers=EDITOR,
                            timeout=30).json()["properties"]
        reported = datetime.fromisoformat(case["reported_at"])
        # Three working days: at least three calendar days, the same clock time.
        waited = datetime.fromisoformat(case["accept_deadline_at"]) - reported
        assert waited >= timedelta(days=3) and waited % timedelta(days=1) == timedelta(0)
    case = requests.get(f"{base_url}/collections/incidents/items/{item}", headers=EDITOR,
                        timeout=30).json()["properties"]
    assert (datetime.fromisoformat(case["accept_deadline_at"])
            - datetime.fromisoformat(case["reported_at"])) == timedelta(hours=4)


GOOD = {"colour": "yellow", "difficulty": None, "category_code": CATEGORY,
        "accept_within": "1 hour", "handle_within": "1 day"}


@pytest.mark.parametrize("change,status,sentence", [
    ({"handle_within": "soon"}, 400, "deadline rule 'soon' does not parse"),
    ({"accept_within": "4 hourz"}, 400, "deadline rule '4 hourz' does not parse"),
    ({"category_code": "NOPE"}, 400, "there is no incident category 'NOPE'"),
    ({"colour": "purple"}, 400, "rule 4: there is no colour 'purple'"),
    ({"difficulty": "D"}, 400, "rule 4: difficulty is A, B, C or null"),
    ({"accept_within": 4}, 400, "rule 4: accept_within must be text"),
    ({"colour_note": "x"}, 400, "rule 4 has unknown fields colour_note"),
])
def test_a_bad_rule_is_a_400_and_writes_nothing(base_url: str, change: dict[str, Any],
                                                status: int, sentence: str) -> None:
    before = read(base_url)
    defaults = [r for r in before if r["difficulty"] is None and r["category_code"] is None]
    response = put(base_url, [*defaults, {**GOOD, **change}])
    assert response.status_code == status, response.text
    assert sentence in response.json()["description"]
    assert read(base_url) == before


@pytest.mark.parametrize("body,who,status,sentence", [
    ("rules", ADMIN, 400, 'the body must be a JSON object {"rules": [...]}'),
    ([], ADMIN, 400, "colour yellow, orange, red has no default rule"),
    ([GOOD, GOOD], ADMIN, 400, "rules 1 and 2 are for the same colour"),
    ([GOOD], EDITOR, 403, "your role may not change the deadline rules; ask one of: admin."),
    ([GOOD], {}, 401, "changing the deadline rules needs credentials"),
])
def test_a_bad_table_or_caller_writes_nothing(base_url: str, body: object,
                                              who: dict[str, str], status: int,
                                              sentence: str) -> None:
    before = read(base_url)
    response = (requests.put(f"{base_url}/sla-rules", data=body, headers=who, timeout=30)
                if isinstance(body, str) else put(base_url, body, who))
    assert response.status_code == status, response.text
    assert sentence in response.json()["description"]
    assert read(base_url) == before
