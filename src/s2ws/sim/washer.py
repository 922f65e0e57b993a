"""A washing machine under PPBC: a programme the CEM may start any time before it must be done.

Loading the machine publishes a ``PPBC.PowerProfileDefinition``: three containers run in order,
a prewash (cold or warm), the main wash (40 or 60 °C, both interruptible: heating may pause
while the drum turns the laundry over) and the spin, which must follow the wash within 15
minutes or the laundry creases. The window runs from loading until ``ready_within`` later.
The machine draws what the running sequence's element says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from ..control import PPBCDevice, power_sequence
from ..messages import (
    Commodity,
    CommodityQuantity,
    ControlType,
    PPBCPowerProfileDefinition,
    PPBCPowerSequenceContainer,
    RoleType,
    new_id,
)
from ..messages.base import S2Message
from .base import IdFactory, SimBase

__all__ = ["WasherParams", "WasherSim"]

L1 = CommodityQuantity.ELECTRIC_POWER_L1
PPBC = ControlType.POWER_PROFILE_BASED_CONTROL
M = timedelta(minutes=1)


@dataclass(frozen=True)
class WasherParams:
    """A machine loaded now that must be done within ten hours."""

    ready_within: timedelta = timedelta(hours=10)
    name: str = "Washing machine"


class WasherSim(SimBase):
    """The machine and its programme (containers ``prewash``, ``main-wash``, ``spin``)."""

    control_types = (PPBC,)
    roles = ((RoleType.ENERGY_CONSUMER, Commodity.ELECTRICITY),)
    measured: ClassVar[tuple[CommodityQuantity, ...]] = (L1,)
    model: ClassVar[str] = "simulated washing machine"

    def __init__(
        self,
        params: WasherParams | None = None,
        *,
        now: datetime,
        ids: IdFactory | None = None,
        interval: timedelta = timedelta(minutes=1),
    ) -> None:
        self.params = params or WasherParams()
        super().__init__(now=now, name=self.params.name, ids=ids, interval=interval)
        self.device = PPBCDevice(self.programme(now, now + self.params.ready_within))
        self.used_wh = 0.0
        self._active = False

    def programme(self, start: datetime, end: datetime) -> PPBCPowerProfileDefinition:
        """The programme as a definition that may run within [start, end]; every call gets a new id."""
        i = self.id
        containers = [
            PPBCPowerSequenceContainer(
                id=i("prewash"),
                power_sequences=[
                    power_sequence(i("prewash-cold"), [(10 * M, 150)]),
                    power_sequence(i("prewash-warm"), [(5 * M, 1800), (10 * M, 150)]),
                ],
            ),
            PPBCPowerSequenceContainer(
                id=i("main-wash"),
                power_sequences=[
                    power_sequence(
                        i("main-40"), [(15 * M, 2000), (45 * M, 250)], is_interruptible=True, max_pause_before=30 * M
                    ),
                    power_sequence(
                        i("main-60"), [(20 * M, 2200), (40 * M, 300)], is_interruptible=True, max_pause_before=30 * M
                    ),
                ],
            ),
            PPBCPowerSequenceContainer(
                id=i("spin"), power_sequences=[power_sequence(i("spin-1200"), [(10 * M, 450)], max_pause_before=15 * M)]
            ),
        ]
        return PPBCPowerProfileDefinition(
            message_id=new_id(),
            id=self.ids("programme"),
            start_time=start,
            end_time=end,
            power_sequences_containers=containers,
        )

    @property
    def definition(self) -> PPBCPowerProfileDefinition:
        return self.device.definition

    def load(
        self, now: datetime, *, start: datetime | None = None, ready_within: timedelta | None = None
    ) -> list[S2Message]:
        """A new load (or a changed programme), to run from ``start`` (default now) and be done
        ``ready_within`` after it: the old definition is revoked and the new one published."""
        out = self._run_until(now)
        begin = start or now
        definition = self.programme(begin, begin + (ready_within or self.params.ready_within))
        return [*out, *self.device.replace(definition, now)]

    # --- physics ---------------------------------------------------------------------------------

    def power(self, at: datetime) -> dict[CommodityQuantity, float]:
        return {L1: self.device.expected_power(L1, at)}

    def _step(self, start: datetime, end: datetime) -> list[S2Message]:
        self.used_wh += self.power(start)[L1] * (end - start).total_seconds() / 3600
        return []

    # --- control ---------------------------------------------------------------------------------

    def _select(self, control_type: ControlType, now: datetime) -> list[S2Message]:
        out: list[S2Message] = []
        if self._active:
            out.extend(self.device.deactivate(now))
        self._active = control_type is PPBC
        if self._active:
            out.extend(self.device.activate(now))
        return out

    def _handle(self, message: S2Message, now: datetime) -> list[S2Message]:
        return self.device.handle(message, now)

    def _control_wakeup(self) -> datetime | None:
        return self.device.next_wakeup()

    def _on_due(self, moment: datetime) -> list[S2Message]:
        return self.device.tick(moment)
