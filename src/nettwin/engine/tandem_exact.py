"""The exact two-port tandem for Poisson streams that keep their packet sizes (issue 21).

A group of Poisson hops that reach port j from the same upstream port u leaves u spaced by
its own transmissions there, so at j its packets never meet one another as Poisson
arrivals would. ``trains.tandem_pairs`` takes the light-traffic limit of that (pairs of
packets) and ``trains.persistent_smoothing_term`` a busy u's trains (Kingman's lag-one
covariance); neither gives the wait within u's busy periods, which is Boxma's maximum over
the earlier packets (Boxma 1979, "On a tandem queueing model with identical service
times at both counters", Adv. Appl. Prob. 11). For a lone stream the pair of Lindley
recursions is exact (A the interarrival, S a packet's size, R the sojourn at u, D at j):
departures from u are d_n = max(a_n, d_{n-1}) + S_n / C_u, from j e_n = max(d_n, e_{n-1})
+ S_n / C_j. Both are running maxima (d_n = T_n + max_{i<=n} (a_i - T_{i-1}), T the
cumulative service), so a sample path of every group is a few vectorised passes.

``group_wait_ratio`` runs them on one fixed sample (common random numbers: the figure is a
deterministic function of the rates and laws) with u's other traffic as Poisson
packets that leave at u, and returns, per group, the group's mean wait at j with its own
packets only, relative to the same packets arriving at j at their (Poisson) arrival times
at u: the control variate cancels most of the sampling noise of the ratio.
``exact_groups`` and ``exact_tandem_term`` apply it to a network's Poisson transit hops.

Not wired into ``arrivals.evaluate_paths``: on the tuning networks it replaced the pair and
busy-port smoothing terms for Poisson transit hops at 7.26 / 6.26 % link wait / flow
queueing against 7.08 / 5.78 % (``docs/bursty-calibration.md``, tenth session); the
solver itself agrees with the packet oracle (tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nettwin.engine.mg1k import SizeLaw

PACKETS = 24000  # packets of u's merged traffic per group in the sample path
WARMUP = 0.1  # share of the path dropped before the mean (an empty start)
SEED = 20261207


def _running_departures(arrive: np.ndarray, service: np.ndarray) -> np.ndarray:
    """FIFO departures from running maxima: d_n = T_n + max_{i<=n} (a_i - T_{i-1})."""
    cum = np.cumsum(service, axis=1)
    out: np.ndarray = cum + np.maximum.accumulate(arrive - (cum - service), axis=1)
    return out


def _draw(law: Components, u: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Per row, sizes drawn from its mixture (a constant plus an exponential per component,
    ``mg1k.SizeLaw``'s family, drawn exactly: discretised points lose the exponential's
    tail, which the tandem's maximum follows) by the uniforms ``u`` and unit exponentials
    ``e``."""
    prob, fixed, expo = law
    cdf = np.cumsum(prob, axis=1)
    cdf /= np.maximum(cdf[:, -1:], 1e-300)
    out = np.empty(u.shape)
    for g in range(u.shape[0]):
        idx = np.minimum(np.searchsorted(cdf[g], u[g], side="right"), prob.shape[1] - 1)
        out[g] = fixed[g, idx] + expo[g, idx] * e[g]
    return out


Components = tuple[np.ndarray, np.ndarray, np.ndarray]  # prob, fixed, exp [groups, width]


def group_wait_ratio(own_rate: np.ndarray, own_law: Components, cross_rate: np.ndarray,
                     cross_law: Components, cap_up: np.ndarray, cap_here: np.ndarray,
                     packets: int = PACKETS) -> np.ndarray:
    """Per group: E[wait at j] in the tandem / E[wait at j] with Poisson arrivals there,
    the group alone at j (its own rate and size law as components [groups, width]),
    u carrying also ``cross_rate`` packets per second of other traffic (which leaves at u)
    with its own size law. 1 where the group sends nothing or never waits either way."""
    n_g = own_rate.size
    out = np.ones(n_g)
    if n_g == 0:
        return out
    rng = np.random.default_rng(SEED)
    total = np.maximum(own_rate + cross_rate, 1e-300)
    gaps = rng.exponential(1.0, (n_g, packets)) / total[:, None]
    mine = rng.random((n_g, packets)) < (own_rate / total)[:, None]
    u_size = rng.random((n_g, packets))
    e_size = rng.exponential(1.0, (n_g, packets))
    size = np.where(mine, _draw(own_law, u_size, e_size), _draw(cross_law, u_size, e_size))
    arrive = np.cumsum(gaps, axis=1)
    leave_u = _running_departures(arrive, size / cap_up[:, None])
    # own packets first in each row (stable: in their order), the shortest row's count kept
    count = mine.sum(axis=1)
    n_own = int(count.min())
    if n_own < 50:
        return out
    order = np.argsort(~mine, axis=1, kind="stable")[:, :n_own]
    rows = np.arange(n_g)[:, None]
    d_u, a_u, s_j = leave_u[rows, order], arrive[rows, order], size[rows, order] / cap_here[
        :, None]
    skip = int(WARMUP * n_own)
    tandem = (_running_departures(d_u, s_j) - s_j - d_u)[:, skip:].mean(axis=1)
    poisson = (_running_departures(a_u, s_j) - s_j - a_u)[:, skip:].mean(axis=1)
    ok = (own_rate > 0) & (poisson > 0)
    out[ok] = tandem[ok] / poisson[ok]
    return out


