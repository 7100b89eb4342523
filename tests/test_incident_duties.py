"""Separation of duties: the person who resolved an incident cannot verify it; verifying
needs a named person (a staff member behind the request) with a role the configuration
names; an API key shared by a role names no one."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conftest import EDITOR
from tests.test_incidents import create, patch, staff_token

WORKER, INSPECTOR = "T977W1", "T977I1"


@pytest.fixture()
def base_url(field_town) -> str:  # type: ignore[no-untyped-def]
    return str(field_town.base_url)


def shown(base_url: str, item: object) -> dict[str, Any]:
    return dict(requests.get(f"{base_url}/collections/incidents/items/{item}", headers=EDITOR,
                             timeout=30).json()["properties"])


def resolved_by(base_url: str, who: dict[str, str]) -> Any:
    item = create(base_url)["id"]
    for state, extra in (("accepted", {}), ("dispatched", {"department_code": "T977"}),
                         ("in_progress", {}), ("resolved", {})):
        response = patch(base_url, item, who=who, state=state, **extra)
        assert response.status_code == 200, response.text
    return item


@pytest.mark.parametrize("resolver,verifier,sentence", [
    (staff_token(WORKER, "gis_editor"), staff_token(WORKER, "gis_editor"),
     "resolved incident {} yourself; another person verifies it"),
    (staff_token(WORKER, "gis_editor"), EDITOR,
     "verifying incident {} needs a named person"),
    (staff_token(INSPECTOR, "gis_editor"), staff_token(WORKER, "grid_worker"),
     "verifying needs one of the roles: admin, gis_editor."),
    (EDITOR, staff_token("NOT-ON-STAFF", "gis_editor"),
     "NOT-ON-STAFF is not an active staff member"),
])
def test_verification_refused(base_url: str, resolver: dict[str, str],
                              verifier: dict[str, str], sentence: str) -> None:
    item = resolved_by(base_url, resolver)
    case_no = shown(base_url, item)["case_no"]
    response = patch(base_url, item, who=verifier, state="verified")
    assert response.status_code == 403, response.text
    assert sentence.format(case_no) in response.json()["description"]
    after = shown(base_url, item)
    assert (after["state"], after["verified_at"], after["verified_by"]) == ("resolved", None, None)


def test_another_authorised_person_verifies(base_url: str) -> None:
    item = resolved_by(base_url, staff_token(WORKER, "gis_editor"))
    response = patch(base_url, item, who=staff_token(INSPECTOR, "gis_editor"), state="verified")
    assert response.status_code == 200, response.text
    done = response.json()["properties"]
    assert (done["resolved_by"], done["verified_by"]) == (WORKER, INSPECTOR)
