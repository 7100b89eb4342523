"""Small builders of OpenAPI 3.0 operations for the routes plugins add
(``gridgeo_openapi_paths``), so each plugin declares its paths in a few lines."""

from __future__ import annotations

from typing import Any

JSON = "application/json"
PROBLEM = {JSON: {"schema": {"type": "object", "properties": {
    "code": {"type": "string"}, "description": {"type": "string"}}}}}


def answer(description: str, media: str = JSON,
           schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """One response with a body of ``media``."""
    default = {"type": "object"} if media == JSON else {"type": "string"}
    return {"description": description, "content": {media: {"schema": schema or default}}}


def refusal(description: str) -> dict[str, Any]:
    """A 4xx response: a JSON sentence saying what to fix."""
    return {"description": description, "content": PROBLEM}


def in_path(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", **schema}}


def operation(summary: str, operation_id: str, tag: str, responses: dict[str, Any],
              parameters: list[dict[str, Any]] | None = None,
              body: dict[str, Any] | None = None) -> dict[str, Any]:
    """An operation; ``body`` maps media types to request body schemas."""
    op: dict[str, Any] = {"summary": summary, "operationId": operation_id, "tags": [tag],
                          "responses": responses}
    if parameters:
        op["parameters"] = parameters
    if body:
        op["requestBody"] = {"required": True, "content": {
            media: {"schema": schema} for media, schema in body.items()}}
    return op
