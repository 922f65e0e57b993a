"""What the web UI shows, derived from raw frames only.

A :class:`Monitor` is an :class:`~s2ws.app.observe.Observer`: the CEM, the proxy and a replayed
transcript all feed it the same frames, so the three show the same Messages, Sessions, Devices and
Energy views. Every frame is judged with one rule context per session that sees both directions
(:class:`~s2ws.rules.replay.Replay`), which is the context of whichever side receives it.

Everything is bounded: the message ring, the instructions and the series of each device, and the
number of sessions kept after they ended, so a monitor left running for weeks costs the same as one
left running for an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from ..app.observe import Frame, Observer
from ..app.recorder import rfc3339
from ..messages.timeline import later
from ..rules.replay import Record, Replay

if TYPE_CHECKING:
    from ..store import History

__all__ = ["MAX_MESSAGES", "MAX_POINTS", "Monitor"]

MAX_MESSAGES = 5000
"""Frames the server keeps for the Messages view and transcript downloads."""
MAX_POINTS = 2000
"""Points kept per series of a device."""
MAX_INSTRUCTIONS = 100
MAX_ENDED_SESSIONS = 50
_INSTRUCTION_TYPES = frozenset(
    {"FRBC.Instruction", "OMBC.Instruction", "DDBC.Instruction", "PEBC.Instruction", "PPBC.ScheduleInstruction"}
)
_DESCRIPTION_TYPES = frozenset(
    {"FRBC.SystemDescription", "OMBC.SystemDescription", "DDBC.SystemDescription", "PPBC.PowerProfileDefinition"}
)
_PEBC_IN_FORCE = frozenset({"PEBC.PowerConstraints", "PEBC.EnergyConstraint"})
_decode_any = msgspec.json.Decoder()


def _dict(text: str) -> dict[str, Any] | None:
    try:
        value = _decode_any.decode(text)
    except msgspec.DecodeError:
        return None
    return value if isinstance(value, dict) else None


def _steps(start: Any, elements: Any) -> list[tuple[str, dict[str, Any]]]:
    """(start time, element) of each element of a series that starts at ``start``, durations in ms;
    empty when the series is unreadable, at most MAX_POINTS long."""
    if not isinstance(start, str) or not isinstance(elements, list):
        return []
    try:
        moment = datetime.fromisoformat(start)
    except ValueError:
        return []
    out: list[tuple[str, dict[str, Any]]] = []
    for element in elements[:MAX_POINTS]:
        if not isinstance(element, dict) or not isinstance(element.get("duration"), int | float):
            return out
        out.append((rfc3339(moment), element))
        moment = later(moment, element["duration"])
    if out:
        out.append((rfc3339(moment), out[-1][1]))  # the end of the last step
    return out


@dataclass(eq=False)
class _Device:
    details: dict[str, Any] | None = None
    control_type: str | None = None
    description: dict[str, Any] | None = None
    description_at: str | None = None
    instructions: dict[str, dict[str, Any]] = field(default_factory=dict)
    power: deque[tuple[str, float]] = field(default_factory=lambda: deque(maxlen=MAX_POINTS))
    fill: deque[tuple[str, float]] = field(default_factory=lambda: deque(maxlen=MAX_POINTS))
    fill_range: tuple[float, float] | None = None
    modes: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=MAX_POINTS))
    envelope: list[tuple[str, float, float]] = field(default_factory=list)
    """PEBC: the newest instructed envelope as (start, lower, upper) steps."""
    forecast: list[tuple[str, float]] = field(default_factory=list)
    """The newest PowerForecast as (start, expected power) steps."""


@dataclass(eq=False)
class _Session:
    id: str
    source: str
    peer: str | None
    started: str
    ended: str | None = None
    reason: str | None = None
    version: str | None = None
    state: str = "handshake"
    frames: dict[str, int] = field(default_factory=lambda: {"cem>rm": 0, "rm>cem": 0})
    errors: int = 0
    warnings: int = 0
    refused: int = 0
    device: _Device = field(default_factory=_Device)


class Monitor(Observer):
    """Judges and remembers frames for the UI; ``subscribe`` gets every new message entry."""

    def __init__(
        self, *, profile: str = "0.0.2-beta", source: str = "cem", clock: Callable[[], datetime] | None = None
    ):
        self.source = source
        self._clock = clock
        self.profile = profile
        self._judges: dict[str, Replay] = {}
        self._seq = itertools.count(1)
        self.messages: deque[dict[str, Any]] = deque(maxlen=MAX_MESSAGES)
        self.sessions: dict[str, _Session] = {}
        self._pending: dict[tuple[str, str], dict[str, Any]] = {}
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.history: History | None = None
        """The CEM's SQLite history, when it keeps one: the Energy view's past beyond this process."""
        self.extra: dict[str, Any] = {}
        """Anything else a host wants shown (the CEM's latest plan, prices); JSON-ready values."""

    # --- Observer -------------------------------------------------------------------------
    def session_started(self, session: str, role: str, peer: str | None) -> None:
        now = rfc3339(self._clock()) if self._clock else rfc3339(datetime.now().astimezone())
        self._session(session, now, peer)

    def session_ended(self, session: str, reason: str) -> None:
        state = self.sessions.get(session)
        if state is None:
            return
        state.state = "closed"
        state.reason = reason
        judge = self._judges.pop(session, None)
        if judge is not None:  # what nobody answered, on the message's own row
            rows = {m["seq"]: m for m in self.messages if m["session"] == session}
            for item in judge.finish():
                row = rows.get(item.line)
                if row is not None:
                    row["findings"].append(
                        {
                            "rule": item.rule,
                            "severity": item.severity,
                            "pointer": item.pointer,
                            "reason": item.reason,
                            "late": True,
                        }
                    )
                    self._publish({"kind": "message", "entry": row})
                state.errors += item.severity == "error"
                state.warnings += item.severity != "error"
        state.ended = self.messages[-1]["t"] if self.messages else state.started
        ended = [s for s in self.sessions.values() if s.state == "closed"]
        for old in ended[: max(0, len(ended) - MAX_ENDED_SESSIONS)]:
            del self.sessions[old.id]
        self._publish({"kind": "session", "session": session})

    def frame(self, frame: Frame) -> None:
        self.add(frame.t, frame.session, frame.direction, frame.text)

    # --- feeding --------------------------------------------------------------------------
    def add(self, t: datetime, session: str, direction: str, text: str) -> dict[str, Any]:
        """Judge one frame and remember it; returns its message entry."""
        seq = next(self._seq)
        stamp = rfc3339(t)
        state = self.sessions.get(session) or self._session(session, stamp, None)
        judge = self._judges.get(session)
        if judge is None:
            judge = self._judges[session] = Replay(self.profile)
        findings = judge.feed(Record(seq, t, direction, session, text))
        body = _dict(text)
        kind = body.get("message_type") if body else None
        entry: dict[str, Any] = {
            "seq": seq,
            "t": stamp,
            "session": session,
            "device": self._device_name(state),
            "dir": direction,
            "type": kind if isinstance(kind, str) else None,
            "id": body.get("message_id") if body else None,
            "status": None,
            "text": text,
            "findings": [
                {"rule": f.rule, "severity": f.severity, "pointer": f.pointer, "reason": f.reason} for f in findings
            ],
        }
        state.frames[direction] = state.frames.get(direction, 0) + 1
        for item in findings:
            if item.severity == "error":
                state.errors += 1
            else:
                state.warnings += 1
        if body is not None and isinstance(kind, str):
            # a malformed message: its findings say what is wrong, the views keep what they had
            with contextlib.suppress(TypeError, ValueError, AttributeError, KeyError, OverflowError):
                self._learn(state, direction, kind, body, stamp, entry)
        self.messages.append(entry)
        self._publish({"kind": "message", "entry": entry})
        return entry

    def _session(self, session: str, stamp: str, peer: str | None) -> _Session:
        state = self.sessions.get(session)
        if state is None:
            state = self.sessions[session] = _Session(session, self.source, peer, stamp)
        elif peer is not None:
            state.peer = peer
        return state

    @staticmethod
    def _device_name(state: _Session) -> str | None:
        details = state.device.details
        if not details:
            return None
        name = details.get("name") or details.get("resource_id")
        return str(name) if name is not None else None

    def _learn(
        self, state: _Session, direction: str, kind: str, body: dict[str, Any], stamp: str, entry: dict[str, Any]
    ) -> None:
        """What the views derive from one readable message."""
        device = state.device
        if kind == "HandshakeResponse":
            state.version = body.get("selected_protocol_version")
        elif kind == "ResourceManagerDetails":
            device.details = body
            entry["device"] = self._device_name(state)
        elif kind == "SelectControlType":
            device.control_type = body.get("control_type")
            state.state = "active"
        elif kind == "SessionRequest":
            state.state = "terminating"
        elif kind == "ReceptionStatus":
            status = body.get("status")
            entry["status"] = status
            subject = body.get("subject_message_id")
            if status != "OK":
                state.refused += 1
                instruction = self._pending.pop((state.id, str(subject)), None)
                if instruction is not None:
                    instruction["statuses"].append([stamp, "REFUSED " + str(status)])
                    instruction["reason"] = body.get("diagnostic_label") or status
            else:
                self._pending.pop((state.id, str(subject)), None)
        elif kind in _DESCRIPTION_TYPES or kind in _PEBC_IN_FORCE:
            device.description, device.description_at = body, stamp
            storage = body.get("storage") if kind == "FRBC.SystemDescription" else None
            if isinstance(storage, dict) and isinstance(storage.get("fill_level_range"), dict):
                bounds = storage["fill_level_range"]
                device.fill_range = (float(bounds.get("start_of_range", 0)), float(bounds.get("end_of_range", 0)))
        elif kind == "PowerForecast":
            steps = _steps(body.get("start_time"), body.get("elements"))
            device.forecast = [
                (t, sum(float(v.get("value_expected", 0)) for v in e.get("power_values", []) if isinstance(v, dict)))
                for t, e in steps
            ]
        if kind == "PEBC.Instruction":
            envelopes = body.get("power_envelopes")
            first = envelopes[0] if isinstance(envelopes, list) and envelopes and isinstance(envelopes[0], dict) else {}
            steps = _steps(body.get("execution_time"), first.get("power_envelope_elements"))
            device.envelope = [(t, float(e.get("lower_limit", 0)), float(e.get("upper_limit", 0))) for t, e in steps]
        if kind in _INSTRUCTION_TYPES:
            ident = str(body.get("id") or body.get("message_id"))
            record: dict[str, Any] = {
                "id": ident,
                "type": kind,
                "sent": stamp,
                "execution_time": body.get("execution_time"),
                "what": body.get("operation_mode") or body.get("operation_mode_id") or body.get("power_profile_id"),
                "statuses": [],
                "reason": None,
            }
            device.instructions[ident] = record
            while len(device.instructions) > MAX_INSTRUCTIONS:
                del device.instructions[next(iter(device.instructions))]
            self._pending[(state.id, str(body.get("message_id")))] = record
            if len(self._pending) > MAX_INSTRUCTIONS * 10:
                del self._pending[next(iter(self._pending))]
            if record["what"] is not None:
                device.modes.append((stamp, str(record["what"])))
        elif kind == "InstructionStatusUpdate":
            found = device.instructions.get(str(body.get("instruction_id")))
            if found is not None:
                found["statuses"].append([stamp, body.get("status_type")])
        elif kind == "PowerMeasurement":
            values = body.get("values")
            if isinstance(values, list):
                total = sum(float(v.get("value", 0)) for v in values if isinstance(v, dict))
                device.power.append((str(body.get("measurement_timestamp") or stamp), total))
        elif kind == "FRBC.StorageStatus":
            level = body.get("present_fill_level")
            if isinstance(level, int | float):
                device.fill.append((stamp, float(level)))
        elif kind in ("FRBC.ActuatorStatus", "OMBC.Status", "DDBC.ActuatorStatus"):
            mode = body.get("active_operation_mode_id")
            if mode is not None:
                device.modes.append((stamp, str(mode)))

    # --- live feed ------------------------------------------------------------------------
    def subscribe(self, limit: int = 1000) -> asyncio.Queue[dict[str, Any]]:
        """A bounded queue of new events; a reader that falls behind loses the oldest."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(limit)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    def _publish(self, event: dict[str, Any]) -> None:
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    # --- what the views read --------------------------------------------------------------
    def session_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "id": s.id,
                "source": s.source,
                "peer": s.peer,
                "device": self._device_name(s),
                "state": s.state,
                "version": s.version,
                "started": s.started,
                "ended": s.ended,
                "reason": s.reason,
                "frames": s.frames,
                "errors": s.errors,
                "warnings": s.warnings,
                "refused": s.refused,
            }
            for s in self.sessions.values()
        ]

    def device_rows(self) -> list[dict[str, Any]]:
        rows = []
        for s in self.sessions.values():
            d = s.device
            if d.details is None:
                continue
            rows.append(
                {
                    "session": s.id,
                    "name": self._device_name(s),
                    "state": s.state,
                    "details": d.details,
                    "control_type": d.control_type,
                    "description": d.description,
                    "description_at": d.description_at,
                    "instructions": list(d.instructions.values())[-20:],
                }
            )
        return rows

    def energy(self) -> dict[str, Any]:
        devices = []
        for s in self.sessions.values():
            d = s.device
            if d.details is None:
                continue
            devices.append(
                {
                    "session": s.id,
                    "name": self._device_name(s),
                    "resource_id": d.details.get("resource_id"),
                    "control_type": d.control_type,
                    "power": list(d.power),
                    "fill": list(d.fill),
                    "fill_range": d.fill_range,
                    "modes": list(d.modes),
                    "envelope": d.envelope,
                    "forecast": d.forecast,
                }
            )
        return {"devices": devices, **self.extra}

    def transcript(self, session: str) -> str:
        """The session's frames still held, as a transcript ``s2ws replay`` reads."""
        encode = msgspec.json.encode
        lines = [
            encode({"t": m["t"], "dir": m["dir"], "session": m["session"], "text": m["text"]}).decode()
            for m in self.messages
            if m["session"] == session
        ]
        return "".join(line + "\n" for line in lines)
