"""Simulated live weather for the embedded default: a storm replayed in a loop over a
network's microwave links, one storm step per telemetry tick, so that the dashboard shows
modulation stepping down and back up as rain cells cross the paths."""

from __future__ import annotations

from typing import Any

from nettwin.engine import CompiledNetwork
from nettwin.radio.budget import RadioArrays
from nettwin.radio.storm import AcmState, Storm, StormField


class LiveWeather:
    def __init__(self, radio: RadioArrays, storm: Storm) -> None:
        self.radio = radio
        self.storm = storm
        self.field = StormField(radio, storm)
        self.acm = AcmState(radio)

    def at_tick(self, tick: int, compiled: CompiledNetwork) -> dict[str, Any]:
        """Keyword arguments of ``LiveState.tick`` for this tick: capacities, link states,
        modulation per radio link."""
        times = self.storm.times_min
        fade = self.field.attenuation(float(times[tick % times.size]))
        mode, cap = self.acm.update(fade)
        capacity, up = self.acm.arc_state(compiled, mode, cap)
        return {"arc_capacity_bps": capacity, "arc_up": up,
                "link_modes": {lid: self.radio.mode_name(i, int(mode[i]))
                               for i, lid in enumerate(self.radio.link_ids)}}
