"""Rules that need a session: each fires after the right history and stays silent on a near miss."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from msgspec.structs import replace

from builders import (
    CEM_TO_RM,
    L1,
    L2,
    MINUTE,
    RM_TO_CEM,
    T0,
    Session,
    at,
    container_status,
    ddbc_instruction,
    ddbc_status,
    ddbc_timer,
    demand_forecast,
    details,
    envelope,
    forecast,
    frbc_actuator,
    frbc_description,
    frbc_element,
    frbc_instruction,
    frbc_mode,
    frbc_status,
    frbc_timer,
    handshake,
    handshake_response,
    ids,
    leakage,
    measurement,
    ombc_description,
    ombc_instruction,
    ombc_status,
    ombc_timer,
    pebc_instruction,
    power_constraints,
    power_range,
    ppbc_instruction,
    profile_status,
    reception,
    revoke,
    select,
    session_request,
    status_update,
    storage,
    storage_status,
    target_profile,
    usage_forecast,
)
from s2ws.control import PEBCView
from s2ws.errors import InvalidContent
from s2ws.messages import ppbc
from s2ws.messages.base import UNSET, S2Message
from s2ws.messages.enums import (
    ControlType,
    EnergyManagementRole,
    InstructionStatus,
    PPBCPowerSequenceStatus,
    ReceptionStatusValues,
    RevokableObjects,
)
from s2ws.messages.states import Phase
from s2ws.rules import CATALOGUE, SessionContext, ensure_valid_outgoing
from s2ws.rules.catalogue import OM_RULE_IDS
from s2ws.session.tracking import InstructionTracker

CT = ControlType
CEM, RM = EnergyManagementRole.CEM, EnergyManagementRole.RM
IS = InstructionStatus
RO = RevokableObjects
FRBC, OMBC, DDBC = CT.FILL_RATE_BASED_CONTROL, CT.OPERATION_MODE_BASED_CONTROL, CT.DEMAND_DRIVEN_BASED_CONTROL
PEBC, PPBC = CT.POWER_ENVELOPE_BASED_CONTROL, CT.POWER_PROFILE_BASED_CONTROL


@dataclass(frozen=True)
class Probe:
    """A session, then a message that breaks the rule and one that does not (maybe in another session)."""

    session: Session
    direction: str
    bad: S2Message
    good: S2Message
    good_session: Session | None = None


@dataclass(frozen=True)
class CtxCase:
    rule: str
    build: Callable[[], Probe]


def ready(control_type: ControlType | None = None, **rmd: object) -> Session:
    return Session().ready(control_type, **rmd)


def _instructed(control_type: ControlType, instruction: S2Message, *statuses: IS) -> tuple[Session, str]:
    s = ready(control_type)
    s.cem(instruction)
    for status in statuses:
        s.rm(status_update(instruction.id, status))  # type: ignore[attr-defined]
    return s, instruction.id  # type: ignore[attr-defined]


def _om_cases(
    area: str,
    ct: ControlType,
    first: int,
    status: Callable[..., S2Message],
    timer: Callable[..., S2Message],
    instruction: Callable[..., S2Message],
) -> list[CtxCase]:
    """Status, timer and instruction rules of OMBC, FRBC and DDBC (numbered per area)."""
    actuators = area != "OMBC"
    n = iter(range(first, first + 20))

    def rid() -> str:
        return f"S2-{area}-{next(n):03d}"

    def running(finished: datetime) -> Session:
        s = ready(ct)
        s.rm(timer("min-off", finished))
        return s

    def on_session() -> Session:
        s = ready(ct)
        s.rm(status("on", 0.5, previous_operation_mode_id="off", transition_timestamp=T0))
        return s

    cases = [
        CtxCase(
            rid(),
            lambda: Probe(
                ready(ct),
                RM_TO_CEM,
                status("om9", 0.5, previous_operation_mode_id="off", transition_timestamp=T0),
                status("on", 0.5, previous_operation_mode_id="off", transition_timestamp=T0),
            ),
        ),
        CtxCase(rid(), lambda: Probe(ready(ct), RM_TO_CEM, timer("no-such-timer"), timer("min-on"))),
    ]
    if actuators:
        cases.append(
            CtxCase(
                cases[0].rule,
                lambda: Probe(ready(ct), RM_TO_CEM, status("off", 0.0, actuator="act9"), status("off", 0.0)),
            )
        )
        cases.append(CtxCase(cases[1].rule, lambda: Probe(ready(ct), RM_TO_CEM, timer(actuator="act9"), timer())))
        missing = rid()
        cases.append(CtxCase(missing, lambda: Probe(ready(ct), CEM_TO_RM, instruction(actuator="act9"), instruction())))
    mode_rule = rid()
    cases += [
        CtxCase(mode_rule, lambda: Probe(ready(ct), CEM_TO_RM, instruction("om9"), instruction("on"))),
        CtxCase(missing if actuators else mode_rule, lambda: _revoked_description(ct, instruction)),
        CtxCase(
            rid(),
            lambda: Probe(on_session(), CEM_TO_RM, instruction("boost", abnormal_condition=True), instruction("off")),
        ),
        CtxCase(
            rid(),
            lambda: Probe(
                running(at(30)),
                CEM_TO_RM,
                instruction("on", execution_time=at(1)),
                instruction("on", execution_time=at(31)),
            ),
        ),
        CtxCase(
            rid(),
            lambda: Probe(ready(ct), CEM_TO_RM, instruction("boost"), instruction("boost", abnormal_condition=True)),
        ),
    ]
    if area == "FRBC":
        cases += _frbc_extras(rid)
    if area == "DDBC":
        cases.append(
            CtxCase(
                rid(),
                lambda: Probe(
                    _ddbc_without_forecast(), RM_TO_CEM, demand_forecast(), demand_forecast(), good_session=ready(ct)
                ),
            )
        )
    cases.append(
        CtxCase(
            rid(),
            lambda: Probe(
                ready(ct),
                RM_TO_CEM,
                status("on", 0.5),
                status("on", 0.5, previous_operation_mode_id="off", transition_timestamp=T0),
            ),
        )
    )
    return cases


def _revoked_description(ct: ControlType, instruction: Callable[..., S2Message]) -> Probe:
    s = ready(ct)
    description = s.context._ct.descriptions[-1].message
    kind = {OMBC: RO.OMBC_SystemDescription, FRBC: RO.FRBC_SystemDescription, DDBC: RO.DDBC_SystemDescription}[ct]
    s.rm(revoke(kind, description.message_id))
    return Probe(s, CEM_TO_RM, instruction("on"), instruction("on"), good_session=ready(ct))


def _ddbc_without_forecast() -> Session:
    from builders import ddbc_description

    s = ready(DDBC)
    s.rm(ddbc_description(provides_average_demand_rate_forecast=False))
    return s


def _frbc_flags(**flags: bool) -> Session:
    s = ready(FRBC)
    s.rm(frbc_description(storage=storage(**flags)))
    return s


def _frbc_extras(rid: Callable[[], str]) -> list[CtxCase]:
    def full() -> Session:
        s = ready(FRBC)
        s.rm(storage_status(150))
        return s

    return [
        CtxCase(
            rid(),
            lambda: Probe(
                full(), CEM_TO_RM, frbc_instruction("off"), frbc_instruction("off"), good_session=ready(FRBC)
            ),
        ),
        CtxCase(
            rid(),
            lambda: Probe(
                _frbc_flags(provides_leakage_behaviour=False), RM_TO_CEM, leakage(), leakage(), good_session=ready(FRBC)
            ),
        ),
        CtxCase(
            rid(),
            lambda: Probe(
                _frbc_flags(provides_usage_forecast=False),
                RM_TO_CEM,
                usage_forecast(),
                usage_forecast(),
                good_session=ready(FRBC),
            ),
        ),
        CtxCase(
            rid(),
            lambda: Probe(
                _frbc_flags(provides_fill_level_target_profile=False),
                RM_TO_CEM,
                target_profile(),
                target_profile(),
                good_session=ready(FRBC),
            ),
        ),
        CtxCase(rid(), lambda: Probe(ready(FRBC), RM_TO_CEM, storage_status(100.5), storage_status(100))),
    ]


# --- session, handshake, details -------------------------------------------------------------


def _closed() -> Probe:
    s = ready()
    pending = s.send(RM_TO_CEM, measurement(), answer=None)
    s.cem(session_request())
    return Probe(s, RM_TO_CEM, measurement(), reception(pending.message_id))


def _reused_id() -> Probe:
    s = ready()
    sent = s.rm(measurement())
    other = replace(measurement(L1, L2), message_id=sent.message_id)
    return Probe(s, RM_TO_CEM, other, sent)


def _only_cem_handshake() -> Probe:
    s = Session()
    s.cem(handshake(CEM))
    good = Session()
    good.cem(handshake(CEM))
    good.rm(handshake(RM))
    return Probe(s, CEM_TO_RM, handshake_response(), handshake_response(), good_session=good)


def _versions() -> Probe:
    s = Session()
    s.cem(handshake(CEM, ["0.0.2-beta", "1.0.0"]))
    s.rm(handshake(RM, ["0.0.2-beta"]))
    return Probe(s, CEM_TO_RM, handshake_response("1.0.0"), handshake_response("v0.0.2-beta"))


def _costless() -> S2Message:
    off = frbc_mode("off", [frbc_element(0, 100, [power_range(0, 0)])])
    on = frbc_mode("on", [frbc_element(0, 100)])
    boost = frbc_mode("boost", [frbc_element(0, 100, [power_range(3000, 5000)])], abnormal=True)
    return frbc_description(actuators=[frbc_actuator(operation_modes=[off, on, boost])])


def _currency_on_description() -> Probe:
    s = ready(currency=UNSET)
    s.cem(select(FRBC))
    return Probe(s, RM_TO_CEM, frbc_description(), _costless())


def _currency_on_details() -> Probe:
    return Probe(ready(FRBC), RM_TO_CEM, details(currency=UNSET), details())


SESSION_CASES = [
    CtxCase("S2-SESSION-001", lambda: Probe(ready(FRBC), CEM_TO_RM, frbc_description(), select(FRBC))),
    CtxCase("S2-SESSION-002", lambda: Probe(Session(), RM_TO_CEM, details(), handshake(RM))),
    CtxCase("S2-SESSION-003", lambda: Probe(ready(FRBC), RM_TO_CEM, ombc_status(), frbc_status())),
    CtxCase("S2-SESSION-004", _closed),
    CtxCase("S2-SESSION-005", lambda: Probe(ready(), RM_TO_CEM, handshake(RM), handshake(RM), good_session=Session())),
    CtxCase("S2-SESSION-006", _reused_id),
    CtxCase(
        "S2-SESSION-007",
        lambda: Probe(ready(available_control_types=[FRBC]), CEM_TO_RM, select(OMBC), select(CT.NO_SELECTION)),
    ),
    CtxCase(
        "S2-SESSION-008",
        lambda: Probe(Session().handshake(), CEM_TO_RM, select(FRBC), select(FRBC), good_session=ready()),
    ),
    CtxCase("S2-HANDSHAKE-003", lambda: Probe(Session(), CEM_TO_RM, handshake(RM), handshake(CEM))),
    CtxCase("S2-HANDSHAKE-004", _versions),
    CtxCase("S2-HANDSHAKE-005", _only_cem_handshake),
    CtxCase("S2-RMD-006", _currency_on_description),
    CtxCase("S2-RMD-006", _currency_on_details),
    CtxCase("S2-MEAS-002", lambda: Probe(ready(), RM_TO_CEM, measurement(L2), measurement(L1))),
    CtxCase(
        "S2-FCST-002",
        lambda: Probe(ready(provides_forecast=False), RM_TO_CEM, forecast(), forecast(), good_session=ready()),
    ),
]


# --- ids, PEBC, PPBC -------------------------------------------------------------------------


def _reused_instruction_id() -> Probe:
    s = ready(FRBC)
    first = s.cem(frbc_instruction())
    return Probe(s, CEM_TO_RM, frbc_instruction(id=first.id), frbc_instruction())


def _reused_envelope_id() -> Probe:
    s = ready(PEBC)
    s.cem(pebc_instruction([envelope("e1")]))
    return Probe(s, CEM_TO_RM, pebc_instruction([envelope("e1")]), pebc_instruction([envelope("e2")]))


def _revoked_constraints() -> Probe:
    s = ready(PEBC)
    s.rm(revoke(RO.PEBC_PowerConstraints, "pc1"))
    return Probe(s, CEM_TO_RM, pebc_instruction(), pebc_instruction(), good_session=ready(PEBC))


def _scheduled(*instructions: S2Message) -> Session:
    s = ready(PPBC)
    for instruction in instructions:
        s.cem(instruction)
    return s


SCHEDULE, START, END = (
    ppbc.PPBCScheduleInstruction,
    ppbc.PPBCStartInterruptionInstruction,
    ppbc.PPBCEndInterruptionInstruction,
)
PS = PPBCPowerSequenceStatus

ID_PEBC_PPBC_CASES = [
    CtxCase("S2-ID-001", _reused_instruction_id),
    CtxCase("S2-ID-002", lambda: Probe(ready(PEBC), RM_TO_CEM, power_constraints("pc1"), power_constraints("pc2"))),
    CtxCase("S2-ID-003", _reused_envelope_id),
    CtxCase(
        "S2-PEBC-010",
        lambda: Probe(ready(PEBC), CEM_TO_RM, pebc_instruction(power_constraints_id="pc9"), pebc_instruction()),
    ),
    CtxCase("S2-PEBC-010", _revoked_constraints),
    CtxCase(
        "S2-PEBC-011",
        lambda: Probe(
            ready(PEBC),
            CEM_TO_RM,
            pebc_instruction(execution_time=at(25 * 60)),
            pebc_instruction(execution_time=at(23 * 60)),
        ),
    ),
    CtxCase(
        "S2-PEBC-012", lambda: Probe(ready(PEBC), CEM_TO_RM, pebc_instruction([envelope(cq=L2)]), pebc_instruction())
    ),
    CtxCase(
        "S2-PEBC-013",
        lambda: Probe(
            ready(PEBC),
            CEM_TO_RM,
            pebc_instruction([envelope(limits=[(0, 9000)])]),
            pebc_instruction([envelope(limits=[(0, 5000)])]),
        ),
    ),
    CtxCase(
        "S2-PEBC-014",
        lambda: Probe(
            ready(PEBC),
            CEM_TO_RM,
            pebc_instruction([envelope(limits=[(-5000, 0)])]),
            pebc_instruction([envelope(limits=[(-4000, 0)])]),
        ),
    ),
    CtxCase(
        "S2-PEBC-015",
        lambda: Probe(
            ready(PEBC),
            CEM_TO_RM,
            pebc_instruction([envelope(limits=[(0, 6000)])]),
            pebc_instruction([envelope(limits=[(0, 6000)])], abnormal_condition=True),
        ),
    ),
    CtxCase(
        "S2-PEBC-016",
        lambda: Probe(
            ready(PEBC),
            CEM_TO_RM,
            pebc_instruction([envelope(limits=[(0, 1000)] * 3)]),
            pebc_instruction([envelope(limits=[(0, 1000), (0, 2000), (0, 1000)])]),
        ),
    ),
    CtxCase(
        "S2-PEBC-017",
        lambda: Probe(
            ready(PEBC),
            CEM_TO_RM,
            pebc_instruction([envelope(minutes=120)], execution_time=at(23 * 60)),
            pebc_instruction([envelope(minutes=60)], execution_time=at(23 * 60)),
        ),
    ),
    CtxCase(
        "S2-PPBC-009",
        lambda: Probe(
            ready(PPBC),
            RM_TO_CEM,
            profile_status(container_status("c9"), container_status("c1"), container_status("c2")),
            profile_status(),
        ),
    ),
    CtxCase(
        "S2-PPBC-009",
        lambda: Probe(
            ready(PPBC),
            RM_TO_CEM,
            profile_status(container_status("c1", PS.SCHEDULED, "s3"), container_status("c2")),
            profile_status(container_status("c1", PS.SCHEDULED, "s1"), container_status("c2")),
        ),
    ),
    CtxCase(
        "S2-PPBC-010", lambda: Probe(ready(PPBC), RM_TO_CEM, profile_status(container_status("c1")), profile_status())
    ),
    CtxCase(
        "S2-PPBC-011",
        lambda: Probe(ready(PPBC), CEM_TO_RM, ppbc_instruction(power_profile_id="pp9"), ppbc_instruction()),
    ),
    CtxCase(
        "S2-PPBC-012", lambda: Probe(ready(PPBC), CEM_TO_RM, ppbc_instruction(container_id="c9"), ppbc_instruction())
    ),
    CtxCase(
        "S2-PPBC-012", lambda: Probe(ready(PPBC), CEM_TO_RM, ppbc_instruction(sequence_id="s3"), ppbc_instruction())
    ),
    CtxCase(
        "S2-PPBC-013",
        lambda: Probe(
            ready(PPBC),
            CEM_TO_RM,
            ppbc_instruction(sequence_id="s2"),
            ppbc_instruction(sequence_id="s2", abnormal_condition=True),
        ),
    ),
    CtxCase(
        "S2-PPBC-014",
        lambda: Probe(ready(PPBC), CEM_TO_RM, ppbc_instruction(start=at(215)), ppbc_instruction(start=at(210))),
    ),
    CtxCase(
        "S2-PPBC-015",
        lambda: Probe(
            _scheduled(ppbc_instruction(start=at(10))),
            CEM_TO_RM,
            ppbc_instruction(container_id="c2", sequence_id="s3", start=at(30)),
            ppbc_instruction(container_id="c2", sequence_id="s3", start=at(40)),
        ),
    ),
    CtxCase(
        "S2-PPBC-016",
        lambda: Probe(
            _scheduled(ppbc_instruction(start=at(10))),
            CEM_TO_RM,
            ppbc_instruction(container_id="c2", sequence_id="s3", start=at(51)),
            ppbc_instruction(container_id="c2", sequence_id="s3", start=at(50)),
        ),
    ),
    CtxCase(
        "S2-PPBC-017",
        lambda: Probe(
            _scheduled(
                ppbc_instruction(start=at(10)), ppbc_instruction(container_id="c2", sequence_id="s3", start=at(40))
            ),
            CEM_TO_RM,
            ppbc_instruction(START, container_id="c2", sequence_id="s3"),
            ppbc_instruction(START, container_id="c1", sequence_id="s1"),
        ),
    ),
    CtxCase(
        "S2-PPBC-018",
        lambda: Probe(
            ready(PPBC),
            CEM_TO_RM,
            ppbc_instruction(START),
            ppbc_instruction(START),
            good_session=_scheduled(ppbc_instruction()),
        ),
    ),
    CtxCase(
        "S2-PPBC-019",
        lambda: Probe(
            _scheduled(ppbc_instruction()),
            CEM_TO_RM,
            ppbc_instruction(END),
            ppbc_instruction(END),
            good_session=_scheduled(ppbc_instruction(), ppbc_instruction(START)),
        ),
    ),
    CtxCase(
        "S2-PPBC-020",
        lambda: Probe(
            _scheduled(ppbc_instruction()),
            CEM_TO_RM,
            ppbc_instruction(start=at(20)),
            ppbc_instruction(container_id="c2", sequence_id="s3", start=at(45)),
        ),
    ),
]


# --- revocation, instruction status, reception status ----------------------------------------


def _revoke_by_the_wrong_side() -> Probe:
    s, iid = _instructed(FRBC, frbc_instruction())
    description = s.context._ct.descriptions[-1].message_id
    return Probe(s, RM_TO_CEM, revoke(RO.FRBC_Instruction, iid), revoke(RO.FRBC_SystemDescription, description))


def _revoke_unknown_instruction() -> Probe:
    s, iid = _instructed(FRBC, frbc_instruction())
    return Probe(s, CEM_TO_RM, revoke(RO.FRBC_Instruction, "i9"), revoke(RO.FRBC_Instruction, iid))


def _status_of_unknown_instruction() -> Probe:
    s, iid = _instructed(FRBC, frbc_instruction())
    return Probe(s, RM_TO_CEM, status_update("i9", IS.NEW), status_update(iid, IS.NEW))


def _revoke_twice() -> Probe:
    s, iid = _instructed(FRBC, frbc_instruction())
    s.cem(revoke(RO.FRBC_Instruction, iid))
    good, good_id = _instructed(FRBC, frbc_instruction())
    return Probe(
        s, CEM_TO_RM, revoke(RO.FRBC_Instruction, iid), revoke(RO.FRBC_Instruction, good_id), good_session=good
    )


def _revoke_finished() -> Probe:
    s, iid = _instructed(FRBC, frbc_instruction(), IS.ACCEPTED, IS.SUCCEEDED)
    good, good_id = _instructed(FRBC, frbc_instruction(), IS.ACCEPTED)
    return Probe(
        s, CEM_TO_RM, revoke(RO.FRBC_Instruction, iid), revoke(RO.FRBC_Instruction, good_id), good_session=good
    )


def _revoke_description() -> Probe:
    s = ready(FRBC)
    sent = s.context._ct.descriptions[-1].message_id
    return Probe(
        s, RM_TO_CEM, revoke(RO.FRBC_SystemDescription, "not-a-message"), revoke(RO.FRBC_SystemDescription, sent)
    )


def _status_after(*statuses: IS) -> Callable[[IS], Probe]:
    def build(then: IS) -> Probe:
        s, iid = _instructed(FRBC, frbc_instruction(), *statuses)
        return Probe(s, RM_TO_CEM, status_update(iid, then), status_update(iid, IS.SUCCEEDED))

    return build


def _late_status() -> Probe:
    s = ready(FRBC)
    instruction = s.cem(frbc_instruction())
    iid = instruction.id
    s.rm(status_update(iid, IS.ACCEPTED, at(10)))
    return Probe(s, RM_TO_CEM, status_update(iid, IS.STARTED, at(5)), status_update(iid, IS.STARTED, at(15)))


def _unasked_revoked() -> Probe:
    s, iid = _instructed(FRBC, frbc_instruction(), IS.ACCEPTED)
    good, good_id = _instructed(FRBC, frbc_instruction(), IS.ACCEPTED)
    good.cem(revoke(RO.FRBC_Instruction, good_id))
    return Probe(s, RM_TO_CEM, status_update(iid, IS.REVOKED), status_update(good_id, IS.REVOKED), good_session=good)


def _answers() -> Probe:
    s = ready()
    pending = s.send(CEM_TO_RM, select(FRBC), answer=None)
    return Probe(s, RM_TO_CEM, reception("never-sent"), reception(pending.message_id))


def _answered_twice() -> Probe:
    s = ready()
    answered = s.cem(select(FRBC))
    pending = s.send(CEM_TO_RM, select(OMBC), answer=None)
    return Probe(s, RM_TO_CEM, reception(answered.message_id), reception(pending.message_id))


LIFECYCLE_CASES = [
    CtxCase("S2-REVOKE-001", _revoke_by_the_wrong_side),
    CtxCase("S2-REVOKE-002", _revoke_unknown_instruction),
    CtxCase("S2-REVOKE-002", _revoke_description),
    CtxCase("S2-REVOKE-003", _revoke_twice),
    CtxCase("S2-REVOKE-004", _revoke_finished),
    CtxCase("S2-INSTR-001", _status_of_unknown_instruction),
    CtxCase("S2-INSTR-002", lambda: Probe(*_instructed_probe(IS.STARTED, (IS.ACCEPTED, IS.SUCCEEDED), (IS.ACCEPTED,)))),
    CtxCase("S2-INSTR-003", lambda: _status_after(IS.ACCEPTED, IS.STARTED)(IS.ACCEPTED)),
    CtxCase("S2-INSTR-004", _late_status),
    CtxCase("S2-INSTR-005", _unasked_revoked),
    CtxCase("S2-RS-001", _answers),
    CtxCase("S2-RS-002", _answered_twice),
]


def _instructed_probe(
    then: IS, bad_history: tuple[IS, ...], good_history: tuple[IS, ...]
) -> tuple[Session, str, S2Message, S2Message, Session]:
    s, iid = _instructed(FRBC, frbc_instruction(), *bad_history)
    good, good_id = _instructed(FRBC, frbc_instruction(), *good_history)
    return s, RM_TO_CEM, status_update(iid, then), status_update(good_id, then), good


OM_CASES = [
    *_om_cases("OMBC", OMBC, 11, ombc_status, ombc_timer, ombc_instruction),
    *_om_cases("FRBC", FRBC, 21, frbc_status, frbc_timer, frbc_instruction),
    *_om_cases("DDBC", DDBC, 16, ddbc_status, ddbc_timer, ddbc_instruction),
]

CASES: list[CtxCase] = [*SESSION_CASES, *ID_PEBC_PPBC_CASES, *OM_CASES, *LIFECYCLE_CASES]
FIRES: frozenset[str] = frozenset(case.rule for case in CASES)
"""Rule ids with a firing test in this module (the catalogue test checks coverage)."""


def _case_ids() -> list[str]:
    return [f"{case.rule}-{i}" for i, case in enumerate(CASES)]


@pytest.mark.parametrize("case", CASES, ids=_case_ids())
def test_rule_fires_after_the_history(case: CtxCase) -> None:
    probe = case.build()
    assert case.rule in probe.session.check(probe.direction, probe.bad)


@pytest.mark.parametrize("case", CASES, ids=_case_ids())
def test_near_miss_does_not_fire(case: CtxCase) -> None:
    probe = case.build()
    session = probe.good_session or probe.session
    assert case.rule not in session.check(probe.direction, probe.good)


def test_cases_only_name_context_rules() -> None:
    for case in CASES:
        assert CATALOGUE[case.rule].needs_context, case.rule


# --- behaviour of the context beyond single rules --------------------------------------------


def test_check_does_not_change_the_context() -> None:
    s = ready(FRBC)
    instruction = frbc_instruction("on")
    before = s.check(CEM_TO_RM, instruction)
    s.check(CEM_TO_RM, instruction)
    assert s.check(CEM_TO_RM, frbc_instruction("on", id=instruction.id)) == before == []


def test_a_pending_instruction_starts_timers_that_block_the_next_one() -> None:
    s = ready(FRBC)
    s.cem(frbc_instruction("on", execution_time=at(1)))
    late = frbc_instruction("off", execution_time=at(12))
    assert s.check(CEM_TO_RM, frbc_instruction("off", execution_time=at(2))) == ["S2-FRBC-026"]
    assert s.check(CEM_TO_RM, late) == []


def test_a_rejected_instruction_no_longer_counts() -> None:
    s = ready(FRBC)
    first = s.cem(frbc_instruction("on", execution_time=at(1)))
    s.rm(status_update(first.id, IS.REJECTED))
    assert s.check(CEM_TO_RM, frbc_instruction("boost", abnormal_condition=True, execution_time=at(2))) == []


def test_a_refused_message_is_forgotten() -> None:
    s = ready(FRBC)
    description = frbc_description(actuators=[frbc_actuator("other")])
    s.send(RM_TO_CEM, description, answer=ReceptionStatusValues.INVALID_CONTENT)
    assert s.check(CEM_TO_RM, frbc_instruction()) == []


def test_an_answer_before_the_message_is_applied_settles_it() -> None:
    """The engine answers OK first and applies the message after; nothing stays pending."""
    context = SessionContext()
    message = handshake(RM)
    context.apply(reception(message.message_id), CEM_TO_RM, T0)
    context.apply(message, RM_TO_CEM, T0)
    assert context.unanswered() == []
    assert ids(context.check(reception(message.message_id), CEM_TO_RM, T0)) == ["S2-RS-002"]


def test_expected_status_for_an_unreadable_frame() -> None:
    context = SessionContext()
    context.expect_status(RM_TO_CEM, "broken-1")
    status = reception("broken-1", ReceptionStatusValues.INVALID_MESSAGE, "bad")
    assert ids(context.check(status, CEM_TO_RM, T0)) == []
    assert context.unanswered() == [(RM_TO_CEM, "broken-1")]


def test_a_future_description_is_not_yet_in_force() -> None:
    s = ready(FRBC)
    s.rm(frbc_description(valid_from=at(60), actuators=[frbc_actuator("later")]))
    assert s.check(CEM_TO_RM, frbc_instruction(actuator="later", execution_time=at(30))) == ["S2-FRBC-023"]
    assert s.check(CEM_TO_RM, frbc_instruction(actuator="later", execution_time=at(61))) == []


def test_switching_control_type_drops_the_old_state() -> None:
    s = ready(FRBC)
    s.cem(select(OMBC))
    s.cem(select(FRBC))
    assert s.check(CEM_TO_RM, frbc_instruction()) == ["S2-FRBC-023"]


def test_direction_must_be_one_of_the_two() -> None:
    with pytest.raises(ValueError, match="direction"):
        SessionContext().check(handshake(CEM), "cem->rm", T0)


def test_ensure_valid_outgoing_refuses_with_the_diagnostic() -> None:
    s = ready(FRBC)
    with pytest.raises(InvalidContent) as caught:
        ensure_valid_outgoing(frbc_instruction("om9"), s.context, T0)
    assert caught.value.diagnostic == (
        "S2-FRBC-024 at /operation_mode: om9 is not an operation mode of actuator act1 (it has off, on, boost)"
    )
    ensure_valid_outgoing(frbc_instruction("on"), s.context, T0)


def test_ensure_valid_outgoing_without_context_runs_single_message_rules() -> None:
    with pytest.raises(InvalidContent, match="S2-FRBC-018"):
        ensure_valid_outgoing(frbc_instruction("on", 1.5), None, T0)
    ensure_valid_outgoing(frbc_instruction("om9"), None, T0)


def test_ensure_valid_outgoing_lets_warnings_pass() -> None:
    s = ready(FRBC)
    findings = s.context.check(storage_status(120), RM_TO_CEM, T0)
    assert [(f.rule, f.severity, f.pointer) for f in findings] == [("S2-FRBC-032", "warning", "/present_fill_level")]
    ensure_valid_outgoing(storage_status(120), s.context, T0)  # the warning does not stop it


def test_ensure_valid_outgoing_finds_the_direction_of_shared_messages() -> None:
    s = ready(FRBC)
    sent = s.send(RM_TO_CEM, storage_status(10), answer=None)
    ensure_valid_outgoing(reception(sent.message_id), s.context, T0)
    ensure_valid_outgoing(revoke(RO.FRBC_SystemDescription, s.context._ct.descriptions[-1].message_id), s.context, T0)
    with pytest.raises(InvalidContent, match="S2-RS-001"):
        ensure_valid_outgoing(reception("nothing"), s.context, T0)


def test_memory_stays_bounded() -> None:
    """Each table keeps at least its most recent entries up to its limit, and never an eighth more."""
    s = ready(FRBC)
    sent = [s.send(RM_TO_CEM, storage_status(40), answer=None) for _ in range(5000)]
    pending = s.context.unanswered()
    assert 4096 <= len(pending) <= 4096 + 512
    assert pending[-4096:] == [(RM_TO_CEM, m.message_id) for m in sent[-4096:]]
    seen = s.context._seen[RM_TO_CEM]
    assert 256 <= len(seen) <= 256 + 32
    assert all(m.message_id in seen for m in sent[-256:])


def test_times_without_offset_are_taken_as_utc() -> None:
    s = ready(FRBC)
    naive = T0.replace(tzinfo=None) + timedelta(minutes=1)
    assert ids(s.context.check(frbc_instruction(), CEM_TO_RM, naive)) == []
    assert MINUTE == 60_000


# --- what the per-message fast paths must not change -----------------------------------------


@pytest.mark.parametrize("kind", ["kept", "fingerprinted"])
def test_a_reused_message_id_is_judged_by_content(kind: str) -> None:
    """Small messages are remembered as they are, large ones by fingerprint: both tell an
    identical resend (tolerated) from another message under the same id, byte for byte."""
    s = ready(FRBC)
    first = s.rm(storage_status(40) if kind == "kept" else frbc_description(valid_from=at(5)))
    twin = replace(first)
    assert twin is not first
    other = replace(first, present_fill_level=41) if kind == "kept" else replace(first, valid_from=at(6))
    assert "S2-SESSION-006" not in s.check(RM_TO_CEM, twin)
    assert "S2-SESSION-006" in s.check(RM_TO_CEM, other)


def test_a_reused_id_differing_only_in_the_offset_notation_is_another_message() -> None:
    """As before: the same instant written with another UTC offset is not an identical resend."""
    s = ready(FRBC)
    first = s.rm(measurement())
    shifted = first.measurement_timestamp.astimezone(timezone(timedelta(hours=1)))
    assert "S2-SESSION-006" in s.check(RM_TO_CEM, replace(first, measurement_timestamp=shifted))


def test_a_message_refused_before_it_is_applied_leaves_nothing_behind() -> None:
    """The engine answers first, then applies: a refusal means the message is not recorded at all."""
    s = ready(FRBC)
    choice = select(OMBC)
    s.context.apply(reception(choice.message_id, ReceptionStatusValues.INVALID_CONTENT), RM_TO_CEM, T0)
    s.context.apply(choice, CEM_TO_RM, T0)
    assert s.context.active is FRBC
    assert s.context.unanswered() == []
    assert s.check(CEM_TO_RM, frbc_instruction()) == []
    assert s.check(RM_TO_CEM, reception(choice.message_id)) == ["S2-RS-002"]
    assert "S2-SESSION-006" not in s.check(CEM_TO_RM, replace(choice, control_type=PPBC))


def test_an_undone_phase_change_reopens_the_phase_table() -> None:
    """The phase table's verdicts are remembered per state, so they must follow every change of
    phase, the ones a refusal takes back included."""
    s = Session()
    s.cem(handshake(CEM))
    s.rm(handshake(RM))
    response = s.send(CEM_TO_RM, handshake_response(), answer=None)
    assert s.check(RM_TO_CEM, details()) == []
    s.context.apply(reception(response.message_id, ReceptionStatusValues.INVALID_CONTENT), RM_TO_CEM, T0)
    assert s.check(RM_TO_CEM, details()) == ["S2-SESSION-002"]
    s.cem(handshake_response())
    assert s.check(RM_TO_CEM, details()) == []
    s.context.phase = Phase.CLOSED
    assert s.check(RM_TO_CEM, details()) == ["S2-SESSION-004"]


def test_what_crosses_a_session_request_is_judged_in_the_phase_before_it() -> None:
    """The CEM's SessionRequest is on its way: what the RM sent before it read it crossed it and
    breaks no rule; once the RM has answered the request, nothing more may come from it."""
    s = ready()
    request = s.send(CEM_TO_RM, session_request(), answer=None)
    assert s.check(RM_TO_CEM, measurement()) == []
    assert s.check(CEM_TO_RM, select(CT.NO_SELECTION)) == ["S2-SESSION-004"]  # the sender is done
    s.rm(measurement())
    s.context.apply(reception(request.message_id), RM_TO_CEM, T0)
    assert s.check(RM_TO_CEM, measurement()) == ["S2-SESSION-004"]
    assert s.context.phase is Phase.CLOSED and s.context.crossing is None


def test_a_refused_session_request_reopens_both_directions() -> None:
    s = ready()
    request = s.send(CEM_TO_RM, session_request(), answer=None)
    s.context.apply(reception(request.message_id, ReceptionStatusValues.INVALID_CONTENT), RM_TO_CEM, T0)
    assert s.context.phase is Phase.INITIALIZED and s.context.crossing is None
    assert s.check(RM_TO_CEM, measurement()) == [] and s.check(CEM_TO_RM, select(CT.NO_SELECTION)) == []


def test_an_undone_instruction_is_gone_from_every_table() -> None:
    s = ready(FRBC)
    refused = s.send(
        CEM_TO_RM, frbc_instruction("on", execution_time=at(1)), answer=ReceptionStatusValues.INVALID_CONTENT
    )
    assert s.check(CEM_TO_RM, frbc_instruction("off", execution_time=at(2))) == []
    assert s.check(RM_TO_CEM, status_update(refused.id, IS.ACCEPTED)) == ["S2-INSTR-001"]
    assert s.context.unanswered() == []


def test_a_misplaced_description_of_another_area_is_not_read() -> None:
    """A replay applies what the phase table refuses until its answer takes it back; an FRBC rule
    must not read the OMBC description that sits beside the FRBC one meanwhile."""
    s = ready(FRBC)
    s.send(CEM_TO_RM, ombc_description(), answer=None)
    assert s.check(RM_TO_CEM, storage_status(120)) == [OM_RULE_IDS["FRBC"]["storage_level"]]
    assert s.check(RM_TO_CEM, leakage((0, 100))) == []
    assert s.check(CEM_TO_RM, frbc_instruction("on")) == []
    fresh = Session()
    fresh.handshake()
    fresh.cem(select(FRBC))
    fresh.send(CEM_TO_RM, ombc_description(), answer=None)
    assert fresh.check(RM_TO_CEM, storage_status(120)) == []


@pytest.mark.parametrize("repeated", [IS.NEW, IS.ACCEPTED, IS.STARTED])
def test_repeating_the_present_status_of_an_open_instruction_breaks_no_rule(repeated: IS) -> None:
    """The standard defines status_type as the instruction's *present* status and forbids only
    going back and reporting after the end: the context agrees with the session engine here."""
    s, iid = _instructed(FRBC, frbc_instruction(), repeated)
    assert s.check(RM_TO_CEM, status_update(iid, repeated)) == []
    tracker = InstructionTracker(8)
    tracker.register(iid)
    tracker.update(iid, repeated)
    assert tracker.check(iid, repeated) is None


@pytest.mark.parametrize(("old", "new"), [(IS.STARTED, IS.ACCEPTED), (IS.SUCCEEDED, IS.SUCCEEDED), (None, IS.NEW)])
def test_context_and_engine_judge_every_status_report_alike(old: IS | None, new: IS) -> None:
    s, iid = _instructed(FRBC, frbc_instruction(), *(() if old is None else (old,)))
    tracker = InstructionTracker(8)
    tracker.register(iid)
    if old is not None:
        tracker.update(iid, old)
    engine = tracker.check(iid, new)
    assert s.check(RM_TO_CEM, status_update(iid, new)) == ([] if engine is None else [engine.rule])


def test_a_selection_before_any_details_breaks_007_as_the_engine_answers_it() -> None:
    """Nothing was offered before ResourceManagerDetails, so the RM's engine answers the
    selection INVALID_CONTENT (S2-SESSION-007); replay reads the same rule, not only the
    ordering warning 008."""
    s = Session().handshake()
    assert s.check(CEM_TO_RM, select(FRBC)) == ["S2-SESSION-007", "S2-SESSION-008"]
    assert s.check(CEM_TO_RM, select(CT.NO_SELECTION)) == []
    assert CATALOGUE["S2-SESSION-007"].severity == "error"


def test_an_instruction_on_superseded_constraints_breaks_pebc_011_as_the_view_says() -> None:
    """From its valid_from a newer PowerConstraints supersedes the older ones (protocol §3.6): an
    envelope that starts later on the old ones is refused under S2-PEBC-011 by the context, as
    by the CEM's view and the RM's device (one rule function, rules.pebc_rules)."""
    s = ready(PEBC)
    s.rm(power_constraints("pc2", valid_from=at(30)))
    assert s.check(CEM_TO_RM, pebc_instruction(execution_time=at(20))) == []
    assert s.check(CEM_TO_RM, pebc_instruction(execution_time=at(60))) == ["S2-PEBC-011"]
    assert s.check(CEM_TO_RM, pebc_instruction(execution_time=at(60), power_constraints_id="pc2")) == []
    view = PEBCView()
    for message in (power_constraints("pc1"), power_constraints("pc2", valid_from=at(30))):
        view.apply(message, T0)
    assert [f.rule for f in view.check(pebc_instruction(execution_time=at(60)), T0)] == ["S2-PEBC-011"]
