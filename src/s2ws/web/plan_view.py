"""The current plan as the Energy view draws it: the future beside the measured past on one axis."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..app.recorder import rfc3339

if TYPE_CHECKING:
    from ..plan import Plan, Site

__all__ = ["plan_series"]


def plan_series(plan: Plan, site: Site, names: Mapping[str, str]) -> dict[str, Any]:
    """Steps, planned site import, prices and each device's planned power and fill level, JSON-ready;
    ``names`` maps resource ids to the names the other views use."""
    steps = [rfc3339(t) for t in plan.steps]
    devices = {}
    for resource_id, device in plan.devices.items():
        fill = list(device.fill_level[: len(steps)]) if device.fill_level is not None else None
        entry: dict[str, Any] = {"power_w": list(device.power_w), "fill_level": fill}
        if device.sequences:  # PPBC: which sequence of which container the plan starts when
            entry["sequences"] = [
                {
                    "profile": s.profile_id,
                    "container": s.container_id,
                    "sequence": s.sequence_id,
                    "start": rfc3339(s.start),
                }
                for s in device.sequences
            ]
        devices[names.get(resource_id, resource_id)] = entry
    return {
        "at": rfc3339(plan.now),
        "status": plan.status,
        "steps": steps,
        "site_import_w": list(plan.site_import_w),
        "import_price": [site.prices.import_at(t) for t in plan.steps],
        "export_price": [site.prices.export_at(t) for t in plan.steps],
        "devices": devices,
    }
