"""The public names of s2ws, pinned: adding or removing one is a deliberate change of this file.

Each entry module's ``__all__`` must equal the set below, every listed name must resolve, and the
top level must not leak anything else (submodules aside).
"""

from __future__ import annotations

import importlib
import types

import pytest

TOP_LEVEL = {
    "AuthenticationError",
    "CONTROL_TYPE_PREFIXES",
    "CertificateError",
    "ChannelClosed",
    "Commodity",
    "CommodityQuantity",
    "ConnectError",
    "ControlType",
    "Currency",
    "DDBCActuatorDescription",
    "DDBCActuatorStatus",
    "DDBCAverageDemandRateForecast",
    "DDBCAverageDemandRateForecastElement",
    "DDBCInstruction",
    "DDBCOperationMode",
    "DDBCPresentDemandStatus",
    "DDBCSystemDescription",
    "DDBCSystemDescriptionV1",
    "DDBCTimerStatus",
    "DEFAULT_PROFILE",
    "DecodeError",
    "Duration",
    "EncodeError",
    "EnergyManagementRole",
    "FRBCActuatorDescription",
    "FRBCActuatorStatus",
    "FRBCFillLevelTargetProfile",
    "FRBCFillLevelTargetProfileElement",
    "FRBCInstruction",
    "FRBCLeakageBehaviour",
    "FRBCLeakageBehaviourElement",
    "FRBCOperationMode",
    "FRBCOperationModeElement",
    "FRBCStorageDescription",
    "FRBCStorageStatus",
    "FRBCSystemDescription",
    "FRBCTimerStatus",
    "FRBCUsageForecast",
    "FRBCUsageForecastElement",
    "Handshake",
    "HandshakeResponse",
    "ID",
    "ID_MATCH_PATTERN",
    "ID_PATTERN",
    "InstructionRefused",
    "InstructionStateError",
    "InstructionStatus",
    "InstructionStatusUpdate",
    "InvalidContent",
    "InvalidData",
    "InvalidMessage",
    "MESSAGE_INFO",
    "MessageInfo",
    "NumberRange",
    "OMBCInstruction",
    "OMBCOperationMode",
    "OMBCStatus",
    "OMBCSystemDescription",
    "OMBCTimerStatus",
    "OutstandingLimitError",
    "PEBCAllowedLimitRange",
    "PEBCEnergyConstraint",
    "PEBCInstruction",
    "PEBCPowerConstraints",
    "PEBCPowerEnvelope",
    "PEBCPowerEnvelopeConsequenceType",
    "PEBCPowerEnvelopeElement",
    "PEBCPowerEnvelopeLimitType",
    "PHASE_RULES",
    "PPBCEndInterruptionInstruction",
    "PPBCPowerProfileDefinition",
    "PPBCPowerProfileStatus",
    "PPBCPowerSequence",
    "PPBCPowerSequenceContainer",
    "PPBCPowerSequenceContainerStatus",
    "PPBCPowerSequenceElement",
    "PPBCPowerSequenceStatus",
    "PPBCScheduleInstruction",
    "PPBCStartInterruptionInstruction",
    "PROFILES",
    "PermanentError",
    "Phase",
    "PowerForecast",
    "PowerForecastElement",
    "PowerForecastValue",
    "PowerMeasurement",
    "PowerRange",
    "PowerValue",
    "Profile",
    "ProfileError",
    "REVOCABLE_TYPES",
    "ReceptionStatus",
    "ReceptionStatusValues",
    "ResolutionError",
    "ResourceManagerDetails",
    "RevokableObjects",
    "RevokeObject",
    "Role",
    "RoleType",
    "RuleViolation",
    "S2Error",
    "S2Message",
    "S2Object",
    "SelectControlType",
    "SessionClosedError",
    "SessionError",
    "SessionRequest",
    "SessionRequestType",
    "StatusError",
    "TemporaryError",
    "Timer",
    "Timestamp",
    "Transition",
    "TransportConfigError",
    "TransportError",
    "UNSET",
    "UnsetType",
    "__version__",
    "check_allowed",
    "decode",
    "decode_as",
    "encode",
    "encode_checked",
    "get_codec",
    "get_profile",
    "message_type_of",
    "new_id",
    "normalize_version",
    "validate",
}

APP = {
    "AppSession",
    "BlockingRM",
    "CEM",
    "DEFAULT_PREFERENCE",
    "DeviceRM",
    "Frame",
    "InstructionRecord",
    "LiveLog",
    "LoopThread",
    "Observer",
    "PlannerCEM",
    "RMHandle",
    "Recorder",
    "ResourceManager",
    "SessionHandle",
    "SimClock",
    "SimulatedBattery",
    "SimulatedPV",
    "View",
    "on",
}

CEM = {
    "CEM",
    "DDBCView",
    "DEFAULT_PREFERENCE",
    "FRBCView",
    "InstructionRefused",
    "LiveLog",
    "OMBCView",
    "OutstandingLimitError",
    "PEBCView",
    "PPBCView",
    "PlannerCEM",
    "RMHandle",
    "Reach",
    "Reachability",
    "Recorder",
    "RuleViolation",
    "SessionClosedError",
    "SimClock",
    "on",
}

RM = {
    "BlockingRM",
    "DDBCDevice",
    "DeviceRM",
    "Executor",
    "FRBCDevice",
    "InstructionRefused",
    "InvalidContent",
    "LiveLog",
    "ModeChange",
    "OMBCDevice",
    "PEBCDevice",
    "PPBCDevice",
    "PermanentError",
    "Policy",
    "Recorder",
    "Resource",
    "ResourceManager",
    "SimClock",
    "TemporaryError",
    "on",
}

PINNED = {"s2ws": TOP_LEVEL, "s2ws.app": APP, "s2ws.cem": CEM, "s2ws.rm": RM}


@pytest.mark.parametrize("module_name", sorted(PINNED))
def test_all_is_the_pinned_set(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), "a name is listed twice"
    assert set(exported) - PINNED[module_name] == set(), "new public names: pin them here"
    assert PINNED[module_name] - set(exported) == set(), "public names removed: unpin them here"


@pytest.mark.parametrize("module_name", sorted(PINNED))
def test_every_listed_name_resolves(module_name: str) -> None:
    module = importlib.import_module(module_name)
    namespace: dict[str, object] = {}
    exec(f"from {module_name} import *", namespace)  # the star import users write
    assert set(namespace) - {"__builtins__"} == set(module.__all__)


def test_the_top_level_leaks_nothing_else() -> None:
    import s2ws

    public = {
        name
        for name, value in vars(s2ws).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert public == TOP_LEVEL - {"__version__"}


def test_entry_modules_give_one_object_per_name() -> None:
    """s2ws.cem and s2ws.rm re-export; they never define a second class of the same name."""
    import s2ws
    import s2ws.app
    import s2ws.control
    import s2ws.errors

    homes = (s2ws, s2ws.app, s2ws.control, s2ws.errors)
    for module_name in ("s2ws.cem", "s2ws.rm"):
        module = importlib.import_module(module_name)
        for name in module.__all__:
            origin = [home for home in homes if name in getattr(home, "__all__", ())]
            assert origin, f"{module_name}.{name} is not re-exported from any package"
            assert all(getattr(home, name) is getattr(module, name) for home in origin)
