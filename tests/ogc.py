"""Validates response bodies against the OGC schemas in gridgeo's own copy, offline.

    from tests.ogc import validate
    validate(body, "ogcapi/features/part1/1.0/openapi/schemas/featureCollectionGeoJSON.yaml")

The schemas are OpenAPI 3.0 schema objects, read as JSON Schema draft 7 (the draft
whose ``$ref`` overrides its siblings, as in OpenAPI 3.0) after three conversions:
``nullable: true`` becomes a union with null, the boolean
``exclusiveMinimum``/``exclusiveMaximum`` of draft 4 become draft 7's numbers, and
an unquoted YAML ``type: null`` (read as None) becomes ``"null"``.
References to schemas.opengis.net are read from the copy; any other remote
reference fails rather than reaching the network.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT7

from gridgeo.openapi import SCHEMAS_DIR, mirrored_path

# The copy's files are named by the URL they mirror, so their absolute and relative
# references both resolve through the same retrieval.
BASE = "https://schemas.opengis.net/"
_COMPOSED = ("allOf", "anyOf", "oneOf", "not")


def as_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema object (or a document holding some) as JSON Schema draft 7."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: as_json_schema(value) for key, value in node.items()}
    if "type" in schema and not isinstance(schema["type"], dict):
        # Features Part 1's schema files write `type: null` unquoted: YAML reads None.
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        types = ["null" if t is None else t for t in types]
        schema["type"] = types if isinstance(schema["type"], list) else types[0]
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(schema.get(bound), bool) and schema.pop(bound) and limit in schema:
            schema[bound] = schema.pop(limit)
    if schema.get("nullable") is True:
        del schema["nullable"]
        if "$ref" in schema or not schema:
            return schema  # OpenAPI 3.0 ignores $ref's siblings; no type means null passes
        if isinstance(schema.get("type"), str) and not any(k in schema for k in _COMPOSED):
            schema["type"] = [schema["type"], "null"]
            if "enum" in schema:
                schema["enum"] = [*schema["enum"], None]
            return schema
        return {"anyOf": [{"type": "null"}, schema]}
    return schema


def without_double_reference(node: Any) -> Any:
    """Processes 1.0's schema.yaml offers ``oneOf: [schema.yaml, reference.yaml]`` where
    schema.yaml is itself ``oneOf: [reference.yaml, ...]``, so every nested ``$ref`` in a
    process description matches twice and fails; OGC fixed it in ogcapi-processes#371
    (issue #370) by keeping schema.yaml alone, as done here."""
    if isinstance(node, list):
        return [without_double_reference(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: without_double_reference(value) for key, value in node.items()}
    choices = node.get("oneOf")
    if isinstance(choices, list) and {"$ref": "schema.yaml"} in choices:
        node["oneOf"] = [c for c in choices if c != {"$ref": "reference.yaml"}]
        if node["oneOf"] == [{"$ref": "schema.yaml"}]:
            del node["oneOf"]
            node["$ref"] = "schema.yaml"
    return node


def _retrieve(uri: str) -> Resource[Any]:
    path = mirrored_path(uri)
    if path is None:  # not in the copy: never fetched from the network
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
    document = yaml.safe_load((SCHEMAS_DIR / path).read_text(encoding="utf-8"))
    if path.startswith("ogcapi/processes/part1/1.0/openapi/schemas/"):
        document = without_double_reference(document)
    return DRAFT7.create_resource(as_json_schema(document))


@cache
def _registry() -> Registry[Any]:
    return Registry(retrieve=_retrieve)  # type: ignore[call-arg]


@cache
def _validator(schema_ref: str) -> Draft7Validator:
    if not re.match(r"^[\w./-]+(#/[\w./-]*)?$", schema_ref):
        raise ValueError(f"not a path inside the schemas copy: {schema_ref!r}")
    return Draft7Validator({"$ref": BASE + schema_ref}, registry=_registry(),
                           format_checker=Draft7Validator.FORMAT_CHECKER)


def schema_errors(instance: Any, schema_ref: str) -> list[str]:
    """Each way ``instance`` fails the schema at ``schema_ref`` (a path inside the copy,
    optionally with a ``#/json/pointer``), one line each with where it failed."""
    errors = sorted(_validator(schema_ref).iter_errors(instance), key=lambda e: list(e.path))
    return [f"{e.json_path}: {e.message}" for e in errors]


def validate(instance: Any, schema_ref: str) -> None:
    """Fail (AssertionError) unless ``instance`` is valid against the OGC schema."""
    errors = schema_errors(instance, schema_ref)
    assert not errors, f"not valid against {schema_ref}:\n" + "\n".join(errors[:20])
