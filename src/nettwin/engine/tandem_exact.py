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

``group_waits`` runs them on a fixed sample per group (its own generator, seeded by its port
pair: the figures are a deterministic function of the rates, the laws and the pair): the
group's own Poisson packets (through a slower port they crossed together before u, if any),
u's other traffic as Poisson packets that leave at u, and j's other traffic as Poisson
packets that join at j (its trains into a j that others share queue behind one another,
which a lone tandem never shows). Per group, the mean wait at j of its packets and of j's
others, each relative to the same packets with the group arriving at j at its Poisson
arrival times: the control variate cancels most of the sampling noise, and the ratios scale
the engine's M/G/1/K wait (``exact_term``). Several groups at j add, each seeing the others
as Poisson. Packet tandems (tests, and ``docs/bursty-calibration.md``, tenth session):
within about 6 %. The same path through j's finite buffer gives the loss ratio
(``exact_loss_gain``): a buffer of a few packets counts them, so it feels small packets
bunched behind a large one more than the mean wait says (eleventh session).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from nettwin.engine.mg1k import SizeLaw

PACKETS = 24000  # slots per stream and group in the sample path (the busiest fills them)
WARMUP = 0.1  # share of the path dropped before the mean (an empty start)
SEED = 20261207  # with each group's key: its own generator
# groups sampled at once: bounds memory (about 20 arrays of GROUP_CHUNK x PACKETS doubles,
# ~120 MB) on a network of thousands of port pairs
GROUP_CHUNK = 32
LOAD_CAP = 0.95  # a port of the sample passes at most this share of its capacity
MIN_PACKETS = 2000.0  # a ratio on n packets fewer than this counts n / this of its way from 1
# drops in a group's Poisson path at which its finite-buffer loss ratio and the infinite
# buffer's rescale (``mg1k.rescaled_loss``) weigh the same (log-linear blend d / (d + D)):
# few drops are sampling noise (tuning: 0 -> 81.9 %, 20 / 50 / 150 -> 83.6 / 83.6 / 82.5 %
# of lossy links within +-30 %)
LOSS_DROPS_HALF = 50.0
# a group's finite-buffer loss ratio taken at most this far either way (as the rescale's)
LOSS_RATIO_MAX = 5.0
Components = tuple[np.ndarray, np.ndarray, np.ndarray]  # prob, fixed, exp [groups, width]


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
    """Poisson hops grouped by (upstream port, port), with each group's tandem wait ratios
    (``group_waits``)."""

    group: np.ndarray  # per hop, its group or -1 (first hops, on-off streams)
    port: np.ndarray  # per group, the port j it reaches
    own: np.ndarray  # per group, its packets' wait ratio with j's other traffic in the path
    others: np.ndarray  # per group, the same for j's other packets
    # per group, j's loss with its finite buffer (all of j's packets) relative to the group
    # arriving as Poisson, and the drops in that Poisson path (how much the ratio says)
    loss: np.ndarray | None = None
    drops: np.ndarray | None = None


def exact_groups(arcs: np.ndarray, first: np.ndarray, poisson: np.ndarray, rate: np.ndarray,
                 capacity: np.ndarray, law: SizeLaw, system_packets: np.ndarray | None = None
                 ) -> ExactGroups:
    """The Poisson transit hops by the port pair they cross (u's other traffic, every other
    hop at u, taken as Poisson packets that leave at u), at the offered ``rate``."""
    n = capacity.size
    group = np.full(arcs.size, -1, np.int64)
    step = np.nonzero(~first & poisson)[0]
    if step.size == 0:
        return ExactGroups(group, np.zeros(0, np.int64), np.ones(0), np.ones(0))
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
    own_law, cross_law = _mixtures(members, rate, law), _mixtures(cross, rate, law)
    local = [np.setdiff1d(np.nonzero(arcs == j)[0], m) for j, m in zip(dn, members,
                                                                       strict=True)]
    before = np.where(cap_up < capacity[up], cap_up, np.inf)
    both = group_waits(own_rate, own_law, cross_rate, cross_law,
                       np.array([rate[h].sum() for h in local]), _mixtures(local, rate, law),
                       capacity[up].astype(float), capacity[dn].astype(float), before,
                       keys=key, system_packets=None if system_packets is None
                       else np.asarray(system_packets, float)[dn])
    if system_packets is None:
        return ExactGroups(group, dn, both[0], both[1])
    return ExactGroups(group, dn, both[0], both[1], both[2], both[3])


