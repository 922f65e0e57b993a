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
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from ..app.observe import Frame, Observer
from ..app.recorder import rfc3339
from ..messages.timeline import later
from ..rules.replay import Record, Replay

if TYPE_CHECKING:
    from ..store import History

__all__ = ["LIVE_WINDOW", "MAX_MESSAGES", "MAX_POINTS", "Monitor", "transcript_line"]

MAX_MESSAGES = 5000
"""Frames the server keeps for the Messages view and transcript downloads."""
MAX_POINTS = 2000
"""Points kept per series of a device."""
LIVE_WINDOW = timedelta(days=1)
"""How far back a live monitor keeps each device's series (the Energy view's past beyond it comes
from the SQLite history, when there is one)."""
MAX_INSTRUCTIONS = 100
MAX_ENDED_SESSIONS = 50
MAX_STATUSES = 20
"""Status changes kept per instruction (the newest)."""
MAX_CONTAINERS = 50
"""PPBC: sequence containers (and sequences per container) the placement view keeps."""
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


def _instant(value: Any, default: str) -> str:
    """A timestamp from a message in the one form the series use (RFC 3339, UTC, microseconds, Z)."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                return rfc3339(moment)
    return default


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
    profile: dict[str, Any] | None = None
    """PPBC: the newest PowerProfileDefinition, reduced to what the placement chart needs."""
    placed: dict[str, dict[str, Any]] = field(default_factory=dict)
    """PPBC: per sequence container the newest ScheduleInstruction (sequence, planned start)."""
    progress: dict[str, dict[str, Any]] = field(default_factory=dict)
    """PPBC: per sequence container what the RM last reported (status, selected sequence)."""


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
        self,
        *,
        profile: str = "0.0.2-beta",
        source: str = "cem",
        clock: Callable[[], datetime] | None = None,
        window: timedelta | None = None,
    ):
        self.source = source
        self.window = window
        """Live views keep each device's series for this long (LIVE_WINDOW) besides at most MAX_POINTS
        points, so their size is flat after the first day whatever the message rate; None (replay): by
        count only."""
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
        self.recording: str | None = None
        """The transcript this process records (``--record FILE``): a session's full transcript is read
        from it (and its rotated parts) instead of the ring."""

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
        if self.window is not None:
            self._forget_before(state.device, rfc3339(t - self.window))
        self.messages.append(entry)
        self._publish({"kind": "message", "entry": entry})
        return entry

    @staticmethod
    def _forget_before(device: _Device, cutoff: str) -> None:
        for series in (device.power, device.fill, device.modes):
            while series and series[0][0] < cutoff:
                series.popleft()

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
        if kind.startswith("PPBC."):
            self._learn_ppbc(device, kind, body, stamp)
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
                del found["statuses"][:-MAX_STATUSES]  # an RM repeating a status does not grow it
        elif kind == "PowerMeasurement":
            values = body.get("values")
            if isinstance(values, list):
                total = sum(float(v.get("value", 0)) for v in values if isinstance(v, dict))
                device.power.append((_instant(body.get("measurement_timestamp"), stamp), total))
        elif kind == "FRBC.StorageStatus":
            level = body.get("present_fill_level")
            if isinstance(level, int | float):
                device.fill.append((stamp, float(level)))
        elif kind in ("FRBC.ActuatorStatus", "OMBC.Status", "DDBC.ActuatorStatus"):
            mode = body.get("active_operation_mode_id")
            if mode is not None:
                device.modes.append((stamp, str(mode)))

    @staticmethod
    def _learn_ppbc(device: _Device, kind: str, body: dict[str, Any], stamp: str) -> None:
        """The profile, where the CEM placed each container's sequence, and what the RM reports of it."""
        if kind == "PPBC.PowerProfileDefinition":
            containers = []
            for container in body.get("power_sequences_containers", [])[:MAX_CONTAINERS]:
                sequences = {}
                for sequence in container.get("power_sequences", [])[:MAX_CONTAINERS]:
                    elements = [
                        (
                            float(e["duration"]),
                            sum(float(v.get("value_expected", 0)) for v in e.get("power_values", [])),
                        )
                        for e in sequence.get("elements", [])[:MAX_POINTS]
                    ]
                    sequences[str(sequence.get("id"))] = elements
                containers.append({"id": str(container.get("id")), "sequences": sequences})
            device.profile = {
                "id": str(body.get("id")),
                "window": [body.get("start_time"), body.get("end_time")],
                "containers": containers,
            }
            device.placed.clear()
            device.progress.clear()
        elif kind == "PPBC.ScheduleInstruction":
            container = str(body.get("sequence_container_id"))
            device.placed[container] = {
                "sequence": str(body.get("power_sequence_id")),
                "start": body.get("execution_time"),
                "sent": stamp,
            }
            while len(device.placed) > MAX_CONTAINERS:
                del device.placed[next(iter(device.placed))]
        elif kind == "PPBC.PowerProfileStatus":
            for item in body.get("sequence_container_status", [])[:MAX_CONTAINERS]:
                selected = item.get("selected_sequence_id")
                device.progress[str(item.get("sequence_container_id"))] = {
                    "status": item.get("status"),
                    "sequence": str(selected) if selected is not None else None,
                    "at": stamp,
                }
            while len(device.progress) > MAX_CONTAINERS:
                del device.progress[next(iter(device.progress))]

    @staticmethod
    def _placement(device: _Device, planned: Any) -> dict[str, Any] | None:
        """PPBC: each container with its allowed window, the sequence placed in it, its planned start and
        the power it draws from there (steps), and the RM's status of it. The placement is the
        ScheduleInstruction sent for the container, else where the current plan (``planned``, the
        plan's sequence starts of this device) puts it."""
        profile = device.profile
        if profile is None:
            return None
        from_plan = {}
        for item in planned if isinstance(planned, list) else []:
            if isinstance(item, dict) and item.get("profile") == profile["id"]:
                from_plan[str(item.get("container"))] = {"sequence": item.get("sequence"), "start": item.get("start")}
        rows = []
        for container in profile["containers"]:
            ident = container["id"]
            placed = device.placed.get(ident)
            source = "instruction" if placed else None
            if placed is None and ident in from_plan:
                placed, source = from_plan[ident], "plan"
            reported = device.progress.get(ident)
            sequence = (placed or {}).get("sequence") or (reported or {}).get("sequence")
            points: list[tuple[str, float]] = []
            start = (placed or {}).get("start")
            elements = container["sequences"].get(sequence) if sequence is not None else None
            if isinstance(start, str) and elements:
                steps = _steps(start, [{"duration": d, "power": w} for d, w in elements])
                points = [(t, e["power"]) for t, e in steps]
            rows.append(
                {
                    "container": ident,
                    "sequence": sequence,
                    "start": start,
                    "placed_by": source,
                    "status": (reported or {}).get("status"),
                    "status_at": (reported or {}).get("at"),
                    "points": points,
                }
            )
        return {"profile": profile["id"], "window": profile["window"], "containers": rows}

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
        held = Counter(m["session"] for m in self.messages)
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
                "transcript": self.transcript_source(s.id, held[s.id]),
                "held": held[s.id],
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
        planned = self.extra.get("planned")
        plans = planned.get("devices") if isinstance(planned, dict) else None
        for s in self.sessions.values():
            d = s.device
            if d.details is None:
                continue
            name = self._device_name(s)
            mine = plans.get(name) if isinstance(plans, dict) and name is not None else None
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
                    "ppbc": self._placement(d, mine.get("sequences") if isinstance(mine, dict) else None),
                }
            )
        return {"devices": devices, **self.extra}

    def held(self, session: str) -> int:
        """How many of the session's frames the ring still holds."""
        return sum(1 for m in self.messages if m["session"] == session)

    def transcript_source(self, session: str, held: int | None = None) -> str:
        """Where the session's transcript comes from: "recording" (complete, the ``--record`` file),
        "ring" (complete: the ring still holds every frame), "history+ring" (what the SQLite history
        kept of the frames the ring lost, then the ring) or "ring-partial" (the newest frames only)."""
        if self.recording is not None:
            return "recording"
        state = self.sessions.get(session)
        seen = sum(state.frames.values()) if state is not None else 0
        if (self.held(session) if held is None else held) >= seen:
            return "ring"
        return "history+ring" if self.history is not None else "ring-partial"

    def transcript(self, session: str) -> str:
        """The session's frames still held, as a transcript ``s2ws replay`` reads."""
        return "".join(transcript_line(m["t"], m["dir"], m["session"], m["text"]) for m in self.ring_of(session))

    def ring_of(self, session: str) -> list[dict[str, Any]]:
        """The session's message entries still in the ring, oldest first."""
        return [m for m in self.messages if m["session"] == session]


def transcript_line(t: str, direction: str, session: str, text: str) -> str:
    """One line of a transcript as the recorder writes it."""
    return msgspec.json.encode({"t": t, "dir": direction, "session": session, "text": text}).decode() + "\n"
