"""The reference CEM behind ``s2ws cem`` and ``s2ws demo``: a rolling horizon over the control-type views.

One way to plan, whatever the control type: every RM's :attr:`~s2ws.app.cem.RMHandle.view` is the
CEM's picture of it, and the planner reads only that picture.

- ``planner="optimizer"`` (the default): :func:`s2ws.plan.device_model` takes a snapshot of every
  view on the event loop, :meth:`s2ws.plan.Planner.plan` solves one optimisation problem for the
  whole site in a worker thread, and :meth:`s2ws.plan.Plan.instructions` builds, through each view,
  the instructions for the near term: from now plus the RM's ``instruction_processing_delay`` to one
  ``step`` later (the next replan comes within a step). A pending instruction the new plan no longer
  contains is revoked; one it repeats is not sent again.
- ``planner="rules"``: the fixed per-control-type rules of :mod:`s2ws.app.planners`, for comparison.

When it plans: on every message that changes what the CEM knows (descriptions, statuses,
forecasts, constraints, revocations), on an instruction REJECTED or ABORTED, when an RM comes or
goes, when a measured power strays from the plan by more than ``deviation_w``, and every ``step``
of the CEM's clock. So the first plan goes out as soon as a device is described. Triggers
coalesce: at most one plan is being computed and at most one more is queued, whatever the rate
of messages.

Nothing that the view's preflight or the rule catalogue refuses is sent: a refusal is logged (with
its rule) and the view forgets the instruction; planning carries on. With a
:class:`~s2ws.store.History`, every plan (objective, relaxations, schedules), every instruction
with every status, and the messages behind them are kept; instruction ids already in the history
are never sent again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from ..codec import encode
from ..errors import S2Error
from ..messages.base import S2Message, message_type_of
from ..messages.common import (
    Handshake,
    HandshakeResponse,
    InstructionStatusUpdate,
    PowerMeasurement,
    ReceptionStatus,
    ResourceManagerDetails,
    SessionRequest,
)
from ..messages.ddbc import DDBCInstruction
from ..messages.enums import InstructionStatus, ReceptionStatusValues
from ..messages.frbc import FRBCInstruction
from ..messages.ombc import OMBCInstruction
from ..messages.pebc import PEBCInstruction
from ..messages.timeline import later
from ..session.events import (
    ControlTypeSelected,
    HandshakeCompleted,
    InstructionStatusChanged,
    MessageReceived,
    ReceptionStatusReceived,
    SessionClosed,
)
from ..store import History
from .base import InstructionRecord, SessionHandle, describe_error
from .cem import CEM, RMHandle
from .clock import clock_speed, scaled_timeouts
from .history import HistoryFeed
from .planners import STEP, planner_for

if TYPE_CHECKING:
    from ..plan import Plan, Planner, Site

__all__ = ["PLANNERS", "PlannerCEM", "describe_plan"]

log = logging.getLogger("s2ws.app.planner")

PLANNERS = ("optimizer", "rules")
"""The planners ``s2ws cem --planner`` offers; the optimiser is the default."""

_QUIET = (
    Handshake,
    HandshakeResponse,
    ReceptionStatus,
    SessionRequest,
    ResourceManagerDetails,
    PowerMeasurement,
    InstructionStatusUpdate,
)
"""Messages that do not change the picture a plan is made from (measurements are judged apart)."""
_DESCRIPTIONS = ("SystemDescription", "PowerConstraints", "PowerProfileDefinition")
_REPLAN_ON = (InstructionStatus.REJECTED, InstructionStatus.ABORTED)
_NOT_STARTED = (None, InstructionStatus.ACCEPTED)
_PRUNE_EVERY = timedelta(hours=1)
_ENDED_EARLY = (InstructionStatus.REJECTED, InstructionStatus.REVOKED, InstructionStatus.ABORTED)
_ANSWERED_OK = (ReceptionStatusValues.OK, ReceptionStatusValues.TEMPORARY_ERROR)
_encoder = msgspec.json.Encoder()


def signature(message: S2Message, *, timed: bool = True) -> bytes:
    """What an instruction asks for, without its ids: two instructions with the same signature
    tell the RM the same thing, so the second is never sent. ``timed=False`` leaves out the
    execution time too (what was refused is not asked again a moment later)."""
    drop = ("id", "message_id") if timed else ("id", "message_id", "execution_time")

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in drop}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return _encoder.encode(strip(msgspec.json.decode(encode(message))))


def describe_plan(plan: Plan, plan_id: int | None = None, names: Mapping[str, str] | None = None) -> str:
    """One line for the console: status, objective, solve time, relaxations (devices by ``names``)."""
    names = names or {}
    head = f"plan {plan_id}" if plan_id is not None else "plan"
    text = (
        f"{head} at {plan.now.astimezone(UTC):%Y-%m-%d %H:%M}: {plan.status}, objective {plan.objective_value:.3f}, "
        f"{len(plan.devices)} device(s), {len(plan.steps)} step(s), solved in {plan.solve_seconds:.2f} s"
    )
    if plan.relaxations:
        parts = [
            f"{names.get(r.device, r.device) if r.device else 'site'}: {r.constraint} by {r.amount:.3g} {r.unit}"
            for r in plan.relaxations
        ]
        text += "; relaxed: " + "; ".join(parts)
    return text


class PlannerCEM(CEM):
    """The reference CEM: see the module docstring.

    ``site`` (optimiser only) defaults to :func:`s2ws.plan.example_site` for the current simulated
    day. ``step`` is how often it replans without a trigger (default: the site's step, else 15
    minutes, in the CEM's clock). ``history`` keeps what happened; ``on_plan`` gets a one-line
    summary of every plan (the console prints it).
    """

    def __init__(
        self,
        *,
        planner: str = "optimizer",
        site: Site | None = None,
        history: History | None = None,
        step: timedelta | None = None,
        deviation_w: float = 500.0,
        on_plan: Callable[[str], None] | None = None,
        **options: Any,
    ) -> None:
        if planner not in PLANNERS:
            raise ValueError(f"planner must be one of {', '.join(PLANNERS)}, got {planner!r}")
        if step is not None and step <= timedelta(0):
            raise ValueError("step must be positive")
        if not deviation_w > 0:
            raise ValueError("deviation_w must be positive")
        super().__init__(**scaled_timeouts(options.get("clock"), options))
        self.planner = planner
        self._site = site
        self.step = step or (site.step if site is not None else STEP)
        self.deviation_w = deviation_w
        self.on_plan = on_plan
        self.history: HistoryFeed | None = HistoryFeed(history, self.clock).attach(self) if history else None
        self.last_plan: Plan | None = None
        """The newest plan (optimiser only)."""
        self.plans = 0
        """How many plans were made."""
        self._optimizer: Planner | None = None
        self._reasons: set[str] = set()
        self._due: set[str] = set()  # RM ids the rules planner looks at next
        self._task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._strayed: dict[str, datetime] = {}
        self._pruned: datetime | None = None
        self._stopping = False
        self.add_listener(self._watch)
        if self.history is not None and self.history.unfinished:
            log.info(
                "history: %d instruction(s) known, %d had not finished when the CEM stopped",
                len(self.history.known),
                len(self.history.unfinished),
            )

    @property
    def site(self) -> Site:
        if self._site is None:
            from ..plan import example_site

            now = self.clock().astimezone(UTC)
            self._site = example_site(now.replace(hour=0, minute=0, second=0, microsecond=0))
        return self._site

    # --- triggers -----------------------------------------------------------------------------------

    def _watch(self, handle: SessionHandle, event: object) -> None:
        """Every session event, on the loop's thread: decide whether to plan again."""
        if not isinstance(handle, RMHandle):
            return
        if isinstance(event, SessionClosed):
            self._strayed.pop(handle.id, None)  # kept per live RM only: a CEM runs for months of reconnects
        if isinstance(event, HandshakeCompleted):
            self._start_ticker()
        elif isinstance(event, MessageReceived):
            message = event.message
            if isinstance(message, PowerMeasurement):
                self._check_deviation(handle, message)
            elif not isinstance(message, _QUIET):
                kind = message_type_of(type(message))
                if self.planner == "optimizer" or kind.endswith(_DESCRIPTIONS):
                    self.request_plan(f"{kind} from {handle.name}", handle)
        elif isinstance(event, InstructionStatusChanged) and event.status in _REPLAN_ON:
            self._refused_now(handle, event.instruction_id)
            self.request_plan(f"instruction {event.status.value} by {handle.name}", handle)
        elif isinstance(event, ReceptionStatusReceived) and event.status.status not in _ANSWERED_OK:
            ident = getattr(event.message, "id", None)
            if isinstance(ident, str) and ident in handle.instructions:
                self._refused_now(handle, ident)
        elif isinstance(event, ControlTypeSelected | SessionClosed) and self.planner == "optimizer":
            self.request_plan(f"{handle.name}: {type(event).__name__}")

    def _refused_now(self, rm: RMHandle, instruction_id: str) -> None:
        """Remember what the RM turned down, so that the next plans do not ask it again at once."""
        record = rm.instructions.get(instruction_id)
        if record is not None:
            memory = rm.state.setdefault("refused", {})
            memory[signature(record.message, timed=False)] = self.clock()

    def _refused_lately(self, rm: RMHandle, message: S2Message, now: datetime) -> bool:
        memory: dict[bytes, datetime] = rm.state.get("refused", {})
        for sig, when in list(memory.items()):
            if now - when >= self.step:
                del memory[sig]
        return signature(message, timed=False) in memory

    def request_plan(self, reason: str, rm: RMHandle | None = None) -> None:
        """Plan again soon (coalesced with every other request until the planning starts)."""
        if self._stopping:
            return
        self._reasons.add(reason)
        if rm is not None:
            self._due.add(rm.id)
        else:
            self._due.update(self.rms)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._planning(), name="s2ws planning")

    def _start_ticker(self) -> None:
        if self._ticker is None and not self._stopping:
            self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="s2ws plan every step")

    async def _tick(self) -> None:
        interval = self.step.total_seconds() / clock_speed(self.clock)
        while True:
            await asyncio.sleep(interval)
            if self.rms:
                self.request_plan("step")
            self._prune()

    def _prune(self) -> None:
        """Apply the history's retention, at most once an hour of the CEM's clock."""
        if self.history is None:
            return
        now = self.clock()
        if self._pruned is None or now - self._pruned >= _PRUNE_EVERY:
            self._pruned = now
            self.history.history.prune(now)

    def _check_deviation(self, rm: RMHandle, measurement: PowerMeasurement) -> None:
        plan, details = self.last_plan, rm.details
        if plan is None or details is None or self.planner != "optimizer":
            return
        device = plan.devices.get(details.resource_id)
        now = self.clock()
        index = plan.step_index(now)
        if device is None or index is None:
            return
        planned = device.power_w[index]
        measured = sum(
            value.value for value in measurement.values if value.commodity_quantity.value.startswith("ELECTRIC")
        )
        if abs(measured - planned) <= self.deviation_w:
            return
        last = self._strayed.get(rm.id)
        if last is not None and now - last < self.step / 4:
            return  # one deviation replan per quarter step and RM is enough
        self._strayed[rm.id] = now
        self.request_plan(f"{rm.name} at {measured:.0f} W, planned {planned:.0f} W", rm)

    # --- planning -----------------------------------------------------------------------------------

    async def _planning(self) -> None:
        while self._reasons and not self._stopping:
            reasons = sorted(self._reasons)
            due = set(self._due)
            self._reasons.clear()
            self._due.clear()
            try:
                if self.planner == "optimizer":
                    await self._plan_optimal(reasons)
                else:
                    await self._plan_rules(due, reasons)
            except Exception:
                log.exception("planning failed (triggered by %s)", "; ".join(reasons))

    def _plannable(self) -> list[RMHandle]:
        return [rm for rm in self.rms.values() if rm.view is not None and rm.details is not None and not rm.closed]

    async def _plan_optimal(self, reasons: Sequence[str]) -> None:
        from ..plan import Planner, device_model

        now = self.clock()
        handles, models, views = [], [], {}
        for rm in self._plannable():
            assert rm.details is not None
            try:
                model = device_model(rm.details.resource_id, rm.view, now)
            except Exception as exc:
                log.warning("%s: not planned: %s", rm.name, describe_error(exc))
                continue
            if model is not None:
                handles.append(rm)
                models.append(model)
                views[rm.id] = rm.view
        if not models:
            return
        if self._optimizer is None:
            self._optimizer = Planner(self.site)
        plan = await asyncio.to_thread(self._optimizer.plan, models, now)
        self.last_plan = plan
        self.plans += 1
        plan_id = self._record_plan(plan, reasons)
        summary = describe_plan(plan, plan_id, {rm.details.resource_id: rm.name for rm in handles if rm.details})
        log.info("%s (after %s)", summary, "; ".join(reasons))
        if self.on_plan is not None:
            try:
                self.on_plan(summary)
            except Exception:
                log.exception("on_plan failed")
        now = self.clock()  # the solve took time: the near term starts now, not at plan.now
        for rm in handles:
            view = rm.view
            if rm.closed or view is None or view is not views[rm.id]:
                continue  # it left, or selected another control type, while the plan was made
            details = rm.details
            assert details is not None
            start = later(now, details.instruction_processing_delay)
            # what is pending and no longer planned goes first, so the new instructions build on the rest
            for record in self._pending(rm, start):
                if not _still_planned(plan, details.resource_id, record.message):
                    await self._revoke(rm, view, record.id)
            try:
                messages = plan.instructions(details.resource_id, view, start, start + self.step)
            except Exception as exc:
                log.warning("%s: no instructions from plan %s: %s", rm.name, plan_id, describe_error(exc))
                continue
            await self._apply(rm, messages, start, plan_id)

    async def _plan_rules(self, due: Iterable[str], reasons: Sequence[str]) -> None:
        now = self.clock()
        for ident in due:
            rm = self.rms.get(ident)
            if rm is None or rm.view is None or rm.closed:
                continue
            rule = planner_for(rm.view)
            if rule is None:
                continue
            try:
                messages = rule(rm.view, now)
            except S2Error as exc:
                log.info("%s: nothing planned: %s", rm.name, describe_error(exc))
                continue
            await self._apply(rm, messages, now, None)
        self.plans += 1

    def _pending(self, rm: RMHandle, start: datetime) -> list[InstructionRecord]:
        """Instructions sent, answered at most ACCEPTED, that take effect at ``start`` or later."""
        out = []
        for record in rm.outstanding:
            when = getattr(record.message, "execution_time", None)
            if record.status in _NOT_STARTED and isinstance(when, datetime) and when >= start:
                out.append(record)
        return out

    async def _apply(self, rm: RMHandle, messages: Sequence[S2Message], start: datetime, plan_id: int | None) -> None:
        """Send what is new; never a message that repeats a pending one, one the RM just turned down,
        or an id the history knows."""
        view = rm.view
        pending = {signature(record.message) for record in self._pending(rm, start)}
        sent: set[bytes] = set()
        for message in messages:
            sig = signature(message)
            ident = str(getattr(message, "id", ""))
            known = self.history is not None and ident in self.history.known
            repeated = sig in pending or sig in sent or _envelope_in_force(rm, message, start + self.step / 2)
            if repeated or known or self._refused_lately(rm, message, start):
                _forget(view, ident)  # it was counted as pending when it was built
                continue
            try:
                await rm.send(message)
            except Exception as exc:
                log.warning("%s: %s not sent: %s", rm.name, message_type_of(type(message)), describe_error(exc))
                _forget(view, ident)
                continue
            sent.add(sig)
            if self.history is not None:
                self.history.instruction_sent(rm, message, plan_id)

    async def _revoke(self, rm: RMHandle, view: Any, ident: str) -> None:
        try:
            message = view.revoke(ident, self.clock())
            await rm.send(message)
        except Exception as exc:
            log.info("%s: instruction %s not revoked: %s", rm.name, ident, describe_error(exc))
            return
        if self.history is not None:
            self.history.message(rm, message, "cem>rm")

    def _record_plan(self, plan: Plan, reasons: Sequence[str]) -> int | None:
        if self.history is None:
            return None
        history = self.history.history
        plan_id = history.new_plan_id()
        relaxations = [
            {"device": r.device, "constraint": r.constraint, "amount": r.amount, "unit": r.unit, "reason": r.reason}
            for r in plan.relaxations
        ]
        summary = {
            "reasons": list(reasons),
            "steps": [s.isoformat() for s in plan.steps],
            "site_import_w": list(plan.site_import_w),
            "devices": {
                rid: {
                    "power_w": list(d.power_w),
                    "modes": {
                        actuator: [[step.mode_id, step.factor] for step in steps]
                        for actuator, steps in (d.modes or {}).items()
                    },
                    "fill_level": None if d.fill_level is None else list(d.fill_level),
                }
                for rid, d in plan.devices.items()
            },
        }
        history.record_plan(
            plan_id, plan.now, plan.status, plan.objective_value, plan.solve_seconds, relaxations, summary
        )
        return plan_id

    # --- stopping -----------------------------------------------------------------------------------

    async def close(self, reason: str = "CEM shutting down") -> None:
        self._stopping = True
        for task in (self._ticker, self._task):
            if task is not None and not task.done():
                task.cancel()
        await asyncio.gather(*(t for t in (self._ticker, self._task) if t is not None), return_exceptions=True)
        await super().close(reason)
        if self.history is not None:
            await asyncio.to_thread(self.history.history.flush)