def _fifo(t_a: np.ndarray, s_a: np.ndarray, t_b: np.ndarray, s_b: np.ndarray, cap: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two streams (per row) through one FIFO port at ``cap``: (departure, wait) of stream
    a's packets in their order, and the wait of stream b's."""
    rows = np.arange(t_a.shape[0])[:, None]
    at = np.concatenate([t_a, t_b], axis=1)
    o = np.argsort(at, axis=1, kind="stable")
    back = np.argsort(o, axis=1, kind="stable")
    sz = (np.concatenate([s_a, s_b], axis=1) / cap[:, None])[rows, o]
    dep = _running_departures(at[rows, o], sz)
    wait = (dep - sz - at[rows, o])[rows, back]
    dep = dep[rows, back]
    n = t_a.shape[1]
    return dep[:, :n], wait[:, :n], wait[:, n:]


def group_waits(own_rate: np.ndarray, own_law: Components, cross_rate: np.ndarray,
                cross_law: Components, local_rate: np.ndarray, local_law: Components,
                cap_up: np.ndarray, cap_here: np.ndarray, cap_before: np.ndarray | None = None,
                packets: int = PACKETS, keys: np.ndarray | None = None,
                system_packets: np.ndarray | None = None) -> np.ndarray:
    """Per group, [2, groups]: j's mean wait of the group's packets and of j's other
    packets (``local_rate``, Poisson, with their own law), each relative to the same
    packets with the group arriving at j at its Poisson arrival times. u's other traffic
    (``cross_rate``) leaves at u; ``cap_before`` a slower port the group crossed alone
    before u (its spacing kept through a faster u). j's other traffic is in the sample
    path: a group whose trains j's others leave too little room for queues behind them (a
    line-rate train into a port that local traffic shares). With ``system_packets`` (j's
    buffer) [4, groups]: also the packets j drops holding that many relative to the same
    Poisson path, and that path's drops (ratio 1 where it drops none).

    The rates are those carried: a port offered more than ``LOAD_CAP`` of its capacity
    passes its streams thinned alike (a drop-tail port loses the same share of each; the
    sample's infinite buffers would otherwise fill for ever, its departures drifting past
    the path's end). Each group draws from its own generator, seeded by ``keys`` (the
    port pair; default its position), so a group's figures do not depend on the others
    sampled beside it. A ratio on n packets, fewer than ``MIN_PACKETS``, goes only n /
    ``MIN_PACKETS`` of its way from 1 (Poisson, the light-traffic limit of a stream that
    rarely meets itself): a light group's few packets give noise, not a ratio."""
    own_rate, cross_rate, local_rate = _carried(own_rate, own_law, cross_rate, cross_law,
                                                local_rate, local_law, cap_up, cap_here,
                                                cap_before)
    n_g = own_rate.size
    keys = np.arange(n_g) if keys is None else np.asarray(keys)
    kk = np.zeros(n_g) if system_packets is None else np.asarray(system_packets, float)
    out = np.ones((4, n_g))
    for lo in range(0, n_g, GROUP_CHUNK):  # memory: GROUP_CHUNK rows at once
        rows = slice(lo, lo + GROUP_CHUNK)
        ratio, count, loss = _group_waits(
            own_rate[rows], _rows(own_law, rows), cross_rate[rows], _rows(cross_law, rows),
            local_rate[rows], _rows(local_law, rows), cap_up[rows], cap_here[rows],
            None if cap_before is None else cap_before[rows], packets,
            [np.random.default_rng([SEED, int(k)]) for k in keys[rows]], kk[rows])
        out[:2, rows] = 1.0 + (ratio - 1.0) * np.minimum(count / MIN_PACKETS, 1.0)
        out[2:, rows] = loss
    return out if system_packets is not None else out[:2]


def _mean_bits(law: Components) -> np.ndarray:
    prob, fixed, expo = law
    mean: np.ndarray = (prob * (fixed + expo)).sum(1) / np.maximum(prob.sum(1), 1e-300)
    return mean


