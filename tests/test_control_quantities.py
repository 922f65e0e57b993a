"""Units, commodities and the factor mapping, in both directions, for every commodity quantity."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from s2ws.control import (
    QUANTITY_UNITS,
    QuantityValue,
    commodity_of,
    factor_for,
    factor_for_quantity,
    quantities_of,
    unit_of,
    value_at,
    value_of,
)
from s2ws.errors import ResolutionError
from s2ws.messages import Commodity, CommodityQuantity, NumberRange, PowerRange

SETTINGS = settings(deadline=None, max_examples=300)

EXPECTED_UNITS = {
    "ELECTRIC.POWER.L1": "W",
    "ELECTRIC.POWER.L2": "W",
    "ELECTRIC.POWER.L3": "W",
    "ELECTRIC.POWER.3_PHASE_SYMMETRIC": "W",
    "NATURAL_GAS.FLOW_RATE": "l/s",
    "HYDROGEN.FLOW_RATE": "g/s",
    "HEAT.TEMPERATURE": "°C",
    "HEAT.FLOW_RATE": "l/s",
    "HEAT.THERMAL_POWER": "W",
    "OIL.FLOW_RATE": "l/h",
}

finite = st.floats(allow_nan=False, allow_infinity=False)
moderate = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
unit_factors = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
quantities = st.sampled_from(list(CommodityQuantity))


def test_every_quantity_has_its_unit() -> None:
    assert {q.value: u for q, u in QUANTITY_UNITS.items()} == EXPECTED_UNITS
    for quantity in CommodityQuantity:
        assert unit_of(quantity) == EXPECTED_UNITS[quantity.value]


def test_commodity_of_each_quantity() -> None:
    assert commodity_of(CommodityQuantity.HYDROGEN_FLOW_RATE) is None
    assert commodity_of(CommodityQuantity.OIL_FLOW_RATE) is Commodity.OIL
    assert commodity_of(CommodityQuantity.NATURAL_GAS_FLOW_RATE) is Commodity.GAS
    assert quantities_of(Commodity.HEAT) == (
        CommodityQuantity.HEAT_TEMPERATURE,
        CommodityQuantity.HEAT_FLOW_RATE,
        CommodityQuantity.HEAT_THERMAL_POWER,
    )
    assert len(quantities_of(Commodity.ELECTRICITY)) == 4
    covered = {q for c in Commodity for q in quantities_of(c)}
    assert covered == set(CommodityQuantity) - {CommodityQuantity.HYDROGEN_FLOW_RATE}


def test_quantity_value_prints_its_unit() -> None:
    assert str(QuantityValue(CommodityQuantity.OIL_FLOW_RATE, 2.0)) == "2 l/h OIL.FLOW_RATE"
    assert QuantityValue(CommodityQuantity.HEAT_TEMPERATURE, 55.5).unit == "°C"


def test_ev_charging_example_values() -> None:
    charging = PowerRange(
        start_of_range=1400, end_of_range=11000, commodity_quantity=CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC
    )
    assert value_at(charging, 0.5) == 6200
    assert factor_for_quantity(charging, 6200) == 0.5
    assert value_of(charging, 1.0) == QuantityValue(CommodityQuantity.ELECTRIC_POWER_3_PHASE_SYMMETRIC, 11000)


def test_production_range_runs_downwards() -> None:
    pv = NumberRange(start_of_range=0, end_of_range=-4000)
    assert value_at(pv, 0.25) == -1000
    assert factor_for(pv, -3000) == 0.75
    with pytest.raises(ResolutionError, match=r"500 W is outside the range \[0, -4000\] W"):
        factor_for(pv, 500, unit="W")


def test_refusals_name_value_range_and_unit() -> None:
    oil = PowerRange(start_of_range=1, end_of_range=3, commodity_quantity=CommodityQuantity.OIL_FLOW_RATE)
    with pytest.raises(ResolutionError, match=r"^4 l/h is outside the OIL.FLOW_RATE range \[1, 3\] l/h$"):
        factor_for_quantity(oil, 4)
    with pytest.raises(ResolutionError, match=r"factor 1.5 is outside \[0, 1\]"):
        value_at(oil, 1.5)
    with pytest.raises(ResolutionError, match="factor nan"):
        value_at(oil, math.nan)
    with pytest.raises(ResolutionError, match="NaN"):
        factor_for(oil, math.nan)


def test_degenerate_range_gives_factor_zero() -> None:
    off = NumberRange(start_of_range=0, end_of_range=0)
    assert factor_for(off, 0.0) == 0.0
    assert value_at(off, 0.7) == 0.0
    with pytest.raises(ResolutionError, match="is not 0, the only value"):
        factor_for(off, 1.0)


def test_tolerance_snaps_near_endpoints() -> None:
    r = NumberRange(start_of_range=500, end_of_range=2000)
    assert factor_for(r, 2000 + 1e-7) == 1.0
    assert factor_for(r, 500 - 1e-7) == 0.0
    with pytest.raises(ResolutionError):
        factor_for(r, 2000.01)
    assert factor_for(r, 2000.01, tolerance=1e-3) == 1.0


@SETTINGS
@given(quantity=quantities, start=finite, end=finite)
def test_factor_zero_and_one_give_the_endpoints_exactly(quantity: CommodityQuantity, start: float, end: float) -> None:
    r = PowerRange(start_of_range=start, end_of_range=end, commodity_quantity=quantity)
    assert value_at(r, 0.0) == start
    assert value_at(r, 1.0) == end
    assert value_of(r, 0).value == start
    assert value_of(r, 1).value == end
    assert factor_for_quantity(r, start) == 0.0
    if end != start:
        assert factor_for_quantity(r, end) == 1.0


@SETTINGS
@given(quantity=quantities, start=finite, end=finite, factor=unit_factors)
def test_value_stays_in_range_and_factor_stays_in_unit_interval(
    quantity: CommodityQuantity, start: float, end: float, factor: float
) -> None:
    r = PowerRange(start_of_range=start, end_of_range=end, commodity_quantity=quantity)
    value = value_at(r, factor)
    assert min(start, end) <= value <= max(start, end)
    back = factor_for_quantity(r, value)
    assert 0.0 <= back <= 1.0


@SETTINGS
@given(quantity=quantities, start=moderate, end=moderate, factor=unit_factors)
def test_factor_round_trip(quantity: CommodityQuantity, start: float, end: float, factor: float) -> None:
    span = abs(end - start)
    assume(span > 1e-6 * max(1.0, abs(start), abs(end)))
    r = PowerRange(start_of_range=start, end_of_range=end, commodity_quantity=quantity)
    back = factor_for_quantity(r, value_at(r, factor))
    assert math.isclose(back, factor, rel_tol=1e-6, abs_tol=1e-6)


@SETTINGS
@given(quantity=quantities, start=moderate, end=moderate, fraction=unit_factors)
def test_value_round_trip(quantity: CommodityQuantity, start: float, end: float, fraction: float) -> None:
    r = PowerRange(start_of_range=start, end_of_range=end, commodity_quantity=quantity)
    wanted = min(start, end) + fraction * abs(end - start)
    wanted = min(max(wanted, min(start, end)), max(start, end))
    factor = factor_for_quantity(r, wanted)
    assert 0.0 <= factor <= 1.0
    tolerance = 1e-9 * max(1.0, abs(start), abs(end))
    assert math.isclose(value_at(r, factor), wanted, rel_tol=1e-9, abs_tol=tolerance)


@SETTINGS
@given(quantity=quantities, start=moderate, end=moderate, beyond=st.floats(min_value=1e-3, max_value=1e6))
def test_values_outside_the_range_are_refused_with_the_unit(
    quantity: CommodityQuantity, start: float, end: float, beyond: float
) -> None:
    assume(start != end)
    r = PowerRange(start_of_range=start, end_of_range=end, commodity_quantity=quantity)
    outside = max(start, end) + beyond * max(1.0, abs(end - start))
    assume(outside > max(start, end))
    with pytest.raises(ResolutionError) as caught:
        factor_for_quantity(r, outside)
    assert f" {unit_of(quantity)} is outside the {quantity.value} range [" in str(caught.value)


@SETTINGS
@given(factor=st.one_of(st.floats(max_value=-1e-300), st.floats(min_value=1.0000001), st.just(math.nan)))
def test_factors_outside_unit_interval_are_refused(factor: float) -> None:
    with pytest.raises(ResolutionError):
        value_at(NumberRange(start_of_range=0, end_of_range=1), factor)
