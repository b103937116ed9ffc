"""A stream's bursts as a two-state Markov-modulated Poisson process (MMPP2), relative to its
mean rate: built from the model's arrival fields (on-off, MMPP, index of dispersion), and
fitted to the summed rate-process moments of superposed streams (``fit_mmpp2``).
``engine.arrivals`` carries these descriptions through a network of finite-buffer ports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nettwin.model.demands import ARRIVAL_KINDS, DemandArrivals
from nettwin.model.fields import ArrivalKind


@dataclass(frozen=True, eq=False)
class Bursts:
    """Two-state MMPP per stream, relative to its mean rate (arrays of one length)."""

    high_ratio: np.ndarray  # rate in the high state / mean rate (>= 1)
    low_ratio: np.ndarray  # rate in the low state / mean rate (in [0, 1])
    high_s: np.ndarray  # mean time in the high state
    low_s: np.ndarray  # mean time in the low state

    @staticmethod
    def poisson(n: int) -> Bursts:
        return Bursts(np.ones(n), np.ones(n), np.ones(n), np.ones(n))

    @property
    def is_poisson(self) -> np.ndarray:
        same: np.ndarray = self.high_ratio - self.low_ratio <= 1e-12
        return same

    def take(self, idx: np.ndarray) -> Bursts:
        return Bursts(self.high_ratio[idx], self.low_ratio[idx], self.high_s[idx],
                      self.low_s[idx])

    def moments(self, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Variance, third central moment and autocovariance area of the rate process of
        streams with these mean rates (any unit; the results in that unit's powers)."""
        p = self.high_s / (self.high_s + self.low_s)
        d = mean * (self.high_ratio - self.low_ratio)
        var = d * d * p * (1.0 - p)
        m3 = var * d * (1.0 - 2.0 * p)
        area = var / (1.0 / self.high_s + 1.0 / self.low_s)
        return var, m3, area


def onoff_bursts(on_s: np.ndarray, off_s: np.ndarray) -> Bursts:
    """Interrupted Poisson (on-off) sources: Poisson at the peak while on, silent while off."""
    on, off = np.asarray(on_s, float), np.asarray(off_s, float)
    return Bursts((on + off) / on, np.zeros_like(on), on, off)


def dispersion_bursts(mean_rate: np.ndarray, dispersion_index: np.ndarray,
                      correlation_s: np.ndarray) -> Bursts:
    """The symmetric MMPP with the given asymptotic index of dispersion of packet counts
    (1 = Poisson) and correlation time; ``mean_rate`` in packets per second."""
    idc = np.maximum(np.asarray(dispersion_index, float), 1.0)
    tau = np.asarray(correlation_s, float)
    m = np.maximum(np.asarray(mean_rate, float), 1e-300)
    # I = 1 + 2 var tau / m for a rate process of variance var and correlation time tau
    half = np.sqrt((idc - 1.0) * m / (2.0 * tau)) / m  # (h - l) / 2 relative to the mean
    wide = half > 1.0  # no room below: an on-off source with the same mean and variance
    var_rel = (idc - 1.0) / (2.0 * tau * m)
    p_on = 1.0 / (1.0 + var_rel)
    with np.errstate(divide="ignore", invalid="ignore"):  # the narrow ones are not used
        on = np.where(wide, tau / (1.0 - p_on), 2.0 * tau)  # correlation time on off / cycle
        off = np.where(wide, tau / p_on, 2.0 * tau)
    high = np.where(wide, 1.0 / p_on, 1.0 + half)
    low = np.where(wide, 0.0, 1.0 - half)
    return Bursts(high, low, on, off)


