"""A live, readable log of S2 conversations: one line per message, with the answer it got.

::

    08:31:33.451  d5c7cd00 Home battery      CEM -> RM  SelectControlType          FILL_RATE_BASED_CONTROL  [OK]
    08:31:33.454  d5c7cd00 Home battery      RM -> CEM  FRBC.StorageStatus         fill level 50.0  [OK]

A message line waits (at most ``hold`` seconds) for the ReceptionStatus that answers it, so its
status can be printed on the same line; the status frames themselves are folded into those lines.
Lines are printed in the order the messages crossed the wire. An answer that comes after its
message was printed gets a line of its own, marked late. Ids are shortened to 8 characters and
operation modes are named by the labels their system description gave them. The session column
(short id and the RM's name) has a fixed width: a longer name is cut, ending in "…".
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from ..codec import Codec, get_codec
from ..errors import DecodeError
from ..messages import common, frbc, pebc, timeline
from ..messages.base import UNSET, S2Message, message_type_of
from ..session.policy import NIL_ID
from .observe import Frame, Observer

__all__ = ["LiveLog", "fit", "render", "short", "summarize"]

_ARROWS = {"cem>rm": "CEM -> RM", "rm>cem": "RM -> CEM"}
_OPPOSITE = {"cem>rm": "rm>cem", "rm>cem": "cem>rm"}
_MAX_MEMORY = 512
_MAX_STATUS = 160
_LABEL_WIDTH = 26
"""The session column: 8 characters of the session id, a space, and 17 of the RM's name."""

_QUANTITIES = {
    "ELECTRIC.POWER.L1": "L1",
    "ELECTRIC.POWER.L2": "L2",
    "ELECTRIC.POWER.L3": "L3",
    "ELECTRIC.POWER.3_PHASE_SYMMETRIC": "3-phase",
}


def short(ident: str) -> str:
    """The first 8 characters of an id: enough to tell sessions and messages apart on screen."""
    return ident[:8]


def fit(text: str, width: int) -> str:
    """``text`` padded with spaces to exactly ``width`` characters, or cut to fit, ending in "…"."""
    if len(text) <= width:
        return text.ljust(width)
    return (text[: width - 1].rstrip() + "…").ljust(width)


def _one_line(text: str) -> str:
    """``text`` with its line breaks turned into spaces, so that one message stays one line."""
    return " ".join(text.splitlines())


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}"


def _watts(value: float) -> str:
    return f"{_num(round(value, 1))} W"


def _time(moment: datetime) -> str:
    with contextlib.suppress(OverflowError):  # an instant of year 1 or 9999 the local zone cannot hold
        moment = moment.astimezone()
    return moment.strftime("%H:%M:%S.%f")[:-3]


@dataclass(eq=False)
class _Session:
    """What the log remembers about one session to name things."""

    label: str
    names: OrderedDict[str, str] = field(default_factory=OrderedDict)
    """id -> readable name (operation modes, actuators, instructions)."""

    def remember(self, ident: str, name: str) -> None:
        self.names[ident] = name
        self.names.move_to_end(ident)
        while len(self.names) > _MAX_MEMORY:
            self.names.popitem(last=False)

    def name(self, ident: str) -> str:
        return self.names.get(ident) or short(ident)


@dataclass(eq=False)
class _Line:
    t: datetime
    session: str
    direction: str
    what: str
    detail: str
    status: str | None = None
    message_id: str | None = None


