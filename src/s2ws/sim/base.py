"""What every simulator shares: the :class:`DeviceSim` protocol, id factories, the time loop.

A simulator is a Resource Manager without I/O and without a clock: the driver passes ``now``
into every call and sends the messages that come back, in order. The physics advances in small
steps between calls, and events (an instruction's execution time, a car leaving, a description
becoming valid) are handled at the moment they happen, however rarely the driver calls: a
driver that ticks once an hour gets the same story as one that ticks every second, only later.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final, Generic, Protocol, TypeVar, runtime_checkable

from ..control import OperationModeDevice
from ..control.operation_modes import OMDescription
from ..messages import (
    Commodity,
    CommodityQuantity,
    ControlType,
    Currency,
    NumberRange,
    PowerMeasurement,
    PowerValue,
    ResourceManagerDetails,
    Role,
    RoleType,
    SelectControlType,
    Timer,
    Transition,
    new_id,
)
from ..messages.base import UNSET, S2Message

__all__ = [
    "DeviceFactory",
    "DeviceSim",
    "IdFactory",
    "OperationModeSim",
    "ReadableIds",
    "SimBase",
    "number_range",
    "timer",
    "transition",
    "uuid_ids",
]

IdFactory = Callable[[str], str]
"""Makes the id of one named part of a device (``"actuator"``, ``"mode-charge"``); each part is
asked for once, so a factory may number repeats."""

NO_SELECTION: Final = ControlType.NO_SELECTION
_ID_CHARS: Final = re.compile(r"[^A-Za-z0-9\-_:]")
_MAX_EVENTS: Final = 10_000
"""More events at one moment than this means a simulator keeps rescheduling itself: a bug."""


def uuid_ids(hint: str) -> str:
    """The default: a fresh UUID4 whatever the part (the only id form every peer accepts)."""
    return new_id()


class ReadableIds:
    """Ids spelled from their hints (``mode-charge``), for tests and logs; a repeat is numbered.

    Peers that insist on UUIDs (s2-python) refuse these, so use them only between s2ws sides.
    """

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self._seen: Counter[str] = Counter()

    def __call__(self, hint: str) -> str:
        base = _ID_CHARS.sub("-", self.prefix + hint)[:60].ljust(2, "-")
        count = self._seen[base]
        self._seen[base] += 1
        return base if count == 0 else f"{base}-{count}"


@runtime_checkable
class DeviceSim(Protocol):
    """A simulated device as a Resource Manager, sans I/O: what a driver needs to run one.

    The driver sends ``details()`` after the handshake, calls ``on_select`` for every
    SelectControlType, ``handle`` for every other message from the CEM (instructions,
    revocations), ``tick`` at ``next_wakeup`` (or more often), and sends what each returns, in
    order. ``handle`` raises :class:`~s2ws.errors.InvalidContent` where the ReceptionStatus
    should say so.
    """

    @property
    def control_types(self) -> tuple[ControlType, ...]: ...

    def details(self) -> ResourceManagerDetails: ...

    def on_select(self, control_type: ControlType, now: datetime) -> list[S2Message]: ...

    def handle(self, message: S2Message, now: datetime) -> list[S2Message]: ...

    def tick(self, now: datetime) -> list[S2Message]: ...

    def next_wakeup(self) -> datetime | None: ...


class DeviceFactory(Protocol):
    """How the device table builds a simulator: at ``now``, with optional ids and report interval."""

    def __call__(self, *, now: datetime, ids: IdFactory | None = ..., interval: timedelta = ...) -> DeviceSim: ...


def number_range(start: float, end: float) -> NumberRange:
    return NumberRange(start_of_range=float(start), end_of_range=float(end))


def transition(
    transition_id: str,
    source: str,
    target: str,
    *,
    start: Sequence[str] = (),
    blocking: Sequence[str] = (),
    duration: timedelta | None = None,
    costs: float | None = None,
) -> Transition:
    """A transition in one line; ``start``/``blocking`` name timers by id."""
    return Transition(
        id=transition_id,
        from_=source,
        to=target,
        start_timers=list(start),
        blocking_timers=list(blocking),
        transition_costs=UNSET if costs is None else costs,
        transition_duration=UNSET if duration is None else round(duration / timedelta(milliseconds=1)),
        abnormal_condition_only=False,
    )


def timer(timer_id: str, label: str, duration: timedelta) -> Timer:
    return Timer(id=timer_id, diagnostic_label=label, duration=round(duration / timedelta(milliseconds=1)))


class SimBase:
    """The time loop and the reporting every simulator shares.

    Subclasses describe the device (``control_types``, ``roles``, ``measured``, ...), compute
    ``power`` and implement the hooks: ``_step`` integrates the physics over a short span in
    which nothing changes, ``_control_wakeup``/``_event_wakeup`` say when something is due and
    ``_on_due`` handles it, ``_select``/``_handle`` talk to the control-type building block, and
    ``_report`` adds what is sent with each periodic measurement.
    """

    control_types: tuple[ControlType, ...] = ()
    roles: ClassVar[tuple[tuple[RoleType, Commodity], ...]] = ()
    measured: ClassVar[tuple[CommodityQuantity, ...]] = ()
    model: ClassVar[str] = "simulated device"
    provides_forecast: ClassVar[bool] = False
    currency: ClassVar[Currency | None] = None
    processing_delay: ClassVar[timedelta] = timedelta(milliseconds=500)
    max_step: ClassVar[timedelta] = timedelta(minutes=1)
    """The longest span the physics integrates in one go."""

    def __init__(self, *, now: datetime, name: str, ids: IdFactory | None, interval: timedelta) -> None:
        if interval <= timedelta(0):
            raise ValueError("the report interval must be positive")
        self.ids: IdFactory = ids or uuid_ids
        self._made: dict[str, str] = {}
        self.name = name
        self.interval = interval
        """Time between PowerMeasurements (and the status reports that go with them)."""
        self.resource_id = self.id("resource")
        self.selected: ControlType | None = None
        """The control type the CEM selected last (None: none, or NO_SELECTION)."""
        self.time = now
        """How far the physics has run."""
        self._next_report = now

    def id(self, hint: str) -> str:
        """The id of one part of the device: made once, the same ever after."""
        made = self._made.get(hint)
        if made is None:
            made = self._made[hint] = self.ids(hint)
        return made

    # --- what the device is ----------------------------------------------------------------------

    def details(self) -> ResourceManagerDetails:
        return ResourceManagerDetails(
            message_id=new_id(),
            resource_id=self.resource_id,
            name=self.name,
            roles=[Role(role=role, commodity=commodity) for role, commodity in self.roles],
            manufacturer="s2ws",
            model=self.model,
            instruction_processing_delay=round(self.processing_delay / timedelta(milliseconds=1)),
            available_control_types=list(self.control_types),
            currency=UNSET if self.currency is None else self.currency,
            provides_forecast=self.provides_forecast,
            provides_power_measurement_types=list(self.measured),
        )

    def power(self, at: datetime) -> dict[CommodityQuantity, float]:
        """What the device draws (positive) or delivers (negative) per measured quantity now."""
        raise NotImplementedError

    def measurement(self, now: datetime) -> PowerMeasurement:
        values = [PowerValue(commodity_quantity=cq, value=round(v, 3)) for cq, v in self.power(now).items()]
        return PowerMeasurement(message_id=new_id(), measurement_timestamp=now, values=values)

    # --- the DeviceSim protocol --------------------------------------------------------------------

    def on_select(self, control_type: ControlType, now: datetime) -> list[S2Message]:
        out = self._run_until(now)
        self.selected = None if control_type is NO_SELECTION else control_type
        return [*out, *self._select(control_type, now)]

    def handle(self, message: S2Message, now: datetime) -> list[S2Message]:
        if isinstance(message, SelectControlType):
            return self.on_select(message.control_type, now)
        out = self._run_until(now)
        return [*out, *self._handle(message, now)]

    def tick(self, now: datetime) -> list[S2Message]:
        out = self._run_until(now)
        if now >= self._next_report:
            out.append(self.measurement(now))
            out.extend(self._report(now))
            self._next_report = now + self.interval
        return out

    def next_wakeup(self) -> datetime | None:
        times = [self._next_report, self._control_wakeup(), self._event_wakeup(), self._physics_wakeup()]
        return min((t for t in times if t is not None), default=None)

    # --- the loop ----------------------------------------------------------------------------------

    def _run_until(self, now: datetime) -> list[S2Message]:
        """Run the physics to ``now``, stopping at every due moment on the way to handle it there."""
        out: list[S2Message] = []
        for _ in range(_MAX_EVENTS):
            due = [t for t in (self._control_wakeup(), self._event_wakeup()) if t is not None and t <= now]
            if not due:
                out.extend(self._advance(now))
                return out
            moment = max(min(due), self.time)
            out.extend(self._advance(moment))
            out.extend(self._on_due(moment))
        raise RuntimeError(f"{type(self).__name__} keeps scheduling events at {self.time.isoformat()}")

    def _advance(self, to: datetime) -> list[S2Message]:
        out: list[S2Message] = []
        while self.time < to:
            end = min(to, self.time + self.max_step, *self._boundaries(self.time, to))
            out.extend(self._step(self.time, end))
            self.time = end
        return out

    # --- hooks -------------------------------------------------------------------------------------

    def _boundaries(self, start: datetime, end: datetime) -> Iterable[datetime]:
        """Moments in (start, end) where the physics changes (a description becomes valid)."""
        return ()

    def _step(self, start: datetime, end: datetime) -> list[S2Message]:
        """Integrate over [start, end), in which the device's state is constant; then react."""
        return []

    def _control_wakeup(self) -> datetime | None:
        return None

    def _event_wakeup(self) -> datetime | None:
        return None

    def _physics_wakeup(self) -> datetime | None:
        """When the physics will next make the device act on its own (a hint for the driver; the
        loop itself never waits for it, the reaction happens in ``_step`` whenever it runs)."""
        return None

    def _on_due(self, moment: datetime) -> list[S2Message]:
        """Handle whatever ``_control_wakeup`` or ``_event_wakeup`` announced for ``moment``."""
        return []

    def _select(self, control_type: ControlType, now: datetime) -> list[S2Message]:
        return []

    def _handle(self, message: S2Message, now: datetime) -> list[S2Message]:
        return []

    def _report(self, now: datetime) -> list[S2Message]:
        return []