def demand_bursts(arrivals: DemandArrivals | None, rate_bps: np.ndarray,
                  mean_packet_bits: float | np.ndarray,
                  planned_bps: np.ndarray | None = None) -> Bursts:
    """Every demand's arrival description (the model's fields) as a two-state MMPP.

    A peak rate is given at the demand's planned rate (``planned_bps``; ``rate_bps`` when
    not given): a scenario that scales the traffic scales the process with it, the peak
    with the mean (the same sources, more or less of them), its periods kept. Held at its
    absolute value, a peak over a scaled-down mean left an MMPP's low state a negative rate
    (a quarter of the traffic queued 50x longer than the plan)."""
    rate = np.asarray(rate_bps, float)
    out = Bursts.poisson(rate.size)
    if arrivals is None:
        return out
    # only the demands of another kind than Poisson are worked on, by their integer codes
    # (on 90,000 demands, 30 % on-off: 22 -> 3.4-4.5 ms CPU; comparing an object array of
    # the enums per kind and column was most of it)
    at = np.flatnonzero(arrivals.kind != ARRIVAL_KINDS.index(ArrivalKind.POISSON))
    if not at.size:
        return out
    code = arrivals.kind[at]
    planned = np.broadcast_to(rate if planned_bps is None else np.asarray(planned_bps, float),
                              rate.shape)[at]
    bits = np.asarray(mean_packet_bits, float)
    bits = np.broadcast_to(bits, rate.shape)[at] if bits.ndim else bits
    mean = rate[at]
    peak, on, off = (arrivals.peak_rate_bps[at], arrivals.on_mean_s[at],
                     arrivals.off_mean_s[at])
    with np.errstate(divide="ignore", invalid="ignore"):
        off_onoff = np.where(np.isnan(off), on * (peak / planned - 1.0), off)
        p = on / (on + off)
        high_mmpp = peak / planned
        low_mmpp = (1.0 - p * high_mmpp) / (1.0 - p)
    def make_bursts(kind: ArrivalKind, m: np.ndarray) -> Bursts:
        if kind is ArrivalKind.ONOFF:
            return onoff_bursts(on[m], off_onoff[m])
        if kind is ArrivalKind.MMPP:
            return Bursts(high_mmpp[m], low_mmpp[m], on[m], off[m])
        return dispersion_bursts(mean[m] / (bits[m] if bits.ndim else bits),
                                 np.nan_to_num(arrivals.dispersion_index[at][m], nan=1.0),
                                 np.nan_to_num(arrivals.correlation_time_s[at][m], nan=1.0))

    cols = {f: np.ones(at.size) for f in ("high_ratio", "low_ratio", "high_s", "low_s")}
    for kind in (ArrivalKind.ONOFF, ArrivalKind.MMPP, ArrivalKind.DISPERSION):
        mask = code == ARRIVAL_KINDS.index(kind)
        if mask.any():
            made = make_bursts(kind, mask)
            for f, v in cols.items():
                v[mask] = getattr(made, f)
    with np.errstate(invalid="ignore"):
        ok = (mean > 0) & np.isfinite(cols["high_ratio"]) & np.isfinite(cols["low_ratio"]) & (
            cols["high_ratio"] >= 1.0) & (cols["low_ratio"] >= 0.0) & (
            cols["low_ratio"] <= 1.0) & (cols["high_s"] > 0) & (cols["low_s"] > 0)
    for f, v in cols.items():
        getattr(out, f)[at[ok]] = v[ok]  # the others stay Poisson
    return out


def fit_mmpp2(mean: np.ndarray, var: np.ndarray, m3: np.ndarray, area: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two-state MMPP with the given rate-process moments: (high rate, low rate, rate of
    leaving high, rate of leaving low). Zero variance gives Poisson."""
    mean = np.asarray(mean, float)
    var = np.maximum(np.asarray(var, float), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.where(var > 0, m3 / var ** 1.5, 0.0)
        q = 1.0 / (skew * skew + 4.0)  # p (1 - p)
        p = 0.5 * (1.0 - skew / np.sqrt(skew * skew + 4.0))
        d = np.sqrt(var / q)
        low = mean - p * d
        # no room for a negative low rate: keep mean and variance with low = 0
        p0 = np.where(var > 0, mean * mean / (mean * mean + var), 1.0)
        p = np.where(low < 0, p0, p)
        high = np.where(low < 0, mean / np.maximum(p0, 1e-300), low + d)
        low = np.maximum(low, 0.0)
        gamma = np.where(area > 0, var / area, 1.0)
    bursty = var > 1e-12 * np.maximum(mean, 1e-300) ** 2
    high = np.where(bursty, high, mean)
    low = np.where(bursty, low, mean)
    p = np.clip(np.where(bursty, p, 0.5), 1e-12, 1.0 - 1e-12)
    return high, low, gamma * (1.0 - p), gamma * p
