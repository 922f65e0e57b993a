"""OpenAPI 3.0 document: every type and message as a component schema, for code generators.

OpenAPI 3.0 has no ``const``, so ``message_type`` is a one-value ``enum``. S2 has no HTTP
endpoint; the single placeholder path exists because OpenAPI 3.0 requires ``paths``.
"""

from __future__ import annotations

from typing import Any, Final

from .descriptions import OPENAPI_DESCRIPTION, OPENAPI_FAKE_PATH_DESCRIPTION
from .model_walk import SpecModel
from .schema_parts import message_body, schema_body
from .yaml_writer import dump_yaml

__all__ = ["OPENAPI_PATH", "OPENAPI_VERSION", "openapi_document", "openapi_file"]

OPENAPI_VERSION: Final = "3.0.0"
OPENAPI_PATH: Final = "s2-schemas-in-openapi-format/s2-ws-json-openapi.yml"
TITLE: Final = "s2-ws-json schema's in OpenAPI"


def _ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def _tag(name: str) -> dict[str, Any]:
    return {"type": "string", "enum": [name]}


def openapi_document(model: SpecModel) -> dict[str, Any]:
    """The OpenAPI document as plain data; ``info.version`` is the profile version."""
    schemas = {name: schema_body(schema, _ref) for name, schema in model.schemas.items()}
    for message in model.messages:
        schemas[message.name] = message_body(message, _ref, _tag)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": TITLE, "version": model.version, "description": OPENAPI_DESCRIPTION},
        "paths": {"/fake": {"get": {"responses": {"404": {"description": OPENAPI_FAKE_PATH_DESCRIPTION}}}}},
        "components": {"schemas": schemas},
    }


def openapi_file(model: SpecModel) -> dict[str, str]:
    """The document as YAML text, keyed by its path relative to the export root."""
    return {OPENAPI_PATH: dump_yaml(openapi_document(model))}