def summarize(message: S2Message, names: Callable[[str], str] = short) -> str:
    """The few fields of a message a person wants to see, with ids turned into names."""
    m: Any = message
    if isinstance(m, common.Handshake):
        versions = ", ".join(m.supported_protocol_versions) if m.supported_protocol_versions is not UNSET else "-"
        return f"{m.role.value}, versions {versions}"
    if isinstance(m, common.HandshakeResponse):
        return f"version {m.selected_protocol_version}"
    if isinstance(m, common.ResourceManagerDetails):
        name = f'"{m.name}" ' if m.name is not UNSET else ""
        return f"{name}offers {', '.join(ct.value for ct in m.available_control_types)}"
    if isinstance(m, common.SelectControlType):
        return str(m.control_type.value)
    if isinstance(m, common.PowerMeasurement):
        return ", ".join(
            f"{_QUANTITIES.get(v.commodity_quantity.value, v.commodity_quantity.value)} {_watts(v.value)}"
            for v in m.values
        )
    if isinstance(m, common.PowerForecast):
        values = [v.value_expected for e in m.elements for v in e.power_values]
        span = timeline.span(timeline.total_ms(e.duration for e in m.elements))
        return f"{len(m.elements)} elements over {span}, {_watts(min(values))} .. {_watts(max(values))}"
    if isinstance(m, common.InstructionStatusUpdate):
        return f"{m.status_type.value} for {names(m.instruction_id)}"
    if isinstance(m, common.RevokeObject):
        return f"{m.object_type.value} {names(m.object_id)}"
    if isinstance(m, common.SessionRequest):
        label = f" ({m.diagnostic_label})" if m.diagnostic_label is not UNSET else ""
        return f"{m.request.value}{label}"
    if isinstance(m, frbc.FRBCSystemDescription):
        parts = []
        for actuator in m.actuators:
            modes = "/".join(names(mode.id) for mode in actuator.operation_modes)
            parts.append(f"{names(actuator.id)}: {modes}")
        storage = m.storage.fill_level_range
        unit = m.storage.fill_level_label if m.storage.fill_level_label is not UNSET else ""
        return (
            f"{'; '.join(parts)}; storage {_num(storage.start_of_range)}..{_num(storage.end_of_range)} {unit}".rstrip()
        )
    if isinstance(m, frbc.FRBCActuatorStatus):
        return f"{names(m.actuator_id)} {names(m.active_operation_mode_id)} x {m.operation_mode_factor:.2f}"
    if isinstance(m, frbc.FRBCStorageStatus):
        return f"fill level {m.present_fill_level:.1f}"
    if isinstance(m, frbc.FRBCInstruction):
        return (
            f"{names(m.id)}: {names(m.actuator_id)} {names(m.operation_mode)} x {m.operation_mode_factor:.2f} "
            f"at {_time(m.execution_time)}"
        )
    if isinstance(m, pebc.PEBCPowerConstraints):
        ranges = ", ".join(
            f"{r.limit_type.value.split('_')[0].lower()} {_num(r.range_boundary.start_of_range)}.."
            f"{_num(r.range_boundary.end_of_range)} W"
            for r in m.allowed_limit_ranges
        )
        return f"{names(m.id)}: {ranges}"
    if isinstance(m, pebc.PEBCInstruction):
        parts = []
        for envelope in m.power_envelopes:
            elements = envelope.power_envelope_elements
            first = elements[0]
            span = timeline.span(timeline.total_ms(e.duration for e in elements))
            parts.append(f"{_watts(first.lower_limit)} .. {_watts(first.upper_limit)} for {span}")
        return f"{names(m.id)}: {'; '.join(parts)} from {_time(m.execution_time)}"
    message_id = getattr(m, "message_id", None)
    return short(message_id) if isinstance(message_id, str) else ""


