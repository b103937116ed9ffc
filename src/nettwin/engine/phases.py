"""A port's modulating chain and what it passes on: the phases of the MMPP that its sources'
bursts make (``port_phases``: the burstiest sources each their own two-state chain, the rest
one fitted MMPP2, sources from one upstream port capped at its FIFO share), and the rate a
port sends a burst on at (``queue_room`` from its own queue solution, ``clip_bursts`` the
stream that leaves). ``engine.arrivals`` carries streams port to port with these; why each
rule is as it is, and what was tried, is told there.
"""

from __future__ import annotations

import numpy as np

from nettwin.engine.bursts import Bursts, fit_mmpp2


def port_phases(arcs: np.ndarray, n_ports: int, lam_hop: np.ndarray, hop_b: Bursts,
                groups: int, source: np.ndarray | None = None,
                up_service_s: np.ndarray | None = None,
                up_load: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The modulating chain of every port (2^groups phases): its ``groups - 1`` burstiest
    sources (by rate variance) each as its own two-state chain, the rest superposed and
    fitted as one MMPP2, Poisson streams a constant rate. A source is one stream, or with
    ``source`` (per hop: the upstream port, -1 where the stream enters the network) every
    bursty stream that comes from the same upstream port, superposed and fitted as one
    MMPP2 whose high rate is at most the FIFO share of the upstream port's capacity that it
    can take (``up_service_s``: the hop's packet time at the upstream port, ``up_load``:
    that port's load less what it drops of the hop's stream): streams that leave one port
    together never arrive faster than it sends. Returns the generator [P, m, m], the port's
    rate in each phase [P, m] and each stream's rate in each phase [hops, m]."""
    g = max(1, int(groups))
    m = 2 ** g
    n_hops = arcs.size
    var_h, m3_h, area_h = hop_b.moments(lam_hop)
    bursty = var_h > 1e-12 * np.maximum(lam_hop, 1e-300) ** 2
    hop_idx = np.arange(n_hops)
    width = n_ports + n_hops
    key = hop_idx + n_ports if source is None else np.where(source >= 0, source,
                                                              n_ports + hop_idx)
    uniq, inv = np.unique(np.where(bursty, arcs * width + key, -1), return_inverse=True)
    inv = inv.reshape(-1)
    n_g = uniq.size

    def group_sum(v: np.ndarray) -> np.ndarray:
        return np.bincount(inv, weights=np.where(bursty, v, 0.0), minlength=n_g)

    valid = uniq >= 0
    g_port = np.where(valid, uniq // width, -1)
    g_mean, g_var = group_sum(lam_hop), group_sum(var_h)
    g_count = group_sum(np.ones(n_hops))
    order = np.lexsort((-g_var, g_port))
    first_of = np.searchsorted(g_port[order], g_port[order], side="left")
    g_rank = np.empty(n_g, np.int64)
    g_rank[order] = np.arange(n_g) - first_of
    g_alone = valid & (g_rank < g - 1)
    alone = bursty & g_alone[inv]
    rest = bursty & ~alone  # the last group: superposed and fitted
    # the alone sources: one stream as it is, several superposed and fitted
    member = group_sum(hop_idx.astype(float)).astype(np.int64)
    single = g_count < 1.5
    fh, fl, fa, fb = fit_mmpp2(g_mean, g_var, group_sum(m3_h), group_sum(area_h))
    pick = np.where(single & valid, member, 0)
    gh = np.where(single, hop_b.high_ratio[pick] * lam_hop[pick], fh)
    gl = np.where(single, hop_b.low_ratio[pick] * lam_hop[pick], fl)
    ga = np.where(single, 1.0 / hop_b.high_s[pick], fa)
    gb = np.where(single, 1.0 / hop_b.low_s[pick], fb)
    if source is not None and up_service_s is not None and up_load is not None:
        # FIFO share at the upstream port while the source is high: h x / (h x + others)
        # of its capacity (as ``evaluate_paths`` clips one stream)
        with np.errstate(divide="ignore", invalid="ignore"):
            xbar = np.where(g_mean > 0, group_sum(lam_hop * up_service_s) / g_mean, 0.0)
            load_u = np.where(g_mean > 0, group_sum(lam_hop * up_load) / g_mean, 0.0)
            others = np.maximum(load_u - g_mean * xbar, 0.0)
            over = g_alone & (xbar > 0) & (gh * xbar + others > 1.0) & (gl < g_mean)
            h_new = np.where(over, np.maximum(gh / (gh * xbar + others),
                                              g_mean * (1.0 + 1e-9)), gh)
            # mean and cycle kept: the source stays high longer
            share = np.where(over, (g_mean - gl) / (h_new - gl), 0.0)
            cycle = 1.0 / ga + 1.0 / gb
            high_s = np.minimum(share * cycle, 0.999 * cycle)
            ga = np.where(over, 1.0 / high_s, ga)
            gb = np.where(over, 1.0 / (cycle - high_s), gb)
        gh = h_new
    hi, lo = np.zeros((n_ports, g)), np.zeros((n_ports, g))
    to_low, to_high = np.ones((n_ports, g)), np.ones((n_ports, g))
    gi = np.nonzero(g_alone)[0]
    hi[g_port[gi], g_rank[gi]] = gh[gi]
    lo[g_port[gi], g_rank[gi]] = gl[gi]
    to_low[g_port[gi], g_rank[gi]] = ga[gi]
    to_high[g_port[gi], g_rank[gi]] = gb[gi]

    def port_sum(v: np.ndarray) -> np.ndarray:
        return np.bincount(arcs, weights=np.where(rest, v, 0.0), minlength=n_ports)

    rest_mean, rest_var = port_sum(lam_hop), port_sum(var_h)
    rh, rl, ra, rb = fit_mmpp2(rest_mean, rest_var, port_sum(m3_h), port_sum(area_h))
    hi[:, g - 1] += np.where(rest_var > 0, rh, 0.0)
    lo[:, g - 1] += np.where(rest_var > 0, rl, 0.0)
    to_low[:, g - 1] = np.where(rest_var > 0, ra, 1.0)
    to_high[:, g - 1] = np.where(rest_var > 0, rb, 1.0)
    poisson = np.bincount(arcs, weights=np.where(bursty, 0.0, lam_hop), minlength=n_ports)
    phase = np.arange(m)
    bit = (phase[None, :] >> np.arange(g)[:, None]) & 1  # [g, m]
    rates = poisson[:, None] + (np.where(bit[None], hi[:, :, None], lo[:, :, None])).sum(1)
    gen = np.zeros((n_ports, m, m))
    for j in range(g):
        other = phase ^ (1 << j)
        gen[:, phase, other] = np.where(bit[j][None, :] == 1, to_low[:, j:j + 1],
                                        to_high[:, j:j + 1])
    gen[:, phase, phase] = -gen.sum(axis=2)
    # each stream's rate by phase: the regression of its rate on its source's (its own
    # chain when alone: covariance = its variance), or constant
    slot = np.where(alone, g_rank[inv], g - 1)
    src_high = np.where(alone, gh[inv], rh[arcs])
    src_low = np.where(alone, gl[inv], rl[arcs])
    src_mean = np.where(alone, g_mean[inv], rest_mean[arcs])
    src_var = np.where(alone, g_var[inv], rest_var[arcs])
    src_rate = np.where(bit[slot] == 1, src_high[:, None], src_low[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(bursty, var_h / np.maximum(src_var, 1e-300), 0.0)
    shared = np.maximum(lam_hop[:, None] + beta[:, None] * (src_rate - src_mean[:, None]),
                        0.0)
    hop_rate = np.where(bursty[:, None], shared, lam_hop[:, None])
    return gen, rates, hop_rate


def clip_bursts(b: Bursts, room: np.ndarray) -> Bursts:
    """A stream whose high rate exceeds ``room`` (same unit as the ratios: mean = 1) leaves
    at ``room``: the burst lasts longer, mean and cycle kept."""
    h_out = np.maximum(np.minimum(b.high_ratio, room), 1.0)
    clipped = (h_out < b.high_ratio) & ~b.is_poisson
    with np.errstate(divide="ignore", invalid="ignore"):
        stretch = np.where(clipped, (b.high_ratio - b.low_ratio)
                           / np.maximum(h_out - b.low_ratio, 1e-12), 1.0)
    cycle = b.high_s + b.low_s
    high_s = np.minimum(b.high_s * stretch, 0.999 * cycle)
    h_out = np.where(clipped, np.maximum(h_out, 1.0 + 1e-9), b.high_ratio)
    return Bursts(h_out, np.where(h_out - b.low_ratio < 1e-9, h_out, b.low_ratio),
                  np.where(clipped, high_s, b.high_s), np.where(clipped, cycle - high_s,
                                                                b.low_s))


QUEUE_ROOM_SLACK = 0.99  # a port that sends a burst on at 99 % of its rate or more delays it


def queue_room(arcs: np.ndarray, hop_rate: np.ndarray, lam_hop: np.ndarray,
               high_ratio: np.ndarray, time_s: np.ndarray, busy_s: np.ndarray,
               phase_load: np.ndarray) -> np.ndarray:
    """The rate, relative to its mean arrival rate, at which each stream leaves its port
    while it is in its high state, from the port's own MMPP/M/1/K solution (``hop_rate``
    [hops, m] the stream's arrival rate in each of its port's phases, ``time_s``, ``busy_s``
    and ``phase_load`` [ports, m] the port's time share, busy probability and offered load
    in each): in phase j the port sends busy_j of its capacity, the FIFO share
    hop_rate_j x / load_j of it the stream's. That is the phase-conditioned rate of the
    queue's departure process (the departures of an MMPP/M/1/K queue form a Markovian
    arrival process on (level, phase): Lucantoni 1991, Stoch. Models 7; its per-phase rates
    are the first moments that departure-process MMPP fits match, Ferng and Chang 2001,
    Perf. Eval. 43; Heindl 2004). Averaged over the phases where the stream runs above its
    mean, weighted by time there, relative to what it brings in them, times its peak;
    infinite for a stream with no such phase (Poisson)."""
    port_time = time_s[arcs]
    high = hop_rate > lam_hop[:, None] * (1.0 + 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        sent = np.where(phase_load[arcs] > 0, hop_rate * busy_s[arcs] / phase_load[arcs], 0.0)
        came = np.where(high, port_time * hop_rate, 0.0).sum(axis=1)
        ratio = np.where(came > 0, np.where(high, port_time * sent, 0.0).sum(axis=1) / came,
                         1.0)
    out: np.ndarray = np.where(came > 0, high_ratio * ratio, np.inf)
    return out
