"""The single-message rules' fast first pass never hides what the slow walk reports.

``check_message`` returns no findings when a cheap pass says a message is fine, and walks it
slowly otherwise; these properties feed near-valid messages (small value sets, so ids repeat,
ranges touch or overlap, quantities clash) and compare the answer with the slow walk alone.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from s2ws.codec import decode
from s2ws.errors import DecodeError
from s2ws.messages import PowerForecast
from s2ws.messages.frbc import FRBCSystemDescription
from s2ws.rules import check_message
from s2ws.rules.single_base import one_per_cq, zero_durations
from s2ws.rules.single_om import _frbc_description_detail

_QUANTITIES = ["ELECTRIC.POWER.L1", "ELECTRIC.POWER.L2", "ELECTRIC.POWER.L3", "NATURAL_GAS.FLOW_RATE"]


def _mostly(valid: Any, *faults: Any) -> st.SearchStrategy[Any]:
    """``valid`` about 19 times in 20, else one of the faults: most examples break one rule or none,
    which is where a fast pass that misses a fault would show."""
    return st.tuples(st.integers(0, 19), st.sampled_from(faults)).map(lambda p: p[1] if p[0] == 19 else valid)


def _decoded(doc: dict[str, Any]) -> Any:
    try:
        return decode(json.dumps(doc))
    except DecodeError:
        assume(False)


@st.composite
def _element(draw: st.DrawFn, start: int) -> dict[str, Any]:
    end = draw(_mostly(start + 10, start - 1, start, start + 5))
    quantities = draw(_mostly(["ELECTRIC.POWER.L1"], ["ELECTRIC.POWER.L1"] * 2, ["NATURAL_GAS.FLOW_RATE"], _QUANTITIES))
    element: dict[str, Any] = {
        "fill_level_range": {"start_of_range": start, "end_of_range": end},
        "fill_rate": {"start_of_range": 0, "end_of_range": 1},
        "power_ranges": [{"start_of_range": 0, "end_of_range": 100, "commodity_quantity": q} for q in quantities],
    }
    costs = draw(_mostly(None, {"start_of_range": 1, "end_of_range": 2}, {"start_of_range": 2, "end_of_range": 1}))
    if costs is not None:
        element["running_costs"] = costs
    return element


@st.composite
def _mode(draw: st.DrawFn, ident: str) -> dict[str, Any]:
    elements = []
    start = draw(_mostly(0, -5, 1))
    for _ in range(draw(st.integers(1, 3))):
        element = draw(_element(start))
        elements.append(element)
        start = element["fill_level_range"]["end_of_range"] + draw(_mostly(0, 1, -1))
    return {"id": ident, "elements": elements, "abnormal_condition_only": False}


_TIMER_LISTS: tuple[list[str], ...] = ([], ["t1"], ["t2"], ["t1", "t2"])


@st.composite
def frbc_descriptions(draw: st.DrawFn) -> FRBCSystemDescription:
    actuators = []
    for a in range(draw(st.integers(1, 2))):
        mode_ids = draw(_mostly(["om1", "om2", "om3"], ["om1"], ["om1", "om1"]))
        timers = [{"id": name, "duration": 1000} for name in draw(_mostly(["t1", "t2"], [], ["t1", "t1"]))]
        transitions = []
        for i in range(draw(st.integers(0, 4))):
            source, target = draw(_mostly(("om1", mode_ids[-1]), ("om1", "om1"), ("om9", "om1"), ("om1", "om9")))
            transitions.append(
                {
                    "id": draw(_mostly(f"tr{i}", "tr0")),
                    "from": source,
                    "to": target,
                    "start_timers": draw(_mostly(draw(st.sampled_from(_TIMER_LISTS)), ["zz"], ["t1", "t1"])),
                    "blocking_timers": draw(_mostly(draw(st.sampled_from(_TIMER_LISTS)), ["zz"], ["t2", "t2"])),
                    "abnormal_condition_only": False,
                }
            )
        actuators.append(
            {
                "id": draw(_mostly(f"a{a}", "a0")),
                "supported_commodities": draw(_mostly(["ELECTRICITY"], ["ELECTRICITY", "ELECTRICITY"], ["GAS"])),
                "operation_modes": [draw(_mode(ident)) for ident in mode_ids],
                "transitions": transitions,
                "timers": timers,
            }
        )
    doc = {
        "message_type": "FRBC.SystemDescription",
        "message_id": "sd1",
        "valid_from": "2024-08-24T14:00:00Z",
        "actuators": actuators,
        "storage": {
            "provides_leakage_behaviour": False,
            "provides_fill_level_target_profile": False,
            "provides_usage_forecast": False,
            "fill_level_range": {"start_of_range": 0, "end_of_range": draw(_mostly(10, -1, 0, 30))},
        },
    }
    message = _decoded(doc)
    assert isinstance(message, FRBCSystemDescription)
    return message


@settings(max_examples=400)
@given(frbc_descriptions())
def test_frbc_description_fast_pass_hides_nothing(message: FRBCSystemDescription) -> None:
    assert check_message(message) == _frbc_description_detail(message)


@st.composite
def forecasts(draw: st.DrawFn) -> PowerForecast:
    elements = [
        {
            "duration": draw(st.sampled_from([0, 900_000, 900_000, 900_000])),
            "power_values": [
                {"value_expected": 1.0, "commodity_quantity": draw(st.sampled_from(_QUANTITIES))}
                for _ in range(draw(st.integers(1, 4)))
            ],
        }
        for _ in range(draw(st.integers(1, 6)))
    ]
    doc = {"message_type": "PowerForecast", "message_id": "pf1", "start_time": "2024-08-24T14:00:00Z"}
    message = _decoded({**doc, "elements": elements})
    assert isinstance(message, PowerForecast)
    return message


@settings(max_examples=300)
@given(forecasts())
def test_forecast_fast_pass_hides_nothing(message: PowerForecast) -> None:
    expected: list[Any] = []
    for index, element in enumerate(message.elements):
        one_per_cq(expected, "S2-FCST-001", element.power_values, f"/elements/{index}/power_values")
    zero_durations(expected, message.elements, "/elements")
    assert check_message(message) == expected