class LiveLog(Observer):
    """Prints the live log to ``stream``. Call :meth:`tick` now and then (a few times a second) so
    a message nobody answers is still printed after ``hold`` seconds."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        hold: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        profile: str | None = None,
    ) -> None:
        self._stream = stream
        self._hold = timedelta(seconds=hold)
        self._clock = clock
        self._codec: Codec = get_codec(profile)
        self._sessions: dict[str, _Session] = {}
        self._queue: deque[_Line] = deque()
        self._awaiting: dict[tuple[str, str, str], _Line] = {}
        self._anonymous: dict[tuple[str, str], deque[_Line]] = {}
        self._printed: OrderedDict[tuple[str, str, str], str] = OrderedDict()
        self.lines = 0

    # --- observer API ------------------------------------------------------------------------------

    def session_started(self, session: str, role: str, peer: str | None) -> None:
        self._sessions[session] = _Session(short(session))
        where = f" with {peer}" if peer else ""
        self._notice(session, f"session started ({role}{where})")

    def frame(self, frame: Frame) -> None:
        state = self._sessions.get(frame.session) or self._sessions.setdefault(
            frame.session, _Session(short(frame.session))
        )
        try:
            message = self._codec.decode(frame.text)
        except DecodeError as exc:
            line = _Line(frame.t, frame.session, frame.direction, exc.message_type or "<not S2>", exc.diagnostic)
            self._enqueue(line, exc.message_id)
        else:
            if isinstance(message, common.ReceptionStatus):
                self._answer(frame, message, state)
            else:
                self._learn(message, state)
                what = message_type_of(type(message))
                line = _Line(frame.t, frame.session, frame.direction, what, summarize(message, state.name))
                self._enqueue(line, getattr(message, "message_id", None))
        self.tick(frame.t)

    def session_ended(self, session: str, reason: str) -> None:
        for line in self._queue:
            if line.session == session and line.status is None:
                line.status = "no answer before the end"
        self._flush(lambda line: line.session == session)
        self._notice(session, f"session ended: {reason}")
        self._anonymous = {key: queue for key, queue in self._anonymous.items() if key[0] != session}
        if len(self._sessions) > _MAX_MEMORY:  # keep labels for late frames, within bounds
            self._sessions.pop(next(iter(self._sessions)))

    def close(self) -> None:
        self._flush(lambda line: True)

    def tick(self, now: datetime | None = None) -> None:
        """Print every line whose answer came, and those that waited ``hold`` in vain."""
        now = now or self._clock()
        while self._queue:
            head = self._queue[0]
            if head.status is None and now - head.t < self._hold:
                return
            self._queue.popleft()
            self._print(head)

    # --- internals ---------------------------------------------------------------------------------

    def _enqueue(self, line: _Line, message_id: str | None) -> None:
        self._queue.append(line)
        line.message_id = message_id
        if message_id:
            self._awaiting[(line.session, line.direction, message_id)] = line
        else:
            self._anonymous.setdefault((line.session, line.direction), deque()).append(line)

    def _answer(self, frame: Frame, status: common.ReceptionStatus, state: _Session) -> None:
        asked = _OPPOSITE[frame.direction]
        text = status.status.value
        if status.diagnostic_label is not UNSET and status.status.value != "OK":
            text = f"{text}: {status.diagnostic_label}"
        text = text if len(text) <= _MAX_STATUS else text[: _MAX_STATUS - 3] + "..."
        line = self._awaiting.pop((frame.session, asked, status.subject_message_id), None)
        if line is None and status.subject_message_id == NIL_ID:
            waiting = self._anonymous.get((frame.session, asked))
            line = waiting.popleft() if waiting else None
        if line is not None:
            line.status = text
            return
        printed = self._printed.get((frame.session, asked, status.subject_message_id))
        about = f"{printed} {short(status.subject_message_id)}" if printed else short(status.subject_message_id)
        late = "late answer" if printed else "answer to nothing known"
        self._queue.append(
            _Line(frame.t, frame.session, frame.direction, "ReceptionStatus", f"{late} for {about}", text)
        )

    def _learn(self, message: S2Message, state: _Session) -> None:
        """Remember readable names for the ids later messages will use."""
        m: Any = message
        if isinstance(m, common.ResourceManagerDetails):
            name = m.name if m.name is not UNSET else (m.model if m.model is not UNSET else "")
            name = " ".join(name.split())  # one line, whatever the peer put in its name
            if name:
                state.label = f"{state.label[:8]} {name}"
        elif isinstance(m, frbc.FRBCSystemDescription):
            for actuator in m.actuators:
                if actuator.diagnostic_label is not UNSET:
                    state.remember(actuator.id, actuator.diagnostic_label)
                for mode in actuator.operation_modes:
                    if mode.diagnostic_label is not UNSET:
                        state.remember(mode.id, mode.diagnostic_label)
        elif isinstance(m, frbc.FRBCInstruction | pebc.PEBCInstruction):
            state.remember(m.id, f"{message_type_of(type(m)).split('.')[0]} instruction {short(m.id)}")

    def _flush(self, which: Callable[[_Line], bool]) -> None:
        keep: deque[_Line] = deque()
        for line in self._queue:
            if which(line):
                self._print(line)
            else:
                keep.append(line)
        self._queue = keep

    def _print(self, line: _Line) -> None:
        if line.message_id is not None:
            key = (line.session, line.direction, line.message_id)
            if self._awaiting.get(key) is line:
                del self._awaiting[key]
                self._printed[key] = line.what
                while len(self._printed) > _MAX_MEMORY:
                    self._printed.popitem(last=False)
        else:
            anonymous = self._anonymous.get((line.session, line.direction))
            if anonymous and line in anonymous:
                anonymous.remove(line)
        status = _one_line(line.status if line.status is not None else "no answer yet")
        detail = _one_line(line.detail)  # a peer's names and labels may hold line breaks
        label = self._label(line.session)
        self._write(f"{_time(line.t)}  {label} {_ARROWS[line.direction]:<9}  {line.what:<26} {detail}  [{status}]")

    def _notice(self, session: str, text: str) -> None:
        self._write(f"{_time(self._clock())}  {self._label(session)} {_one_line(text)}")

    def _label(self, session: str) -> str:
        """The session column, exactly ``_LABEL_WIDTH`` characters wide."""
        state = self._sessions.get(session)
        return fit(state.label if state is not None else short(session), _LABEL_WIDTH)

    def _write(self, text: str) -> None:
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write(text + "\n")
        stream.flush()
        self.lines += 1


def render(frames: Iterable[Frame], **options: Any) -> list[str]:
    """The live log of a finished list of frames, as lines (for tests and for reading transcripts)."""
    out = io.StringIO()
    log = LiveLog(out, **options)
    for item in frames:
        log.frame(item)
    log.close()
    return out.getvalue().splitlines()
