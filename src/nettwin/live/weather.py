"""Simulated live weather for the embedded default: a storm replayed in a loop over a
network's microwave links, one storm step per telemetry tick, so that the dashboard shows
modulation stepping down and back up as rain cells cross the paths."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nettwin.engine import CompiledNetwork
from nettwin.radio.budget import RadioArrays
from nettwin.radio.storm import AcmState, Storm, StormField


class LiveWeather:
    def __init__(self, radio: RadioArrays, storm: Storm) -> None:
        self.radio = radio
        self.storm = storm
        self.field = StormField(radio, storm)
        self.acm = AcmState(radio)

    def at_tick(self, tick: int, compiled: CompiledNetwork) -> WeatherNow:
        """This tick's storm step: arc capacities and states, and per radio link its
        modulation and capacity."""
        times = self.storm.times_min
        fade = self.field.attenuation(float(times[tick % times.size]))
        mode, cap = self.acm.update(fade)
        capacity, up = self.acm.arc_state(compiled, mode, cap)
        return WeatherNow(capacity, up, {lid: self.radio.mode_name(i, int(mode[i]))
                                         for i, lid in enumerate(self.radio.link_ids)},
                          {lid: float(cap[i]) for i, lid in enumerate(self.radio.link_ids)})


@dataclass(frozen=True)
class WeatherNow:
    arc_capacity_bps: np.ndarray
    arc_up: np.ndarray
    link_modes: dict[str, str]
    link_capacity_bps: dict[str, float]
