"""Totality: no schema-valid message or sequence of messages makes a rule raise."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from functools import cache
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from s2ws.codec import encode, get_codec
from s2ws.errors import DecodeError, InvalidContent
from s2ws.messages import (
    Commodity,
    CommodityQuantity,
    ControlType,
    EnergyManagementRole,
    Handshake,
    HandshakeResponse,
    ReceptionStatus,
    ReceptionStatusValues,
    ResourceManagerDetails,
    Role,
    RoleType,
    SelectControlType,
)
from s2ws.messages.base import S2Message
from s2ws.rules import SessionContext, check_deep, check_message, ensure_valid_outgoing
from strategies import from_model, message_classes, messages

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
T0 = datetime(2024, 8, 24, 14, 0, tzinfo=UTC)
DIRECTIONS = st.sampled_from(["cem>rm", "rm>cem"])


@SETTINGS
@given(messages("0.0.2-beta") | messages("1.0.0"))
def test_single_message_rules_never_raise(message: S2Message) -> None:
    for found in check_message(message) + check_deep(message):
        assert found.diagnostic.startswith(found.rule + " at /")


@SETTINGS
@given(st.lists(st.tuples(messages(), DIRECTIONS), max_size=12))
def test_a_context_takes_any_sequence(sequence: list[tuple[S2Message, str]]) -> None:
    context = SessionContext()
    for message, direction in sequence:
        context.check(message, direction, T0)
        context.apply(message, direction, T0)
    for message, _direction in sequence:
        try:
            ensure_valid_outgoing(message, context, T0)
        except InvalidContent as refused:
            assert refused.diagnostic.startswith(refused.rule)


# --- sequences whose ids refer to each other ---------------------------------------------------

POOL = ("a1", "a2", "a3")
"""A few ids for every reference field, so that instructions name the description's modes, status
updates the instructions, revocations and answers earlier messages."""
_REFERENCES = {"id", "from", "to", "operation_mode"}
_TO_RM = ("Instruction", "RevokeObject", "SelectControlType")
PREFIXES = {
    ControlType.FILL_RATE_BASED_CONTROL: "FRBC.",
    ControlType.OPERATION_MODE_BASED_CONTROL: "OMBC.",
    ControlType.DEMAND_DRIVEN_BASED_CONTROL: "DDBC.",
    ControlType.POWER_ENVELOPE_BASED_CONTROL: "PEBC.",
    ControlType.POWER_PROFILE_BASED_CONTROL: "PPBC.",
}
COMMON = ("InstructionStatusUpdate", "RevokeObject", "ReceptionStatus", "PowerMeasurement")


def _share(doc: Any, rnd: random.Random) -> Any:
    """``doc`` with every id it holds or refers to drawn from :data:`POOL`."""
    if isinstance(doc, list):
        return [_share(item, rnd) for item in doc]
    if not isinstance(doc, dict):
        return doc
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, str) and (key in _REFERENCES or key.endswith("_id")):
            out[key] = rnd.choice(POOL)
        elif key.endswith("_timers") and isinstance(value, list):
            out[key] = [rnd.choice(POOL) for _ in value]
        else:
            out[key] = _share(value, rnd)
    return out


def _direction(message: S2Message, rnd: random.Random) -> str:
    tag = type(message).__struct_config__.tag
    assert isinstance(tag, str)
    if tag == "ReceptionStatus":
        return rnd.choice(["cem>rm", "rm>cem"])
    to_rm = tag.endswith(_TO_RM) and tag != "InstructionStatusUpdate"
    return "cem>rm" if to_rm else "rm>cem"


def _prelude(context: SessionContext, control_type: ControlType) -> None:
    """Handshake, details offering ``control_type``, its selection: each answered OK."""
    opening: list[tuple[S2Message, str]] = [
        (
            Handshake(message_id="p-hs-cem", role=EnergyManagementRole.CEM, supported_protocol_versions=["0.0.2-beta"]),
            "cem>rm",
        ),
        (
            Handshake(message_id="p-hs-rm", role=EnergyManagementRole.RM, supported_protocol_versions=["0.0.2-beta"]),
            "rm>cem",
        ),
        (HandshakeResponse(message_id="p-hr", selected_protocol_version="0.0.2-beta"), "cem>rm"),
        (
            ResourceManagerDetails(
                message_id="p-rmd",
                resource_id="p-resource",
                roles=[Role(role=RoleType.ENERGY_STORAGE, commodity=Commodity.ELECTRICITY)],
                instruction_processing_delay=1000,
                available_control_types=[control_type],
                provides_forecast=False,
                provides_power_measurement_types=[CommodityQuantity.ELECTRIC_POWER_L1],
            ),
            "rm>cem",
        ),
        (SelectControlType(message_id="p-sct", control_type=control_type), "cem>rm"),
    ]
    for message, direction in opening:
        _apply_answered(context, message, direction)


def _apply_answered(context: SessionContext, message: S2Message, direction: str) -> None:
    context.apply(message, direction, T0)
    if not isinstance(message, ReceptionStatus):
        back = "rm>cem" if direction == "cem>rm" else "cem>rm"
        subject = getattr(message, "message_id")  # noqa: B009 - every message but ReceptionStatus has one
        answer = ReceptionStatus(subject_message_id=subject, status=ReceptionStatusValues.OK)
        context.apply(answer, back, T0)


@cache
def _classes(control_type: ControlType) -> tuple[type[S2Message], ...]:
    prefix = PREFIXES[control_type]
    return tuple(
        cls
        for cls in message_classes("0.0.2-beta")
        if str(cls.__struct_config__.tag).startswith(prefix) or cls.__struct_config__.tag in COMMON
    )


@settings(SETTINGS, max_examples=200)
@given(data=st.data())
def test_a_context_in_control_takes_sequences_whose_ids_refer_to_each_other(data: st.DataObject) -> None:
    """After a proper opening under a control type, messages of that type whose ids come from a small
    pool (so they refer to each other): the rules never raise, and rules that need another message
    (a mode of the description, an instruction to update or revoke) fire on generated data."""
    control_type = data.draw(st.sampled_from(list(PREFIXES)), label="control type")
    rnd = data.draw(st.randoms(use_true_random=False))
    context = SessionContext("0.0.2-beta")
    _prelude(context, control_type)
    fired: set[str] = set()
    for _ in range(data.draw(st.integers(1, 10))):
        generated = data.draw(st.sampled_from(_classes(control_type)).flatmap(from_model))
        try:
            message = get_codec().decode(json.dumps(_share(json.loads(encode(generated)), rnd)))
        except DecodeError:
            continue  # e.g. a description whose shared ids break a uniqueness the schema demands
        direction = _direction(message, rnd)
        single = {f.rule for f in check_message(message) + check_deep(message)}
        for found in context.check(message, direction, T0):
            assert found.diagnostic.startswith(found.rule + " at /")
            if found.rule not in single:
                fired.add(found.rule)
        _apply_answered(context, message, direction)
    event(f"{PREFIXES[control_type]} cross-message rules fired: {bool(fired)}")
    for rule in sorted(fired):
        event(f"cross-message rule {rule}")
