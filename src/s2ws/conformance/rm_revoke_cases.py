"""Cases that test a Resource Manager carries out a revocation, for every control type with instructions.

The CEM may revoke only its own instructions (S2-REVOKE-001): FRBC.Instruction (S2-TEST-031),
OMBC.Instruction, DDBC.Instruction, PEBC.Instruction and PPBC.ScheduleInstruction. Each case sends one for
an hour ahead (to stay in the active mode, where there is one, so that no device policy turns it down),
revokes it, and expects it to end REVOKED without ever STARTED or SUCCEEDED. An instruction the RM
rejects at once leaves nothing to revoke: the case is then skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .cases import CaseContext, case
from .probe import Probe
from .rm_cases import DDBC, OMBC, PEBC, PPBC, _ready
from .rm_control_cases import ddbc_instruction, ombc_instruction, pebc_instruction, ppbc_instruction, revoke_ahead

__all__: list[str] = []

_HOUR = 3600.0
_RULES = ("S2-REVOKE-001", "S2-REVOKE-002", "S2-INSTR-002")

Build = Callable[[Probe, CaseContext], Awaitable[dict[str, Any]]]
"""Brings the session under test to the control type and makes the instruction to revoke."""


async def _ombc(probe: Probe, ctx: CaseContext) -> dict[str, Any]:
    _, description = await _ready(probe, ctx, OMBC)
    status = await probe.expect_type("OMBC.Status")
    return ombc_instruction(description, status, _HOUR, stay=True)


async def _ddbc(probe: Probe, ctx: CaseContext) -> dict[str, Any]:
    _, description = await _ready(probe, ctx, DDBC)
    status = await probe.expect_type("DDBC.ActuatorStatus")
    return ddbc_instruction(description, status, _HOUR, stay=True)


async def _pebc(probe: Probe, ctx: CaseContext) -> dict[str, Any]:
    _, constraints = await _ready(probe, ctx, PEBC)
    return pebc_instruction(constraints, _HOUR, elements=1)


async def _ppbc(probe: Probe, ctx: CaseContext) -> dict[str, Any]:
    _, profile = await _ready(probe, ctx, PPBC)
    return ppbc_instruction(profile, _HOUR)


def _register(number: int, tag: str, wire_type: str, what: str, build: Build) -> None:
    async def script(probe: Probe, ctx: CaseContext) -> None:
        await revoke_ahead(probe, await build(probe, ctx), wire_type)

    script.__name__ = script.__qualname__ = f"rm_{tag}_revoke"
    article = "An" if wire_type[0] in "AEIOU" else "A"
    script.__doc__ = (
        f"{article} {wire_type} for one hour ahead is accepted; RevokeObject naming it is answered OK; the RM "
        "reports it "
        "REVOKED, never STARTED or SUCCEEDED, and nothing after REVOKED."
    )
    case(
        number,
        "rm",
        f"{tag.upper()}: a revoked {what} is reported REVOKED and not carried out",
        rules=_RULES,
        sections=("RevokeObject", wire_type, "InstructionStatusUpdate"),
        tags=(tag, "instruction", "revocation"),
    )(script)


_register(47, "ombc", "OMBC.Instruction", "instruction", _ombc)
_register(48, "ddbc", "DDBC.Instruction", "instruction", _ddbc)
_register(49, "pebc", "PEBC.Instruction", "instruction", _pebc)
_register(50, "ppbc", "PPBC.ScheduleInstruction", "schedule instruction", _ppbc)
