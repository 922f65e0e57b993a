"""A small sparse MILP builder over HiGHS (``highspy``): named columns, rows, a warm start.

Columns carry a name (a tuple) so a solution can seed the next solve of a shifted horizon:
whatever names both problems share start from the old values. HiGHS runs single-threaded
(the machine is shared) with a time limit and returns the best solution found by then.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import highspy
import numpy as np

__all__ = ["INF", "LinearProgram", "Solution"]

INF = math.inf
_quiet_lock = threading.Lock()
_quiet = False


def _new_highs() -> highspy.Highs:
    """A HiGHS instance; the first one in a process prints a banner on the C stdout, which a
    command-line tool's output must not carry, so that one is made with stdout closed off."""
    global _quiet
    with _quiet_lock:
        if _quiet:
            return highspy.Highs()  # type: ignore[no-untyped-call]
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()  # type: ignore[no-untyped-call]
                h.setOptionValue("output_flag", False)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _quiet = True
        return h


@dataclass(frozen=True)
class Solution:
    status: str
    """"optimal", "time_limit" (best found), "gap" (within tolerance) or "no_solution"."""
    values: tuple[float, ...]
    objective: float
    seconds: float
    names: tuple[Hashable, ...]

    def by_name(self) -> dict[Hashable, float]:
        return dict(zip(self.names, self.values, strict=True))


class LinearProgram:
    """Columns and rows added one by one; :meth:`solve` hands them to HiGHS in one piece."""

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.integer: list[bool] = []
        self.names: list[Hashable] = []
        self.row_lower: list[float] = []
        self.row_upper: list[float] = []
        self._starts: list[int] = [0]
        self._index: list[int] = []
        self._value: list[float] = []
        self.offset = 0.0

    @property
    def num_cols(self) -> int:
        return len(self.cost)

    @property
    def num_rows(self) -> int:
        return len(self.row_lower)

    @property
    def num_integer(self) -> int:
        return sum(self.integer)

    def var(
        self, name: Hashable, lower: float = 0.0, upper: float = INF, cost: float = 0.0, *, integer: bool = False
    ) -> int:
        self.cost.append(cost)
        self.lower.append(lower)
        self.upper.append(upper)
        self.integer.append(integer)
        self.names.append(name)
        return len(self.cost) - 1

    def add_cost(self, column: int, cost: float) -> None:
        self.cost[column] += cost

    def row(self, terms: Iterable[tuple[int, float]], lower: float = -INF, upper: float = INF) -> None:
        merged: dict[int, float] = {}
        for column, value in terms:
            merged[column] = merged.get(column, 0.0) + value
        for column, value in merged.items():
            if value != 0.0:
                self._index.append(column)
                self._value.append(value)
        self._starts.append(len(self._index))
        self.row_lower.append(lower)
        self.row_upper.append(upper)

    def solve(
        self,
        *,
        time_limit: float,
        gap: float = 0.005,
        abs_gap: float = 0.0,
        start: Mapping[Hashable, float] | None = None,
        options: Mapping[str, float | int | bool | str] | None = None,
    ) -> Solution:
        began = time.perf_counter()
        h = _new_highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("time_limit", float(time_limit))
        h.setOptionValue("mip_rel_gap", float(gap))
        if abs_gap > 0:
            h.setOptionValue("mip_abs_gap", float(abs_gap))
        h.setOptionValue("random_seed", 1)
        for key, option in (options or {}).items():
            h.setOptionValue(key, option)
        lp = highspy.HighsLp()
        lp.num_col_ = self.num_cols
        lp.num_row_ = self.num_rows
        lp.col_cost_ = np.array(self.cost, dtype=np.float64)
        lp.col_lower_ = np.array(self.lower, dtype=np.float64)
        lp.col_upper_ = np.array(self.upper, dtype=np.float64)
        lp.row_lower_ = np.array(self.row_lower, dtype=np.float64)
        lp.row_upper_ = np.array(self.row_upper, dtype=np.float64)
        lp.offset_ = self.offset
        matrix = lp.a_matrix_
        matrix.format_ = highspy.MatrixFormat.kRowwise
        matrix.num_col_ = self.num_cols
        matrix.num_row_ = self.num_rows
        matrix.start_ = np.array(self._starts, dtype=np.int32)
        matrix.index_ = np.array(self._index, dtype=np.int32)
        matrix.value_ = np.array(self._value, dtype=np.float64)
        if any(self.integer):
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous for flag in self.integer
            ]
        h.passModel(lp)
        if start:
            known = [(i, start[n]) for i, n in enumerate(self.names) if n in start]
            if known:
                index = np.array([i for i, _ in known], dtype=np.int32)
                value = np.array([min(max(v, self.lower[i]), self.upper[i]) for i, v in known], dtype=np.float64)
                h.setSolution(len(known), index, value)
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        seconds = time.perf_counter() - began
        has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
        if not has_solution:
            return Solution("no_solution", (), math.nan, seconds, tuple(self.names))
        values = tuple(float(v) for v in h.getSolution().col_value)
        if status == highspy.HighsModelStatus.kOptimal:
            word = "optimal"
        elif status == highspy.HighsModelStatus.kTimeLimit:
            word = "time_limit"
        else:
            word = h.modelStatusToString(status).lower().replace(" ", "_")
        return Solution(word, values, float(info.objective_function_value), seconds, tuple(self.names))