def _carried(own_rate: np.ndarray, own_law: Components, cross_rate: np.ndarray,
             cross_law: Components, local_rate: np.ndarray, local_law: Components,
             cap_up: np.ndarray, cap_here: np.ndarray, cap_before: np.ndarray | None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rates each port of the sample passes on: every stream at an overloaded port
    thinned to ``LOAD_CAP`` of its capacity together (the slower port before u, then u,
    then j)."""
    m_own, m_x, m_l = _mean_bits(own_law), _mean_bits(cross_law), _mean_bits(local_law)

    def thin(load_bps: np.ndarray, cap: np.ndarray) -> np.ndarray:
        cut: np.ndarray = np.minimum(1.0, LOAD_CAP * cap / np.maximum(load_bps, 1e-300))
        return cut

    own = np.asarray(own_rate, float)
    if cap_before is not None:
        own = own * np.where(np.isfinite(cap_before),
                             thin(own * m_own, np.where(np.isfinite(cap_before),
                                                        cap_before, 1.0)), 1.0)
    at_u = thin(own * m_own + cross_rate * m_x, cap_up)
    own, cross = own * at_u, cross_rate * at_u
    at_j = thin(own * m_own + local_rate * m_l, cap_here)
    return own * at_j, cross, local_rate * at_j


def _rows(law: Components, rows: slice) -> Components:
    return law[0][rows], law[1][rows], law[2][rows]


def _stacked(gens: list[np.random.Generator], draw: str, n: int) -> np.ndarray:
    """One row of ``n`` draws (``random`` or unit ``exponential``) from each generator."""
    return np.stack([getattr(g, draw)(size=n) for g in gens]) if gens else np.zeros((0, n))


def _poisson_times(gens: list[np.random.Generator], rate: np.ndarray, n: int,
                   horizon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, Poisson arrival times up to ``horizon`` in ``n`` slots (the rest pushed past
    twice the horizon, marked not live)."""
    t = np.cumsum(_stacked(gens, "exponential", n), axis=1) / np.maximum(rate, 1e-300)[:, None]
    live = (t < horizon[:, None]) & (rate[:, None] > 0)
    return np.where(live, t, 2.0 * horizon[:, None] + 1.0), live


def _group_waits(own_rate: np.ndarray, own_law: Components, cross_rate: np.ndarray,
                 cross_law: Components, local_rate: np.ndarray, local_law: Components,
                 cap_up: np.ndarray, cap_here: np.ndarray, cap_before: np.ndarray | None,
                 packets: int, gens: list[np.random.Generator], system_packets: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ratios [2, groups], the packets each rests on [2, groups], and j's finite-buffer
    loss ratio with the Poisson path's drops [2, groups]."""
    n_g = own_rate.size
    out, count, loss = np.ones((2, n_g)), np.zeros((2, n_g)), np.ones((2, n_g))
    loss[1] = 0.0
    if n_g == 0:
        return out, count, loss
    # one horizon per row that every stream's ``packets`` slots cover (the busiest fills
    # them); the quieter streams' slots past it are padding
    busiest = np.maximum(np.maximum(own_rate, cross_rate), local_rate)
    horizon = packets / (1.05 * np.maximum(busiest, 1e-300))

    def sizes(law: Components, live: np.ndarray) -> np.ndarray:
        drawn = _draw(law, _stacked(gens, "random", packets),
                      _stacked(gens, "exponential", packets))
        return np.where(live, drawn, 0.0)

    t_own, live_o = _poisson_times(gens, own_rate, packets, horizon)
    s_own = sizes(own_law, live_o)
    t_in = t_own
    if cap_before is not None:
        slow = np.isfinite(cap_before)
        t_in = np.where(slow[:, None], _running_departures(
            t_own, s_own / np.where(slow, cap_before, 1.0)[:, None]), t_own)
    t_x, live_x = _poisson_times(gens, cross_rate, packets, horizon)
    s_x = sizes(cross_law, live_x)
    d_u, _, _ = _fifo(t_in, s_own, t_x, s_x, cap_up)
    t_l, live_l = _poisson_times(gens, local_rate, packets, horizon)
    s_l = sizes(local_law, live_l)
    keep_own = live_o & (t_own >= (WARMUP * horizon)[:, None])
    keep_l = live_l & (t_l >= (WARMUP * horizon)[:, None])
    count[0], count[1] = keep_own.sum(1), keep_l.sum(1)
    means, drops = [], []
    for arrive in (d_u, t_own):
        _, w_own, w_l = _fifo(arrive, s_own, t_l, s_l, cap_here)
        means.append(((w_own * keep_own).sum(1) / np.maximum(count[0], 1),
                      (w_l * keep_l).sum(1) / np.maximum(count[1], 1)))
        drops.append(_finite_drops(arrive, s_own, live_o, t_l, s_l, live_l, cap_here,
                                   system_packets, WARMUP * horizon))
    fin = (system_packets >= 1) & (drops[1] > 0) & (own_rate > 0)
    loss[0, fin] = drops[0][fin] / drops[1][fin]
    loss[1] = drops[1]
    (t_o, t_oth), (p_o, p_oth) = means
    good = (own_rate > 0) & (p_o > 0)
    out[0, good] = t_o[good] / p_o[good]
    good = (own_rate > 0) & (local_rate > 0) & (p_oth > 0)
    out[1, good] = t_oth[good] / p_oth[good]
    # the others' ratio moves with the group's packets among them, too few of either: noise
    count[1] = np.minimum(count[0], count[1])
    return out, count, loss


def _finite_drops(t_a: np.ndarray, s_a: np.ndarray, live_a: np.ndarray, t_b: np.ndarray,
                  s_b: np.ndarray, live_b: np.ndarray, cap: np.ndarray, k: np.ndarray,
                  start: np.ndarray) -> np.ndarray:
    """Per row, the packets that a FIFO port holding ``k`` packets drops after ``start``
    (both streams, live slots only)."""
    out = np.zeros(t_a.shape[0])
    for g in range(t_a.shape[0]):
        if k[g] < 1:
            continue
        at = np.concatenate([t_a[g][live_a[g]], t_b[g][live_b[g]]])
        sz = np.concatenate([s_a[g][live_a[g]], s_b[g][live_b[g]]]) / cap[g]
        o = np.argsort(at, kind="stable")
        out[g] = _drop_kernel(at[o], sz[o], int(k[g]), float(start[g]))
    return out


@njit(cache=True)
def _drop_kernel(arrive: np.ndarray, service: np.ndarray, k: int, start: float
                 ) -> float:  # pragma: no cover
    ring = np.zeros(k)  # departure times of the packets in the system, oldest first
    head, count, free_at, lost = 0, 0, 0.0, 0.0
    for n in range(arrive.size):
        a = arrive[n]
        while count > 0 and ring[head] <= a:
            head = (head + 1) % k
            count -= 1
        if count >= k:
            if a >= start:
                lost += 1.0
            continue
        free_at = max(a, free_at) + service[n]
        ring[(head + count) % k] = free_at
        count += 1
    return lost


def exact_loss_gain(groups: ExactGroups, n_ports: int,
                    rescale_gain: np.ndarray) -> np.ndarray:
    """Per port, the factor on its loss from the groups that reach it: their finite-buffer
    loss ratios (several groups add, as their waits do), blended in the log with
    ``rescale_gain`` (the infinite buffer's wait ratio through ``mg1k.rescaled_loss``) by
    the drops behind them. Why: a small buffer counts packets, so it feels small packets
    bunched behind a large one (kept sizes) more than the mean wait says (K = 6 behind a
    port as fast, exponential sizes: packets 8.1 % loss, the rescale 6.7 %, this 8.5 %)."""
    if groups.loss is None or groups.drops is None:
        return rescale_gain
    ratio = np.clip(groups.loss, 1.0 / LOSS_RATIO_MAX, LOSS_RATIO_MAX)
    sample = np.maximum(1.0 + np.bincount(groups.port, weights=ratio - 1.0,
                                          minlength=n_ports), 1.0 / LOSS_RATIO_MAX)
    drops = np.bincount(groups.port, weights=groups.drops, minlength=n_ports)
    w = drops / (drops + LOSS_DROPS_HALF)
    out: np.ndarray = np.exp(w * np.log(sample) + (1.0 - w) * np.log(
        np.maximum(rescale_gain, 1e-300)))
    return out


def exact_term(groups: ExactGroups, arcs: np.ndarray, lam_hop: np.ndarray,
               wait_mg: np.ndarray, n_ports: int) -> tuple[np.ndarray, np.ndarray]:
    """Per port and per hop: each group's sample path with j's other traffic in it changes
    its own packets' wait by (own - 1) W and every other packet's at j by (others - 1) W
    (W the port's M/G/1/K wait); several groups at j add (each sees the others as Poisson)."""
    inside = groups.group >= 0
    g = groups.group[inside]
    to_all = np.bincount(groups.port, weights=groups.others - 1.0, minlength=n_ports)
    frac = to_all[arcs].astype(float)
    frac[inside] += (groups.own[g] - 1.0) - (groups.others[g] - 1.0)
    hop: np.ndarray = frac * wait_mg[arcs]
    lam = np.bincount(arcs, weights=lam_hop, minlength=n_ports)
    port: np.ndarray = np.bincount(arcs, weights=lam_hop * hop, minlength=n_ports) / \
        np.maximum(lam, 1e-300)
    return port, hop
