"""Cases that test a Resource Manager carries out a revocation, for every control type with instructions.

The CEM may revoke only its own instructions (S2-REVOKE-001): FRBC.Instruction (S2-TEST-031),
OMBC.Instruction, DDBC.Instruction, PEBC.Instruction and PPBC.ScheduleInstruction. Each case sends one for
an hour ahead (to stay in the active mode, where there is one, so that no device policy turns it down),
revokes it, and expects it to end REVOKED without ever STARTED or SUCCEEDED. An instruction the RM
rejects at once leaves nothing to revoke: the case is then skipped.
"""

from __future__ import annotations

from .cases import CaseContext, case
from .probe import Probe
from .rm_cases import DDBC, OMBC, PEBC, PPBC, _ready
from .rm_control_cases import ddbc_instruction, ombc_instruction, pebc_instruction, ppbc_instruction, revoke_ahead

__all__: list[str] = []

_HOUR = 3600.0
_RULES = ("S2-REVOKE-001", "S2-REVOKE-002", "S2-INSTR-002")


@case(
    47,
    "rm",
    "OMBC: a revoked instruction is reported REVOKED and not carried out",
    rules=_RULES,
    sections=("RevokeObject", "OMBC.Instruction", "InstructionStatusUpdate"),
    tags=("ombc", "instruction", "revocation"),
)
async def rm_ombc_revoke(probe: Probe, ctx: CaseContext) -> None:
    """An OMBC.Instruction for one hour ahead is accepted; RevokeObject naming it is answered OK; the RM reports it
    REVOKED, never STARTED or SUCCEEDED, and nothing after REVOKED."""
    _, description = await _ready(probe, ctx, OMBC)
    status = await probe.expect_type("OMBC.Status")
    await revoke_ahead(probe, ombc_instruction(description, status, _HOUR, stay=True), "OMBC.Instruction")


@case(
    48,
    "rm",
    "DDBC: a revoked instruction is reported REVOKED and not carried out",
    rules=_RULES,
    sections=("RevokeObject", "DDBC.Instruction", "InstructionStatusUpdate"),
    tags=("ddbc", "instruction", "revocation"),
)
async def rm_ddbc_revoke(probe: Probe, ctx: CaseContext) -> None:
    """A DDBC.Instruction for one hour ahead is accepted; RevokeObject naming it is answered OK; the RM reports it
    REVOKED, never STARTED or SUCCEEDED, and nothing after REVOKED."""
    _, description = await _ready(probe, ctx, DDBC)
    status = await probe.expect_type("DDBC.ActuatorStatus")
    await revoke_ahead(probe, ddbc_instruction(description, status, _HOUR, stay=True), "DDBC.Instruction")


@case(
    49,
    "rm",
    "PEBC: a revoked instruction is reported REVOKED and not carried out",
    rules=_RULES,
    sections=("RevokeObject", "PEBC.Instruction", "InstructionStatusUpdate"),
    tags=("pebc", "instruction", "revocation"),
)
async def rm_pebc_revoke(probe: Probe, ctx: CaseContext) -> None:
    """A PEBC.Instruction for one hour ahead is accepted; RevokeObject naming it is answered OK; the RM reports it
    REVOKED, never STARTED or SUCCEEDED, and nothing after REVOKED."""
    _, constraints = await _ready(probe, ctx, PEBC)
    await revoke_ahead(probe, pebc_instruction(constraints, _HOUR, elements=1), "PEBC.Instruction")


@case(
    50,
    "rm",
    "PPBC: a revoked schedule instruction is reported REVOKED and not carried out",
    rules=_RULES,
    sections=("RevokeObject", "PPBC.ScheduleInstruction", "InstructionStatusUpdate"),
    tags=("ppbc", "instruction", "revocation"),
)
async def rm_ppbc_revoke(probe: Probe, ctx: CaseContext) -> None:
    """A PPBC.ScheduleInstruction for one hour ahead is accepted; RevokeObject naming it is answered OK; the RM
    reports it REVOKED, never STARTED or SUCCEEDED, and nothing after REVOKED."""
    _, profile = await _ready(probe, ctx, PPBC)
    await revoke_ahead(probe, ppbc_instruction(profile, _HOUR), "PPBC.ScheduleInstruction")
