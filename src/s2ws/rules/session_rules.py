"""Session rules that both the session engine and the rule context judge: handshake roles and
versions, the control type selected, revocations, instruction ids.

Each is a pure function of the facts it needs, so the engine (which keeps a few LRU tables) and
the context (which keeps the whole session for replay) reach the same verdict with the same
words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..findings import Finding
from ..messages.base import UNSET
from ..messages.catalogue import MESSAGE_INFO
from ..messages.common import Handshake, ResourceManagerDetails
from ..messages.enums import ControlType, EnergyManagementRole, InstructionStatus
from ..messages.profiles import normalize_version
from .catalogue import finding

__all__ = [
    "judge_handshake_role",
    "judge_instruction_id",
    "judge_revoke",
    "judge_rm_versions",
    "judge_select",
    "judge_selected_version",
    "unknown_object",
]

_RM = EnergyManagementRole.RM
_CEM = EnergyManagementRole.CEM


def judge_rm_versions(handshake: Handshake) -> Finding | None:
    """S2-HANDSHAKE-001: an RM lists the versions it supports (the CEM needs them to choose)."""
    if handshake.supported_protocol_versions is UNSET and handshake.role is _RM:
        reason = "an RM's Handshake must list the protocol versions it supports"
        return finding("S2-HANDSHAKE-001", "/supported_protocol_versions", reason)
    return None


def judge_handshake_role(claimed: EnergyManagementRole, sender: EnergyManagementRole) -> Finding | None:
    """S2-HANDSHAKE-003: a Handshake carries the role of the side that sends it."""
    if claimed is sender:
        return None
    reason = f"the {sender.value} sent a Handshake with role {claimed.value}: a session needs one CEM and one RM"
    return finding("S2-HANDSHAKE-003", "/role", reason)


def judge_selected_version(
    selected: str, offered: Mapping[EnergyManagementRole, Sequence[str] | None]
) -> Finding | None:
    """S2-HANDSHAKE-004: the version a HandshakeResponse selects is one the RM offered, and one
    the CEM offered when it listed any (``offered``: role -> its list, None or absent: none)."""
    chosen = normalize_version(selected)
    for role in (_RM, _CEM):
        versions = offered.get(role)
        if versions is not None and chosen not in {normalize_version(v) for v in versions}:
            reason = f"{selected!r} is not among the versions the {role.value} offered {list(versions)}"
            return finding("S2-HANDSHAKE-004", "/selected_protocol_version", reason)
    return None


def judge_select(wanted: ControlType, details: ResourceManagerDetails | None) -> list[Finding]:
    """S2-SESSION-007/008: SelectControlType names NO_SELECTION or a type the RM offered in its
    latest ResourceManagerDetails. Before any details nothing was offered, so the selection
    breaks 007 too (an RM answers it INVALID_CONTENT), besides the ordering warning 008."""
    if wanted is ControlType.NO_SELECTION:
        return []
    if details is None:
        return [
            finding(
                "S2-SESSION-007", "/control_type", f"{wanted.value} was not offered: no ResourceManagerDetails yet"
            ),
            finding("S2-SESSION-008", "/control_type", "no ResourceManagerDetails was received yet"),
        ]
    if wanted not in details.available_control_types:
        offered = ", ".join(t.value for t in details.available_control_types)
        reason = f"{wanted.value} is not among the control types the RM offered ({offered})"
        return [finding("S2-SESSION-007", "/control_type", reason)]
    return []


def judge_revoke(
    sender: EnergyManagementRole,
    object_type: str,
    object_id: str,
    published: bool | None,
    ended: InstructionStatus | None = None,
) -> Finding | None:
    """S2-REVOKE-001..004 for a RevokeObject sent by ``sender``.

    ``published``: True when the sender published the object and it is live, False when it was
    revoked already, None when the sender never published it (or it was forgotten). ``ended``:
    the terminal status of an instruction that already finished.
    """
    senders = MESSAGE_INFO[object_type].senders
    if sender not in senders:
        owner = " and ".join(sorted(role.value for role in senders))
        reason = f"the {sender.value} cannot revoke a {object_type}: only the {owner}, which sends it, may"
        return finding("S2-REVOKE-001", "/object_type", reason)
    if published is None:
        return unknown_object(object_type, object_id)
    if published is False:
        return finding("S2-REVOKE-003", "/object_id", f"{object_type} {object_id} was already revoked")
    if ended is not None:
        return finding("S2-REVOKE-004", "/object_id", f"instruction {object_id} already ended with {ended.value}")
    return None


def unknown_object(object_type: str, object_id: str) -> Finding:
    """S2-REVOKE-002: a RevokeObject names an object its sender never published."""
    hint = " (for a system description, object_id is its message_id)" if object_type.endswith("Description") else ""
    return finding("S2-REVOKE-002", "/object_id", f"no {object_type} {object_id} was sent in this session{hint}")


def judge_instruction_id(instruction_id: str, message_id: str, earlier_message_id: str | None) -> Finding | None:
    """S2-ID-001: an instruction id names one instruction; the same message again is a resend."""
    if earlier_message_id is None or earlier_message_id == message_id:
        return None
    reason = f"instruction id {instruction_id} was already used by message {earlier_message_id}"
    return finding("S2-ID-001", "/id", reason)
