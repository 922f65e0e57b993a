"""JSON Schema 2020-12 files: one per message under ``messages/``, one per named type under ``schemas/``.

References are relative (``../schemas/X.schema.json``) and every file carries the ``$id`` of
its upstream location, so a validator resolves the references either from the exported
directory or from the ``$id`` base.
"""

from __future__ import annotations

import json
from typing import Any, Final

from .model_walk import SpecModel
from .schema_parts import message_body, schema_body

__all__ = ["DEFAULT_BASE_URI", "DIALECT", "json_schema_documents", "json_schema_files", "json_schema_title"]

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_BASE_URI: Final = "https://raw.githubusercontent.com/flexiblepower/s2-ws-json/main/s2-json-schema/"
ROOT: Final = "s2-json-schema"


def json_schema_title(name: str) -> str:
    """The ``title`` of a file: the spec name with dots replaced, as upstream spells it."""
    return name.replace(".", "_")


def _ref(name: str) -> str:
    return f"../schemas/{name}.schema.json"


def _tag(name: str) -> dict[str, Any]:
    return {"type": "string", "const": name}


def _document(folder: str, name: str, body: dict[str, Any], base_uri: str) -> dict[str, Any]:
    return {
        "$schema": DIALECT,
        "$id": f"{base_uri}{folder}/{name}.schema.json",
        "title": json_schema_title(name),
        **body,
    }


def json_schema_documents(model: SpecModel, base_uri: str = DEFAULT_BASE_URI) -> dict[str, dict[str, Any]]:
    """Every schema document keyed by its path relative to the export root."""
    docs: dict[str, dict[str, Any]] = {}
    for message in model.messages:
        docs[f"{ROOT}/messages/{message.name}.schema.json"] = _document(
            "messages", message.name, message_body(message, _ref, _tag), base_uri
        )
    for name, schema in model.schemas.items():
        docs[f"{ROOT}/schemas/{name}.schema.json"] = _document("schemas", name, schema_body(schema, _ref), base_uri)
    return docs


def json_schema_files(model: SpecModel, base_uri: str = DEFAULT_BASE_URI) -> dict[str, str]:
    """The same documents as text: 4-space indent, UTF-8 characters kept, final newline."""
    return {
        path: json.dumps(doc, indent=4, ensure_ascii=False) + "\n"
        for path, doc in json_schema_documents(model, base_uri).items()
    }