def _mixtures(members: list[np.ndarray], rate: np.ndarray, law: SizeLaw) -> Components:
    """Per group, the mixture of its member hops' laws (``law`` per hop) weighted by their
    rates, as padded component rows."""
    rows = []
    for hops in members:
        idx = np.concatenate([np.arange(law.ptr[h], law.ptr[h + 1]) for h in hops]) \
            if hops.size else np.zeros(0, np.int64)
        share = np.repeat(rate[hops], np.diff(law.ptr)[hops]) if hops.size else np.zeros(0)
        rows.append((law.prob[idx] * share, law.fixed_bits[idx], law.exp_bits[idx]))
    width = max([1, *(r[0].size for r in rows)])
    prob, fixed, expo = (np.zeros((len(rows), width)) for _ in range(3))
    for g, (p, f, e) in enumerate(rows):
        prob[g, :p.size], fixed[g, :p.size], expo[g, :p.size] = p, f, e
        if p.size == 0 or p.sum() <= 0:
            prob[g, 0] = 1.0
    return prob, fixed, expo


@dataclass(frozen=True, eq=False)
class ExactGroups:
    """Poisson hops grouped by (upstream port, port), with each group's exact tandem wait
    ratio (``group_wait_ratio``)."""

    group: np.ndarray  # per hop, its group or -1 (first hops, on-off streams)
    ratio: np.ndarray  # per group
    up: np.ndarray  # per group, the upstream port


def exact_groups(arcs: np.ndarray, first: np.ndarray, poisson: np.ndarray, rate: np.ndarray,
                 capacity: np.ndarray, law: SizeLaw) -> ExactGroups:
    """The Poisson transit hops by the port pair they cross (u's other traffic, every other
    hop at u, taken as Poisson packets that leave at u), at the offered ``rate``."""
    n = capacity.size
    group = np.full(arcs.size, -1, np.int64)
    step = np.nonzero(~first & poisson)[0]
    if step.size == 0:
        return ExactGroups(group, np.ones(0), np.zeros(0, np.int64))
    key, inv = np.unique(arcs[step - 1] * n + arcs[step], return_inverse=True)
    group[step] = inv
    up, dn = key // n, key % n
    members = [step[inv == g] for g in range(key.size)]
    at_u = [np.nonzero(arcs == u)[0] for u in up]
    cross = [np.setdiff1d(h, m - 1) for h, m in zip(at_u, members, strict=True)]
    own_rate = np.array([rate[m].sum() for m in members])
    cross_rate = np.array([rate[c].sum() for c in cross])
    # spaced by the slowest port of the path the group's hops share up to j (a faster
    # port passes packets on as they came: ``trains.tandem_pairs``)
    cap_up = capacity[up].astype(float)
    pos = np.arange(arcs.size) - np.maximum.accumulate(np.where(first, np.arange(arcs.size), 0))
    for g, m in enumerate(members):
        d = 2
        while (pos[m] >= d).all() and np.unique(arcs[m - d]).size == 1:
            cap_up[g] = min(cap_up[g], capacity[arcs[m[0] - d]])
            d += 1
    ratio = group_wait_ratio(own_rate, _mixtures(members, rate, law), cross_rate,
                             _mixtures(cross, rate, law), cap_up, capacity[dn])
    return ExactGroups(group, ratio, up)


def exact_tandem_term(groups: ExactGroups, arcs: np.ndarray, lam_hop: np.ndarray,
                      x2_hop: np.ndarray, wait_mg: np.ndarray, n_ports: int,
                      rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per port and per hop: the change of j's wait that each group's spacing makes. The
    group's own packets see its own work (its share R_g of j's mean residual work R) at the
    exact tandem's ratio and the others' as Poisson, both through j's whole busy-time
    factor (W = R / (1 - rho)): (ratio - 1) W R_g / R for the group's packets; the port's
    mean takes them by their share of its packets (a lone group: exactly the tandem's
    wait; with local traffic at j, packet tandems: within about 4 %)."""
    inside = groups.group >= 0
    g = groups.group[inside]
    r_all = np.bincount(arcs, weights=lam_hop * x2_hop / 2.0, minlength=n_ports)
    r_g = np.bincount(g, weights=(lam_hop * x2_hop / 2.0)[inside],
                      minlength=groups.ratio.size)
    hop = np.zeros(arcs.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        j = arcs[inside]
        hop[inside] = np.where(r_all[j] > 0, (groups.ratio[g] - 1.0) * wait_mg[j] * r_g[g]
                               / np.maximum(r_all[j], 1e-300), 0.0)
        up = groups.up[g]  # a j busier than u sees u's long-run (Poisson) output
        hop[inside] *= np.minimum(1.0, np.clip(1.0 - rho[j], 0.0, 1.0)
                                  / np.maximum(1.0 - np.clip(rho[up], 0.0, 1.0), 1e-12))
        lam = np.bincount(arcs, weights=lam_hop, minlength=n_ports)
        port = np.bincount(arcs, weights=lam_hop * hop, minlength=n_ports) / np.maximum(
            lam, 1e-300)
    return port, hop
