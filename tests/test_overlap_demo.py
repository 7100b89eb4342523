"""Both processes over HTTP on the demo town (session fixtures of tests/conftest.py)."""

from __future__ import annotations

import psycopg
import requests

from tests.conftest import EDITOR


def execute(base_url: str, process: str, inputs: dict[str, object],
            outputs: dict[str, object] | None = None) -> requests.Response:
    body: dict[str, object] = {"inputs": inputs}
    if outputs is not None:
        body["outputs"] = outputs
    # As an editor: storing the crosswalk needs its write right.
    return requests.post(f"{base_url}/processes/{process}/execution", json=body, timeout=300,
                         headers=EDITOR)


def test_overlap_of_the_demo_town_fills_the_crosswalk(base_url: str,
                                                      conn: psycopg.Connection) -> None:
    response = execute(base_url, "police-grid-overlap", {})
    assert response.status_code == 200, response.text
    summary = response.json()["summary"]
    units = conn.execute("SELECT count(*) FROM gridgeo.grids WHERE level = 'unit'"
                         " AND kind = 'basic'").fetchone()
    assert units is not None and summary["grids"] == units[0]
    served = requests.get(f"{base_url}/collections/grid_police_crosswalk/items",
                          params={"f": "json", "limit": "1"}, timeout=60).json()
    assert served["numberMatched"] == summary["pieces"] == summary["crosswalk"]["rows"]
    # Every basic unit grid that a police grid touches has exactly one dominant one.
    dominant = conn.execute("SELECT count(*) FROM gridgeo.grid_police_crosswalk"
                            " WHERE dominant").fetchone()
    assert dominant is not None
    assert dominant[0] == summary["grids"] - summary["grids_without_police_grid"]


def test_topology_of_the_demo_town(base_url: str) -> None:
    response = execute(base_url, "grid-topology", {"level": "all"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["summary"]["grids_checked"]["unit"] > 0
    for feature in body["features"]:
        props = feature["properties"]
        assert props["suggested_fix"] and props["grid_codes"] is not None
        # The database checks codes on write: none can be wrong here.
        assert not props["problem"].startswith("code_")


def test_unknown_codes_are_a_400(base_url: str) -> None:
    response = execute(base_url, "police-grid-overlap", {"grid_codes": ["000000000000000"]})
    assert response.status_code == 400
    assert "unknown grid codes: 000000000000000" in response.json()["description"]
