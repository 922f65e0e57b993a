"""AsyncAPI 2.4 documents: the CEM view, the RM view, and one RM view per control type.

Direction follows the convention of the upstream files, which implementers already rely on:
``publish`` lists the messages this application sends and ``subscribe`` those it receives
(AsyncAPI 2.x itself defines the opposite; see docs/errata.md, "kept as upstream").
A control-type view holds the common messages plus that type's, and only the schemas they reach.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from ..messages.catalogue import CONTROL_TYPE_PREFIXES
from ..messages.enums import ControlType, EnergyManagementRole
from .descriptions import ASYNCAPI_DESCRIPTION
from .model_walk import MessageSchema, SpecModel
from .schema_parts import message_body, schema_body
from .yaml_writer import dump_yaml

__all__ = [
    "ASYNCAPI_VERSION",
    "WS_BINDING",
    "AsyncApiView",
    "asyncapi_document",
    "asyncapi_documents",
    "asyncapi_files",
    "asyncapi_views",
]

ASYNCAPI_VERSION: Final = "2.4.0"
ROOT: Final = "s2-asyncapi"
TITLE: Final = "s2-ws-json"
CHANNEL: Final = "default"

WS_BINDING: Final[dict[str, Any]] = {
    # A WebSocket opening handshake is an HTTP GET (RFC 6455); the binding has no query
    # parameters or headers to declare, so both are empty object schemas.
    "method": "GET",
    "query": {"type": "object", "properties": {}},
    "headers": {"type": "object", "properties": {}},
    "bindingVersion": "0.1.0",
}
"""The WebSockets channel binding (binding version 0.1.0); see docs/errata.md for how it differs upstream."""

CEM = EnergyManagementRole.CEM
RM = EnergyManagementRole.RM


@dataclass(frozen=True)
class AsyncApiView:
    """One AsyncAPI file: whose view it is and, optionally, the one control type it covers."""

    file_name: str
    role: EnergyManagementRole
    control_type: ControlType | None = None


def asyncapi_views() -> tuple[AsyncApiView, ...]:
    """The upstream file set: CEM, RM, then one RM file per control type."""
    per_type = tuple(
        AsyncApiView(f"s2-rm-{prefix.lower()}-only.yaml", RM, control_type)
        for prefix, control_type in CONTROL_TYPE_PREFIXES.items()
    )
    return (AsyncApiView("s2-cem.yaml", CEM), AsyncApiView("s2-rm.yaml", RM), *per_type)


def _ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def _tag(name: str) -> dict[str, Any]:
    return {"type": "string", "const": name}


def _one_of(messages: Iterable[MessageSchema]) -> dict[str, Any]:
    return {"message": {"oneOf": [{"$ref": f"#/components/messages/{m.name}"} for m in messages]}}


def asyncapi_document(model: SpecModel, view: AsyncApiView) -> dict[str, Any]:
    """The AsyncAPI document of one view as plain data."""
    peer = RM if view.role is CEM else CEM
    sends = model.sent_by(view.role, view.control_type)
    receives = model.sent_by(peer, view.control_type)
    used = {m.name for m in (*sends, *receives)}
    messages = [m for m in model.messages if m.name in used]
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {"title": TITLE, "version": model.version, "description": ASYNCAPI_DESCRIPTION},
        "channels": {
            CHANNEL: {
                "bindings": {"ws": copy.deepcopy(WS_BINDING)},
                "subscribe": _one_of(receives),
                "publish": _one_of(sends),
            }
        },
        "components": {
            "schemas": {name: schema_body(model.schemas[name], _ref) for name in model.reachable(messages)},
            "messages": {m.name: {"payload": message_body(m, _ref, _tag)} for m in messages},
        },
    }


def asyncapi_documents(model: SpecModel) -> dict[str, dict[str, Any]]:
    """Every AsyncAPI document keyed by its path relative to the export root."""
    return {f"{ROOT}/{view.file_name}": asyncapi_document(model, view) for view in asyncapi_views()}


def asyncapi_files(model: SpecModel) -> dict[str, str]:
    """The same documents as YAML text."""
    return {path: dump_yaml(doc) for path, doc in asyncapi_documents(model).items()}
