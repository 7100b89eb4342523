"""The attachment routes in the OpenAPI document, for each collection that takes them."""

from __future__ import annotations

from typing import Any

from gridgeo_plugins.attachments.records import ATTACHABLE, STAGES

_JSON = {"application/json": {"schema": {"type": "object"}}}
_FILE = {"schema": {"type": "string", "format": "binary"}}
_PROBLEM = {"description": "A sentence saying what to fix.", "content": _JSON}


def _path(name: str, what: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": what,
            "schema": {"type": "string"}}


def _upload(cid: str) -> dict[str, Any]:
    stage = {"type": "string", "enum": sorted(STAGES)}
    form = {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"}, "title": {"type": "string"},
        "stage": stage}}
    return {
        "summary": f"Attach a photo (JPEG, PNG, HEIC) or PDF to one item of {cid}",
        "tags": [cid], "operationId": f"post{cid.title()}Attachment",
        "parameters": [{"name": "stage", "in": "query", "required": False, "schema": stage},
                       {"name": "title", "in": "query", "required": False,
                        "schema": {"type": "string", "maxLength": 200}}],
        "requestBody": {"required": True, "content": {
            "multipart/form-data": {"schema": form}, "image/jpeg": _FILE, "image/png": _FILE,
            "image/heic": _FILE, "application/pdf": _FILE}},
        "responses": {"201": {"description": "Attached.", "content": _JSON},
                      "200": {"description": "The same file was attached before.",
                              "content": _JSON},
                      "400": _PROBLEM, "401": _PROBLEM, "403": _PROBLEM, "404": _PROBLEM,
                      "409": _PROBLEM, "413": _PROBLEM, "415": _PROBLEM}}


def _read(cid: str, summary: str, operation: str, content: dict[str, Any],
          names: tuple[str, ...]) -> dict[str, Any]:
    return {"get": {
        "summary": summary, "tags": [cid], "operationId": f"get{cid.title()}{operation}",
        "parameters": [_path(n, "the item's id" if n == "itemId" else
                             "the attachment's id or SHA-256") for n in names],
        "responses": {"200": {"description": summary, "content": content},
                      "404": _PROBLEM}}}


def attachment_paths() -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    files = {t: _FILE for t in ("image/jpeg", "image/png", "image/heic", "application/pdf")}
    for cid in sorted(ATTACHABLE):
        base = f"/collections/{cid}/items/{{itemId}}/attachments"
        listing = _read(cid, f"The attachments of one item of {cid}", "Attachments", _JSON,
                        ("itemId",))
        listing["post"] = {**_upload(cid), "parameters": [
            _path("itemId", "the item's id"), *_upload(cid)["parameters"]]}
        paths[base] = listing
        paths[f"{base}/{{attachmentId}}"] = _read(
            cid, "One attachment's file (the original for roles with personal-data rights, "
            "else a copy without EXIF/GPS)", "Attachment", files, ("itemId", "attachmentId"))
        paths[f"{base}/{{attachmentId}}/thumbnail"] = _read(
            cid, "A photo attachment's JPEG thumbnail", "AttachmentThumbnail",
            {"image/jpeg": _FILE}, ("itemId", "attachmentId"))
    return paths
