"""Every step of a storm for the dashboard's time slider: per arc utilisation and state,
per radio link modulation, and the rain cells on the map."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import numpy as np

from nettwin.engine import CompiledNetwork, simulate
from nettwin.radio.budget import RadioArrays
from nettwin.radio.storm import AcmState, StormField, StormResult


class MapView(Protocol):
    def xy(self, latitude: float, longitude: float) -> tuple[float, float]: ...

    def km(self, distance_km: float) -> float: ...


def storm_frames(radio: RadioArrays, compiled: CompiledNetwork, result: StormResult,
                 field: StormField, view: MapView) -> list[dict[str, Any]]:
    """One frame per storm step, in arc order (``utilisation[a]`` is arc ``a``; 0 when the
    arc is down). Each step is one IP run at the capacities the modulation then allows."""
    acm = AcmState(radio)
    frames = []
    for k, t in enumerate(result.times_min.tolist()):
        capacity, up = acm.arc_state(compiled, result.mode[k], result.capacity_bps[k])
        run = simulate(dataclasses.replace(compiled, arc_capacity_bps=capacity), arc_up=up)
        util = np.where(run.arc_up, run.arc_utilisation, 0.0)
        frames.append({
            "minute": float(t),
            "utilisation": [round(u, 5) for u in util.tolist()],
            "up": run.arc_up.tolist(),
            "modes": {lid: radio.mode_name(i, int(result.mode[k, i]))
                      for i, lid in enumerate(radio.link_ids)},
            "max_utilisation": float(util.max(initial=0.0)),
            "cells": [{"x": xy[0], "y": xy[1], "r": view.km(c["radius_km"]),
                       "peak_mm_h": c["peak_mm_h"]}
                      for c in field.cells_latlon_at(float(t))
                      for xy in [view.xy(c["latitude"], c["longitude"])]],
        })
    return frames
