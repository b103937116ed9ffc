"""Cumulative counters into rates: wraps, resets and implausible jumps told apart.

An interface counter only grows, modulo its width: SNMP ``ifOutOctets`` is 32-bit (it wraps
every 3.4 s at 10 Gbit/s), ``ifHCOutOctets`` and OpenConfig/gNMI counters are 64-bit. Between
two samples of a port, with ``delta = octets - previous``:

- ``delta >= 0``: the rate is ``8 delta / dt``, unless it exceeds the port's capacity x
  ``margin``: then the sample is *implausible* (a corrupted counter, a jump to 2^64 - 1000
  would read as 1.5e19 bit/s), a dead letter with the reason, and the port's baseline restarts
  from it without a rate, so one bad sample never blocks the port.
- ``delta < 0``: a *wrap* when the previous value sat in the upper half of a 32- or 64-bit
  range (where a wrap can happen) and the wrapped difference gives a plausible rate; the
  counter width is taken from the record's ``counter_bits`` when it says so. Otherwise a
  *reset* (a reboot, a cleared counter): the baseline restarts without a rate.
"""

from __future__ import annotations

import enum
import json
import os
from dataclasses import dataclass

import numpy as np

from nettwin.live.observations import DeadLetter, InterfaceMap

RATE_MARGIN = 1.5  # a measured rate above capacity x this is no measurement


def rate_margin() -> float:
    """The margin in force: NETTWIN_RATE_MARGIN, else 1.5 (at least 1)."""
    text = os.environ.get("NETTWIN_RATE_MARGIN")
    try:
        margin = float(text) if text else RATE_MARGIN
    except ValueError:
        raise ValueError(f"NETTWIN_RATE_MARGIN={text!r}: give a number >= 1") from None
    if not margin >= 1.0:
        raise ValueError(f"NETTWIN_RATE_MARGIN={text!r}: give a number >= 1")
    return margin
_2_32 = float(2**32)
_2_64 = float(2**64)


class Step(enum.IntEnum):
    """What happened to a counter between two samples."""

    RATE = 0  # a plausible increase
    WRAP32 = 1
    WRAP64 = 2
    RESET = 3  # decreased without a plausible wrap: baseline restarts
    IMPLAUSIBLE = 4  # increased faster than the port can send: a dead letter
    NO_BASELINE = 5  # first sample of the port, or time did not advance


@dataclass(frozen=True)
class CounterSteps:
    """Per sample: the rate (nan where none) and what kind of step it was."""

    rate_bps: np.ndarray  # float64
    step: np.ndarray  # int8, Step
    raw_bps: np.ndarray  # the increase as a rate, also where implausible (nan: decrease)

    @property
    def valid(self) -> np.ndarray:
        return np.isin(self.step, (Step.RATE, Step.WRAP32, Step.WRAP64))

    def count(self, step: Step) -> int:
        return int((self.step == step).sum())


def counter_steps(prev_octets: np.ndarray, octets: np.ndarray, dt_s: np.ndarray,
                  capacity_bps: np.ndarray, margin: float = RATE_MARGIN,
                  bits: np.ndarray | None = None) -> CounterSteps:
    """Classify each (previous, current) counter pair and compute its rate, vectorised.

    ``bits`` (0: unknown, 32 or 64) is the counter width the record declared."""
    n = octets.shape[0]
    bits = np.zeros(n, np.int8) if bits is None else bits
    ok_dt = np.isfinite(dt_s) & (dt_s > 0) & ~np.isnan(prev_octets)
    safe_dt = np.where(ok_dt, dt_s, 1.0)
    limit = capacity_bps * margin
    delta = octets - prev_octets
    step = np.full(n, Step.NO_BASELINE, np.int8)
    rate = np.full(n, np.nan)
    up = ok_dt & (delta >= 0)
    up_rate = 8.0 * np.where(up, delta, 0.0) / safe_dt
    plausible = up_rate <= limit
    step[up & plausible] = Step.RATE
    step[up & ~plausible] = Step.IMPLAUSIBLE
    rate[up & plausible] = up_rate[up & plausible]
    down = ok_dt & (delta < 0)
    step[down] = Step.RESET
    for width, kind, declared in ((_2_32, Step.WRAP32, 32), (_2_64, Step.WRAP64, 64)):
        # <= : a 64-bit counter within 1 KiB of the top reads as exactly 2^64 in float64
        in_range = (prev_octets <= width) & (octets < width)
        near_top = prev_octets >= width / 2
        allowed = (bits == declared) | ((bits == 0) & near_top)
        wrapped = 8.0 * (octets + width - prev_octets) / safe_dt
        hit = down & (step == Step.RESET) & in_range & allowed & (wrapped <= limit)
        step[hit] = kind
        rate[hit] = wrapped[hit]
    return CounterSteps(rate, step, np.where(up, up_rate, np.nan))


def describe_implausible(rate_bps: float, capacity_bps: float, margin: float) -> str:
    """The dead-letter reason of an implausible counter step."""
    return (f"implausible counter step: {rate_bps:.4g} bit/s exceeds the port's capacity "
            f"{capacity_bps:.4g} bit/s x {margin:g}; sample not used as a rate, the port's "
            "baseline restarts from it")


def implausible_letters(ports: InterfaceMap, steps: CounterSteps, port: np.ndarray,
                        time_s: np.ndarray, octets: np.ndarray, arcs: np.ndarray,
                        arc_capacity_bps: np.ndarray, margin: float) -> list[DeadLetter]:
    """A dead letter for each implausible step, naming the port, time, value and reason."""
    bad = np.flatnonzero(steps.step == Step.IMPLAUSIBLE)
    if bad.size == 0:
        return []
    names = {p: key for key, p in ports.ports.items()}
    out = []
    for i in bad.tolist():
        device, interface = names.get(int(port[i]), ("?", "?"))
        payload = json.dumps({"kind": "counter", "time": float(time_s[i]), "device": device,
                              "interface": interface, "out_octets": float(octets[i])})
        out.append(DeadLetter("counter-check", payload, describe_implausible(
            float(steps.raw_bps[i]), float(arc_capacity_bps[arcs[i]]), margin)))
    return out
