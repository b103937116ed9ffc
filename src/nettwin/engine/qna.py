"""Arrival variability at ports, Whitt's QNA (the Queueing Network Analyzer, Bell System
Technical Journal 62(9), 1983): how smooth the traffic that reaches each port is after the
ports before it; ``engine.qos`` scales its waits by it (its notes, "Arrival variability",
give the model and its figures)."""

from __future__ import annotations

import numpy as np


def port_service_scv(arrival_pps: np.ndarray, service_s: np.ndarray,
                     service_sq_s2: np.ndarray) -> np.ndarray:
    """Squared coefficient of variation of the service time of all a port's packets."""
    n = arrival_pps.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        mix = np.where(n > 0, arrival_pps / n, 0.0)  # shares: no underflow at tiny rates
        mean = (mix * service_s).sum(axis=1)
        scv = (mix * service_sq_s2).sum(axis=1) / mean ** 2 - 1.0
    return np.where(np.isfinite(scv), np.maximum(scv, 0.0), 1.0)


def arrival_variability(port_pps: np.ndarray, port_utilisation: np.ndarray,
                        service_scv: np.ndarray, stream_src: np.ndarray,
                        stream_dst: np.ndarray, stream_pps: np.ndarray,
                        upstream_scv: np.ndarray | None = None,
                        stream_spacing: np.ndarray | None = None) -> np.ndarray:
    """Squared coefficient of variation of the arrivals at every port (Whitt's QNA, one
    pass): traffic that enters the network at a port is Poisson (1); a port's departures
    have rho^2 c_s^2 + (1 - rho^2) (its arrivals taken as Poisson); a stream that takes the
    share p of a port's departures to the next port has p c_d^2 + 1 - p; a port's arrivals
    mix its streams by rate. Streams are (upstream port, port, packets/s) aggregates; the
    rest of a port's arrivals is local. ``upstream_scv`` [ports], the arrival variability of
    every port from a previous pass: the departures then follow Whitt's full equation,
    rho^2 c_s^2 + (1 - rho^2) c_a^2 (``network_arrival_variability`` iterates it).
    ``stream_spacing`` [streams], the share of the busy term rho^2 c_s^2 a stream keeps at the
    port it enters (``link_spacing``: none where the port sends at least as fast as the link
    the stream came on; 1, QNA, the default)."""
    rho = np.clip(port_utilisation, 0.0, 1.0)
    arrivals = 1.0 if upstream_scv is None else upstream_scv
    busy = (rho ** 2 * service_scv)[stream_src]
    if stream_spacing is not None:
        busy = busy * stream_spacing
    departure = busy + ((1.0 - rho ** 2) * arrivals)[stream_src]
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(port_pps[stream_src] > 0, stream_pps / port_pps[stream_src], 0.0)
    p = np.clip(p, 0.0, 1.0)
    transit = np.bincount(stream_dst, weights=stream_pps, minlength=port_pps.size)
    mixed = np.bincount(stream_dst, weights=stream_pps * (p * departure + 1.0 - p),
                        minlength=port_pps.size)
    local = np.maximum(port_pps - transit, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(port_pps > 0, (mixed + local) / port_pps, 1.0)


def network_arrival_variability(port_pps: np.ndarray, port_utilisation: np.ndarray,
                                service_scv: np.ndarray, stream_src: np.ndarray,
                                stream_dst: np.ndarray, stream_pps: np.ndarray, *,
                                stream_spacing: np.ndarray | None = None,
                                rounds: int = 50, tol: float = 1e-9) -> np.ndarray:
    """Arrival variability of every port as QNA solves it (Whitt, "The Queueing Network
    Analyzer", Bell System Technical Journal 62(9), 1983, the traffic variability
    equations): a port's departures carry its own arrival variability,
    c_d^2 = rho^2 c_s^2 + (1 - rho^2) c_a^2, so a stream smoothed by two busy ports in a row is
    smoother than one smoothed by one. Fixed-point iteration from the one-pass answer
    (``arrival_variability``, which takes every port's arrivals as Poisson), at most
    ``rounds`` passes: each multiplies the change by at most the largest (1 - rho^2) p, below
    1 at every port that carries traffic."""
    args = (port_pps, port_utilisation, service_scv, stream_src, stream_dst, stream_pps)
    scv = arrival_variability(*args, stream_spacing=stream_spacing)
    for _ in range(rounds):
        new = arrival_variability(*args, upstream_scv=scv, stream_spacing=stream_spacing)
        done = bool(np.abs(new - scv).max(initial=0.0) <= tol)
        scv = new
        if done:
            break
    return scv


def link_spacing(in_capacity_bps: np.ndarray, out_capacity_bps: np.ndarray) -> np.ndarray:
    """Per stream from a link of rate ``in_capacity_bps`` into a port of rate
    ``out_capacity_bps``: the share of QNA's busy term rho^2 c_s^2 of the link's departures
    that the port sees, max(0, 1 - C_out / C_in). While the upstream port is busy its
    packets leave back to back, spaced by their transmission on the link, L / C_in; QNA
    charges the variability of that spacing to the next port. A port that sends at least as
    fast as the link receives (C_out >= C_in) finishes a packet of such a train before the
    next one of the train has arrived, so the train alone never queues (store and forward:
    the "link-speed" effect, the reason two equal-speed ports in a row fed by one stream wait
    only at the first): the term is dropped. A faster link delivers a train quicker than the
    port drains it and keeps the share 1 - C_out / C_in. Against a packet simulation of a
    FIFO port fed by 1-3 upstream ports (speed ratios 0.25-2.5, upstream loads 0.5-0.8,
    shares 0.4-1, 300/1700-bit packets) QNA's waiting is 0-43 % too long where C_out >= C_in
    (mean +12 %); see tests/engine/test_qos.py."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(in_capacity_bps > 0, out_capacity_bps / in_capacity_bps, 1.0)
    out: np.ndarray = np.clip(1.0 - ratio, 0.0, 1.0)
    return out
