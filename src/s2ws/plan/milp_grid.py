"""The time grid of one plan, and the slack columns that report what a plan relaxed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Grid", "Slack"]


@dataclass(frozen=True)
class Grid:
    """Step starts and lengths (s), with the site's prices (per kWh) and base load (W) per step."""

    starts: tuple[datetime, ...]
    lengths: tuple[float, ...]
    imports: tuple[float, ...]
    exports: tuple[float, ...]
    base: tuple[float, ...]

    @property
    def size(self) -> int:
        return len(self.starts)

    def end(self, t: int) -> datetime:
        return self.starts[t] + timedelta(seconds=self.lengths[t])

    def hours(self, t: int) -> float:
        return self.lengths[t] / 3600.0

    @property
    def mean_import(self) -> float:
        return sum(p * s for p, s in zip(self.imports, self.lengths, strict=True)) / sum(self.lengths)


@dataclass(frozen=True)
class Slack:
    """A soft constraint's slack column, to report what a plan relaxed."""

    device: str | None
    constraint: str
    step: int
    column: int
    unit: str
    bound: float
    """The value the constraint asked for (a limit, a target edge)."""