D = TypeVar("D", bound=OMDescription)
P = TypeVar("P")


class OperationModeSim(SimBase, Generic[D, P]):
    """A simulator on an OMBC/FRBC/DDBC building block: the device's modes *are* the physics.

    The control device keeps the description, the active modes and the instructions; the
    simulator reads the description in force and the active mode and factor of each machine
    when it integrates, so what the CEM is told and what the device does cannot drift apart.
    ``params`` is a frozen dataclass; :meth:`reconfigure` publishes a description built from
    changed params that takes over at its ``valid_from``.
    """

    control_type: ClassVar[ControlType]
    device: OperationModeDevice[D, Any]

    def __init__(self, params: P, *, now: datetime, name: str, ids: IdFactory | None, interval: timedelta) -> None:
        super().__init__(now=now, name=name, ids=ids, interval=interval)
        self.params = params
        """The latest params (those of the newest description, which may not be valid yet)."""

    def describe(self, params: P, valid_from: datetime) -> D:
        """The system description of the device with ``params``; ids stay the same."""
        raise NotImplementedError

    def reconfigure(self, now: datetime, *, valid_from: datetime | None = None, **changes: Any) -> list[S2Message]:
        """Change params (a derated inverter, a new charger limit) from ``valid_from`` (default now):
        the new description to send; the device behaves by it once it is in force."""
        out = self._run_until(now)
        self.params = dataclasses.replace(self.params, **changes)  # type: ignore[type-var]
        description = self.describe(self.params, valid_from or now)
        return [*out, *self.device.publish_description(description, now)]

    def _boundaries(self, start: datetime, end: datetime) -> Iterable[datetime]:
        upcoming = self.device.descriptions.next_after(start)
        return () if upcoming is None or upcoming.valid_from >= end else (upcoming.valid_from,)

    def _select(self, control_type: ControlType, now: datetime) -> list[S2Message]:
        out: list[S2Message] = []
        if self.device.active:
            out.extend(self.device.deactivate(now))
        if control_type is self.control_type:
            out.extend(self.device.activate(now))
        return out

    def _handle(self, message: S2Message, now: datetime) -> list[S2Message]:
        return self.device.handle(message, now)

    def _control_wakeup(self) -> datetime | None:
        return self.device.next_wakeup()

    def _on_due(self, moment: datetime) -> list[S2Message]:
        return self.device.tick(moment)

    def mode(self, actuator_id: str = "") -> tuple[str, float]:
        """(mode id, factor) the machine runs in now."""
        status = self.device.statuses[actuator_id]
        return status.mode_id, status.factor
