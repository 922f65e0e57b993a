"""Planning: the site, device models taken from the control-type views, and one MILP per plan.

Sans I/O and clock-free: ``now`` is always a parameter. The CEM builds :class:`DeviceModel`
snapshots with :func:`device_model` on the thread that owns the views, runs
:meth:`Planner.plan` wherever it likes, and turns the near term of the :class:`Plan` into
instructions with :meth:`Plan.instructions`, again through the views.
"""

from __future__ import annotations

from .extract import device_model
from .model import ActuatorModel, DeviceModel, ModeModel, ModeUnit, OMModel, StorageModel, TransitionModel
from .planner import DevicePlan, ModeStep, Plan, Planner, Relaxation
from .site import OBJECTIVE_KINDS, Objective, Penalties, PriceCurve, Series, Site
from .sitefile import example_site, load_site, parse_duration

__all__ = [
    "OBJECTIVE_KINDS",
    "ActuatorModel",
    "DeviceModel",
    "DevicePlan",
    "ModeModel",
    "ModeStep",
    "ModeUnit",
    "OMModel",
    "Objective",
    "Penalties",
    "Plan",
    "Planner",
    "PriceCurve",
    "Relaxation",
    "Series",
    "Site",
    "StorageModel",
    "TransitionModel",
    "device_model",
    "example_site",
    "load_site",
    "parse_duration",
]
