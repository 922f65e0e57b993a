"""Schema bodies shared by the three formats: they differ only in how a reference is written
and in how a message's constant ``message_type`` is spelled.

JSON Schema files, AsyncAPI components and OpenAPI components all describe a type with the
same keywords, so one builder per kind of schema keeps the formats from drifting apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .descriptions import enum_description, field_description, type_description
from .model_walk import ArrayOf, EnumSchema, Field, FieldType, MessageSchema, NamedPrimitive, ObjectSchema, Ref, Schema

__all__ = ["RefStyle", "TagStyle", "message_body", "schema_body"]

RefStyle = Callable[[str], str]
"""Maps a schema name to the ``$ref`` string of the target format."""

TagStyle = Callable[[str], dict[str, Any]]
"""Maps a message name to the schema of its ``message_type`` property."""

JsonDict = dict[str, Any]


def _type_schema(ftype: FieldType, ref: RefStyle) -> JsonDict:
    if isinstance(ftype, Ref):
        return {"$ref": ref(ftype.name)}
    if isinstance(ftype, ArrayOf):
        body: JsonDict = {"type": "array", "minItems": ftype.min_items}
        if ftype.max_items is not None:
            body["maxItems"] = ftype.max_items
        body["items"] = _type_schema(ftype.items, ref)
        return body
    body = {"type": ftype.json_type}
    if ftype.format is not None:
        body["format"] = ftype.format
    return body


def _properties(owner: str, fields: tuple[Field, ...], ref: RefStyle) -> JsonDict:
    return {f.name: {**_type_schema(f.type, ref), "description": field_description(owner, f.name)} for f in fields}


def _object(name: str, properties: JsonDict, required: list[str], closed: bool) -> JsonDict:
    body: JsonDict = {"type": "object", "description": type_description(name), "properties": properties}
    if required:
        body["required"] = required
    if closed:
        body["additionalProperties"] = False
    return body


def schema_body(schema: Schema, ref: RefStyle) -> JsonDict:
    """The schema of a named non-message type."""
    if isinstance(schema, NamedPrimitive):
        body: JsonDict = {"type": schema.json_type}
        if schema.pattern is not None:
            body["pattern"] = schema.pattern
        if schema.minimum is not None:
            body["minimum"] = schema.minimum
        body["description"] = type_description(schema.name)
        return body
    if isinstance(schema, EnumSchema):
        return {
            "type": "string",
            "enum": list(schema.values),
            "description": enum_description(schema.name, schema.values),
        }
    assert isinstance(schema, ObjectSchema)
    required = [f.name for f in schema.fields if f.required]
    return _object(schema.name, _properties(schema.name, schema.fields, ref), required, schema.closed)


def message_body(message: MessageSchema, ref: RefStyle, tag: TagStyle) -> JsonDict:
    """The schema of a message: ``message_type`` first, then the model's fields."""
    properties = {"message_type": tag(message.name), **_properties(message.name, message.fields, ref)}
    required = ["message_type", *(f.name for f in message.fields if f.required)]
    return _object(message.name, properties, required, message.closed)