def _still_planned(plan: Plan, resource_id: str, message: S2Message) -> bool:
    """Whether ``plan`` still has the device do what the pending ``message`` asks, when it asks it."""
    if isinstance(message, FRBCInstruction):
        actuator, mode, factor = message.actuator_id, message.operation_mode, message.operation_mode_factor
    elif isinstance(message, DDBCInstruction):
        actuator, mode, factor = message.actuator_id, message.operation_mode_id, message.operation_mode_factor
    elif isinstance(message, OMBCInstruction):
        actuator, mode, factor = "", message.operation_mode_id, message.operation_mode_factor
    else:
        return True  # the plan does not say (yet) what this kind of instruction does: keep it
    device = plan.devices.get(resource_id)
    index = plan.step_index(message.execution_time)
    step = None if device is None or index is None else device.mode(actuator, index)
    return step is not None and step.mode_id == mode and abs(step.factor - factor) < 1e-4


def _limits(instruction: PEBCInstruction) -> list[tuple[str, list[tuple[float, float]]]]:
    return [
        (e.commodity_quantity.value, [(x.lower_limit, x.upper_limit) for x in e.power_envelope_elements])
        for e in instruction.power_envelopes
    ]


def _envelope_in_force(rm: RMHandle, message: S2Message, until: datetime) -> bool:
    """A PEBC instruction whose limits the last one in force already sets, up to ``until``: a
    rolling horizon would otherwise send the same envelope again at every replan."""
    if not isinstance(message, PEBCInstruction):
        return False
    last = next((r for r in reversed(rm.instructions.values()) if isinstance(r.message, PEBCInstruction)), None)
    if last is None or last.refused is not None or last.status in _ENDED_EARLY:
        return False
    previous = last.message
    assert isinstance(previous, PEBCInstruction)
    if _limits(previous) != _limits(message) or previous.power_constraints_id != message.power_constraints_id:
        return False
    spans = [sum(x.duration for x in e.power_envelope_elements) for e in previous.power_envelopes]
    return later(previous.execution_time, min(spans)) >= until


def _forget(view: Any, ident: str) -> None:
    forget = getattr(view, "forget", None)
    if forget is not None and ident:
        forget(ident)
