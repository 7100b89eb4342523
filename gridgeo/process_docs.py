"""Process documents that say what each process really offers.

pygeoapi 0.21 offers asynchronous execution for every process once the manager can run
jobs: each description lists ``async-execute`` and the OpenAPI document offers
``Prefer: respond-async`` and a 201 job answer, although a process declaring only
``sync-execute`` (incident-report) is answered synchronously all the same. Both are
corrected here to the ``jobControlOptions`` of the process's own PROCESS_METADATA.
"""

from __future__ import annotations

import re
from typing import Any

_PROCESS_PATH = re.compile(r"^/processes(/(?P<id>[^/]+))?/?$")


def job_control(config: dict[str, Any]) -> dict[str, list[str]]:
    """Each configured process's declared jobControlOptions."""
    from pygeoapi.plugin import load_plugin

    return {pid: list(load_plugin("process", resource["processor"]).metadata
                      .get("jobControlOptions", ["sync-execute"]))
            for pid, resource in config.get("resources", {}).items()
            if resource.get("type") == "process"}


def match_job_control(document: dict[str, Any], options: dict[str, list[str]]) -> None:
    """Offer ``Prefer: respond-async`` and the 201 job answer in an OpenAPI document only
    for processes that declare ``async-execute``; in place."""
    for process_id, controls in options.items():
        operation = (document.get("paths", {}).get(f"/processes/{process_id}/execution", {})
                     .get("post"))
        if "async-execute" in controls or not isinstance(operation, dict):
            continue
        operation["parameters"] = [p for p in operation.get("parameters", [])
                                   if not (isinstance(p, dict) and p.get("in") == "header"
                                           and str(p.get("name", "")).lower() == "prefer")]
        operation.get("responses", {}).pop("201", None)


def describes_processes(path: str) -> bool:
    """Whether ``path`` answers the process list or one process description."""
    return _PROCESS_PATH.match(path) is not None


def correct_descriptions(path: str, body: Any, options: dict[str, list[str]]) -> bool:
    """Put the declared jobControlOptions into /processes and /processes/{id} answers;
    True if ``body`` changed."""
    match = _PROCESS_PATH.match(path)
    if not match or not isinstance(body, dict):
        return False
    described = [body] if match["id"] else body.get("processes", [])
    changed = False
    for process in described:
        declared = options.get(str(process.get("id"))) if isinstance(process, dict) else None
        if declared is not None and process.get("jobControlOptions") != declared:
            process["jobControlOptions"] = declared
            changed = True
    return changed
