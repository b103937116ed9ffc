"""Packet trains between ports: what a packet's spacing from the port before does to its
wait (the packet scale under ``arrivals``' MMPP phases).

Packets keep their size from port to port, so the gap before a packet that left a busy port
right behind another is that packet's own transmission there, not exponential:

* ``persistent_smoothing_term``: Poisson streams leaving a busy port as trains (Kingman with
  the lag-one covariance, in place of QNA's c_d^2 = rho^2 c_s^2 + 1 - rho^2, which draws
  sizes anew);
* ``back_to_back_variability``, ``back_to_back_gap_wait``, ``back_to_back_train_wait`` and
  ``backlog_smoothing``: a burst clipped at the port before arrives as that port's
  backlogged output;
* ``tandem_pairs`` and ``self_pair_ratio``: the light-traffic pair of a packet and the next
  of its own stream from the same upstream port (equal sizes after a link no faster never
  queue behind one another; ``tandem_exact`` takes the whole tandem for Poisson hops);
* ``size_law_points``: each flow's two-moment size law as weighted points; ``law_points``
  each flow's own law (``mg1k.SizeLaw``) so.

Choices and their figures against ns-3: ``arrivals``' module notes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nettwin.engine.mg1k import SizeLaw, mg1k_queue

BUSY_POWER = 1.5  # share of a busy port's departures that leave back to back: rho^1.5


def persistent_smoothing_term(arcs: np.ndarray, first: np.ndarray, lam_hop: np.ndarray,
                              lam: np.ndarray, rho: np.ndarray, x: np.ndarray,
                              cs2: np.ndarray, k: np.ndarray, hop_scv: np.ndarray,
                              capacity: np.ndarray, poisson: np.ndarray,
                              exact: np.ndarray | None = None) -> np.ndarray:
    """QNA's smoothing with packets that keep their size: a Poisson
    stream that took the share q of busy port u's departures arrives at j with the
    variability of a back-to-back train (``back_to_back_variability`` at r = C_u / C_j, its
    own size variability, q) for the share rho_u^1.5 of its packets that left u right
    behind the one before (an M/G/1 departure leaves a busy port with probability rho; QNA's
    rho^2 between) and Poisson for the rest; QNA's c_d^2 = rho^2 c_s^2 + 1 - rho^2 takes a
    size drawn anew at j, so exponential sizes would never smooth. Upstream links faster
    than j, and on-off streams (their clipped bursts are spaced by ``backlog_smoothing``),
    keep QNA's departures. Either is the variability j sees only while its busy periods are
    no longer than u's: beyond, the share (1 - rho_j) / (1 - rho_u) of it (the ratio of the
    mean busy periods; heavy traffic at j sees u's long-run output, Poisson). Against a
    packet-level tandem (Poisson through stream, sizes kept, K = 6..inf, rho_j 0.8-0.9) the
    second port's wait -12..-33 % -> -9..+4 % (tests)."""
    step = np.nonzero(~first)[0]
    n = lam.size
    pair, inverse = np.unique(arcs[step - 1] * n + arcs[step], return_inverse=True)
    up, dn = pair // n, pair % n
    g_rate = np.bincount(inverse, weights=lam_hop[step], minlength=pair.size)
    g_x2 = np.bincount(inverse, weights=lam_hop[step] * (1.0 + hop_scv[step]),
                       minlength=pair.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        g_scv = np.where(g_rate > 0, g_x2 / g_rate - 1.0, 0.0)
        q = np.clip(np.where(lam[up] > 0, g_rate / lam[up], 0.0), 0.0, 1.0)
    r = capacity[up] / capacity[dn]
    busy = np.clip(rho[up], 0.0, 1.0)
    qna = q * (busy ** 2 * np.maximum(cs2[up], 0.0) + 1.0 - busy ** 2) + 1.0 - q
    train = busy ** BUSY_POWER
    kept = train * back_to_back_variability(r, g_scv, q) + 1.0 - train
    dep = np.where(poisson[step] & (r[inverse] <= 1.0), kept[inverse], qna[inverse])
    # u's departures are correlated over u's busy periods and Poisson beyond (a stable
    # port's long-run output is its input): a j whose busy periods are longer than u's sees
    # several of u's trains in one and keeps only the share B_u / B_j of the smoothing
    # (mean busy period B = x / (1 - rho), taken with equal service times x: with each
    # port's own x, 7.36 % tuning link wait against 7.30 %)
    busy_j = np.clip(rho[dn], 0.0, 1.0)
    seen = np.minimum(1.0, (1.0 - busy_j) / np.maximum(1.0 - busy, 1e-12))
    dep = 1.0 + seen[inverse] * (dep - 1.0)
    if exact is not None:  # hops whose spacing the exact tandem counts (``tandem_exact``)
        dep = np.where(exact[step], 1.0, dep)
    mixed = np.bincount(arcs[step], weights=lam_hop[step] * dep, minlength=n)
    transit = np.bincount(dn, weights=g_rate, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        ca2 = np.where(lam > 0, (mixed + np.maximum(lam - transit, 0.0)) / lam, 1.0)
    _, wait = mg1k_queue(lam, x, cs2, k)
    out: np.ndarray = wait * (ca2 - 1.0) / (1.0 + np.maximum(cs2, 0.0))
    return out


SIZE_POINTS = 16  # points of each flow's discretised packet-size law (back-to-back wait)


def _exponential_bins(n: int) -> np.ndarray:
    """The unit exponential as ``n`` equally likely points: each the conditional mean of its
    quantile bin (the mean kept exactly)."""
    edge = -np.log1p(-np.arange(n + 1)[:n] / n)  # lower edges; the last bin runs to infinity
    tail = (edge + 1.0) * np.exp(-edge)  # E[X; X > edge]
    out: np.ndarray = n * (tail - np.append(tail[1:], 0.0))
    return out


def size_law_points(mean_bits: np.ndarray, scv: np.ndarray, n: int = SIZE_POINTS
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Each flow's packet size law as ``n`` weighted points, the engine's two-moment family
    (``mg1k.SizeLaw.two_moment``): a constant plus an exponential for c^2 <= 1, a balanced
    two-phase hyperexponential above. Returns points and weights, both [flows, n]."""
    m = np.asarray(mean_bits, float)[:, None]
    c2 = np.maximum(np.asarray(scv, float), 0.0)[:, None]
    c = np.sqrt(np.minimum(c2, 1.0))
    low = (1.0 - c) * m + c * m * _exponential_bins(n)[None, :]
    half = n // 2
    eh = _exponential_bins(half)[None, :]
    p1 = 0.5 * (1.0 + np.sqrt(np.maximum(c2 - 1.0, 0.0) / (c2 + 1.0)))
    p2 = 1.0 - p1
    high = np.concatenate([m / (2.0 * p1) * eh, m / (2.0 * p2) * eh], axis=1)
    w_high = np.concatenate([np.repeat(p1, half, axis=1), np.repeat(p2, half, axis=1)],
                            axis=1) / half
    hyper = c2[:, 0] > 1.0
    pts = np.where(hyper[:, None], high, low)
    w = np.where(hyper[:, None], w_high, 1.0 / n)
    return pts, w


def law_points(law: SizeLaw, n: int = SIZE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Each flow's own size law (constants and exponentials mixed) as weighted points: a
    constant is one point, an exponential part ``n`` // (the flow's exponential parts)
    equally likely points (``_exponential_bins``), so a two-point law keeps its two points
    where the two-moment family (``size_law_points``) would smear it into a constant plus
    an exponential (the packet-train terms follow the largest packets, which a two-moment
    fit misplaces). Returns points and weights [flows, width], width at least ``n``, rows
    padded with zero weights."""
    flows = law.ptr.size - 1
    count = np.diff(law.ptr)
    owner = np.repeat(np.arange(flows), count)
    expo = (law.exp_bits > 0.0) & (law.prob > 0.0)
    n_exp = np.bincount(owner, weights=expo, minlength=flows).astype(np.int64)
    k = np.where(expo, np.maximum(1, n // np.maximum(n_exp[owner], 1)), 1)
    end = np.cumsum(k)
    flow_start = np.concatenate([[0], end])[law.ptr[:-1]]
    col0 = end - k - flow_start[owner]  # the component's first column in its flow's row
    width = max(n, int((col0 + k).max(initial=0)))
    pts = np.zeros((flows, width))
    w = np.zeros((flows, width))
    for kk in np.unique(k):
        comp = np.nonzero(k == kk)[0]
        bins = _exponential_bins(int(kk)) if kk > 1 else np.ones(1)
        rows = np.repeat(owner[comp], kk)
        cols = (col0[comp][:, None] + np.arange(kk)[None, :]).ravel()
        pts[rows, cols] = (law.fixed_bits[comp][:, None]
                           + law.exp_bits[comp][:, None] * bins[None, :]).ravel()
        w[rows, cols] = np.repeat(law.prob[comp] / kk, kk)
    return pts, w


@dataclass(frozen=True, eq=False)
class TandemPairs:
    """Each transit hop paired with itself (packet a, then b, the next of its own stream)
    that reaches a port from an upstream port, their packet sizes as discretised laws
    ([hops, points of a, points of b]): what ``self_pair_ratio`` needs, fixed by the paths
    and sizes."""

    hop: np.ndarray  # the transit hop
    up: np.ndarray  # its upstream port
    sau: np.ndarray  # S_a^u [hops, n, 1]
    over: np.ndarray  # (S_a^j - S_b^u)^+ [hops, n, n]
    weight: np.ndarray  # probability of each point pair [hops, n, n]
    poisson: np.ndarray  # E[(S_a^j)^2] / 2 of the same discretised law [hops]


def tandem_pairs(arcs: np.ndarray, first: np.ndarray, size_bits: np.ndarray,
                 size_scv: np.ndarray, capacity: np.ndarray, law: SizeLaw | None = None
                 ) -> TandemPairs:
    """Every transit hop paired with itself (a packet and the next of its stream; pairs of
    different streams were the light-traffic term ``tandem_exact`` replaced: all of them,
    flows squared per port pair, held hundreds of MB). The pair's spacing is that of the
    slowest port of its path up to j (light traffic: a faster port passes packets on as
    they came, so equal sizes that crossed a slow link together never queue behind one
    another after it)."""
    a = np.nonzero(~first)[0]
    pts, w = size_law_points(size_bits, size_scv) if law is None else law_points(law)
    cu, cj = capacity[arcs[a - 1]], capacity[arcs[a]]
    idx = np.arange(arcs.size)
    pos = idx - np.maximum.accumulate(np.where(first, idx, 0))  # hops before on its path
    for d in range(2, int(pos.max(initial=0)) + 1):  # the slowest port before u too
        earlier = pos[a] >= d
        cu = np.where(earlier, np.minimum(cu, capacity[arcs[np.maximum(a - d, 0)]]), cu)
    saj = pts[a][:, :, None] / cj[:, None, None]
    sau = pts[a][:, :, None] / cu[:, None, None]
    sbu = pts[a][:, None, :] / cu[:, None, None]
    return TandemPairs(a, arcs[a - 1], sau, np.maximum(saj - sbu, 0.0),
                       w[a][:, :, None] * w[a][:, None, :],
                       (w[a] * (pts[a] / cj[:, None]) ** 2).sum(1) / 2.0)


def back_to_back_gap_wait(size_bits: np.ndarray, size_scv: np.ndarray, cap_up: np.ndarray,
                          cap_here: np.ndarray, law: SizeLaw | None = None) -> np.ndarray:
    """E[(S_b^j - S_a^u)^+]: the wait at port j of a packet that left port u right behind
    the one before it of its stream (sizes independent: the flow's own law, ``law``, where
    given, else the engine's two-moment law): a floor of the back-to-back wait (the queue at
    j empty before b)."""
    pts, w = size_law_points(size_bits, size_scv) if law is None else law_points(law)
    sbj = pts[:, :, None] / cap_here[:, None, None]
    sau = pts[:, None, :] / cap_up[:, None, None]
    out: np.ndarray = (w[:, :, None] * w[:, None, :] * np.maximum(sbj - sau, 0.0)).sum((1, 2))
    return out


TRAIN_GRID = 129  # bins of a train's sojourn law: 0 to twice the largest packet, which is on one
TRAIN_POINTS = 64  # points of each size law there: the wait follows the largest packets
TRAIN_CHUNK = 128  # hops per batch of linear solves (about 20 MB)


def back_to_back_train_wait(size_bits: np.ndarray, size_scv: np.ndarray, cap_up: np.ndarray,
                            cap_here: np.ndarray, train_packets: np.ndarray,
                            law: SizeLaw | None = None) -> np.ndarray:
    """Mean wait at port j of the packets of a train that leaves a backlogged port u back to
    back (no faster than j: C_u <= C_j), from an empty queue, averaged over a train of
    geometric length (mean ``train_packets``). Packet n+1 reaches j S_{n+1}^u after packet
    n, and the two take its size with them, so the sojourn D at j is a Markov chain driven
    by i.i.d. sizes: D_{n+1} = max(0, D_n - S_{n+1}^u) + S_{n+1}^j, W_{n+1} = max(0, D_n -
    S_{n+1}^u) (tandem queues with identical service times, Boxma 1979, Adv. Appl. Prob.
    11: the wait telescopes to the largest earlier packet's time at j less its own at u,
    not just the one before's). Sizes are each flow's own law (``law``) or else its
    two-moment law on ``TRAIN_POINTS`` points, D on ``TRAIN_GRID`` bins (spread
    linearly); the geometric sum over the train is one linear solve per hop: sum_n s^n d0
    P^n = d0 (I - s P)^-1, ``TRAIN_CHUNK`` hops at a time (memory)."""
    n = np.asarray(size_bits).size
    out = np.zeros(n)
    pts, w = (size_law_points(size_bits, size_scv, TRAIN_POINTS) if law is None
              else law_points(law, TRAIN_POINTS))
    for lo in range(0, n, TRAIN_CHUNK):
        part = slice(lo, lo + TRAIN_CHUNK)
        out[part] = _train_wait_chunk(pts[part], w[part], np.asarray(cap_up, float)[part],
                                      np.asarray(cap_here, float)[part],
                                      np.asarray(train_packets, float)[part])
    return out


def _train_wait_chunk(pts: np.ndarray, w: np.ndarray, cap_up: np.ndarray,
                      cap_here: np.ndarray, train_packets: np.ndarray) -> np.ndarray:
    su = pts / cap_up[:, None]
    sj = pts / cap_here[:, None]
    n_hops = pts.shape[0]
    step = (2.0 * sj.max(axis=1) + 1e-300) / (TRAIN_GRID - 1)
    grid = np.arange(TRAIN_GRID)[None, :] * step[:, None]  # [hops, G]
    # one step of the chain from every grid point and size point: the wait, where D lands
    waited = np.maximum(grid[:, :, None] - su[:, None, :], 0.0)  # [hops, G, pts]
    land = np.minimum((waited + sj[:, None, :]) / step[:, None, None], TRAIN_GRID - 1.0)
    lo = np.floor(land).astype(np.int64)
    hi = np.minimum(lo + 1, TRAIN_GRID - 1)
    frac = land - lo
    cell = (np.arange(n_hops)[:, None, None] * TRAIN_GRID
            + np.arange(TRAIN_GRID)[None, :, None]) * TRAIN_GRID
    mass = np.broadcast_to(w[:, None, :], waited.shape)
    size = n_hops * TRAIN_GRID * TRAIN_GRID
    move = (np.bincount((cell + lo).ravel(), weights=(mass * (1.0 - frac)).ravel(),
                        minlength=size)
            + np.bincount((cell + hi).ravel(), weights=(mass * frac).ravel(), minlength=size))
    stay = np.clip(1.0 - 1.0 / np.maximum(train_packets, 1.0), 0.0, 1.0 - 1e-9)
    system = np.eye(TRAIN_GRID)[None] - stay[:, None, None] * move.reshape(
        n_hops, TRAIN_GRID, TRAIN_GRID)
    start = np.zeros((n_hops, TRAIN_GRID, 1))
    start[:, 0, 0] = 1.0  # the first packet of the train finds j empty (of its stream)
    visits = np.linalg.solve(np.transpose(system, (0, 2, 1)), start)[:, :, 0]
    out: np.ndarray = (1.0 - stay) * (visits * (waited * w[:, None, :]).sum(2)).sum(1)
    return out


def back_to_back_variability(ratio: np.ndarray, size_scv: np.ndarray, share: np.ndarray
                             ) -> np.ndarray:
    """Packet-scale variability, relative to Poisson arrivals, of a stream that left a
    backlogged port u for port j (``ratio`` r = C_u / C_j, ``share`` q of u's departures
    going its way, packet sizes of squared CV ``size_scv``). Back to back, the gap before a
    packet is its own transmission at u, so Lindley's increment at j, r S_{n-1} - S_n (in
    u's time), has variance (r - 1)^2 Var S once the lag-one covariance is counted, against
    E[S]^2 + r^2 Var S for Poisson arrivals (Kingman); the share 1 - q of u's other
    packets in between is taken as random spacing."""
    c2 = np.maximum(size_scv, 0.0)
    r = np.asarray(ratio, float)
    out: np.ndarray = share * (r - 1.0) ** 2 * c2 / (1.0 + r * r * c2) + 1.0 - share
    return out


def backlog_smoothing(arcs: np.ndarray, n_ports: int, backlogged: np.ndarray,
                      hop_rate: np.ndarray, lam_hop: np.ndarray, variability: np.ndarray,
                      gap_wait: np.ndarray, phase_load: np.ndarray, service_s: np.ndarray,
                      wait_s: np.ndarray) -> np.ndarray:
    """Each phase's wait at every port once the clipped bursts are seen as what they are:
    in its high state a stream clipped at the port before arrives as that port's backlogged
    output, packets back to back (``back_to_back_variability``), not Poisson. Only a packet
    that follows one of its own stream is spaced: the ones it meets from other streams
    arrive at random, so a stream with the share p of a phase's arrivals takes p^2 of the
    variability away. In a phase the port can carry (load < 1) the part of the wait that
    is packet-scale, at most the phase's M/M/1 wait rho x / (1 - rho), scales by it; what
    the phase inherits from overloaded ones (backlog) is left alone. Never below what the
    packets find without any spacing: their own train's wait for the share sum p^2 right
    behind their own stream, the residual work of the packet in service for the rest
    (randomly arriving packets see time averages)."""
    high = backlogged[:, None] & (hop_rate > lam_hop[:, None] * (1.0 + 1e-9))
    own = np.zeros(phase_load.shape)
    np.add.at(own, arcs, np.where(high, hop_rate * hop_rate
                                  * (1.0 - variability[:, None]), 0.0))
    rates = np.zeros(phase_load.shape)
    np.add.at(rates, arcs, hop_rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(rates > 0, 1.0 - own / (rates * rates), 1.0)
        packet_scale = np.where(phase_load < 1.0, phase_load * service_s[:, None]
                                / (1.0 - phase_load), 0.0)
    smoothed = wait_s - (1.0 - kappa) * np.minimum(wait_s, packet_scale)
    # never below a packet's wait behind its own predecessor (share p of the arrivals, p of
    # them right behind one of their own)
    floor = np.zeros(phase_load.shape)
    np.add.at(floor, arcs, np.where(high, hop_rate * hop_rate * gap_wait[:, None], 0.0))
    spaced = np.zeros(phase_load.shape)
    np.add.at(spaced, arcs, np.where(high, hop_rate * hop_rate, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        floor = np.where(rates > 0, floor / (rates * rates), 0.0)
        spaced = np.where(rates > 0, spaced / (rates * rates), 0.0)
    # the other packets (those not right behind one of their own stream: the share 1 - sum
    # p^2) arrive at random and find at least the residual work of the packet in service,
    # rho x in the exponential-service frame of ``wait_s`` (PASTA: the residual is a time
    # average, whatever the arrival process; the spacing never removes it)
    floor = floor + (1.0 - spaced) * np.minimum(phase_load, 1.0) * service_s[:, None]
    out: np.ndarray = np.maximum(smoothed, np.minimum(wait_s, floor))
    return out


def self_pair_ratio(pairs: TandemPairs, arcs: np.ndarray, n_ports: int,
                    lam_all: np.ndarray) -> np.ndarray:
    """Per hop: the light-traffic wait a packet adds to the next one of its own stream at
    this port, relative to Poisson arrivals: 0 for equal sizes behind a port no faster,
    above 1 for variable sizes (small packets bunch behind a large one); 1 for a hop with
    no upstream port.

    Light traffic: a packet waits only for the one in service when it arrives. Packet b
    reaching port j from port u after packet a (both Poisson at u, in that order): if b
    reached u during a's transmission there (and no other packet of u's came between) it
    left right behind a, the gap at j is S_b^u and it waits (S_a^j - S_b^u)^+; if later,
    by T after a left u, it waits (S_a^j - S_b^u - T)^+. Per unit rate of a:
    E[S_a^u* (S_a^j - S_b^u)^+] + E[((S_a^j - S_b^u)^+)^2] / 2 (S_a^u* = (1 - e^{-l_o
    S_a^u}) / l_o, l_o u's other traffic), against E[(S_a^j)^2] / 2 for Poisson arrivals
    at j. Sizes are each flow's own law (``law_points``) or else its two-moment law as
    ``SIZE_POINTS`` points, the Poisson value taken on the same points."""
    out = np.ones(lam_all.size)
    if pairs.hop.size == 0:
        return out
    lam = np.bincount(arcs, weights=lam_all, minlength=n_ports)
    # l_o: u's other traffic (the part of a's service there that b sees)
    lam_o = np.maximum(lam[pairs.up] - lam_all[pairs.hop], 0.0)[:, None, None]
    sau, over = pairs.sau, pairs.over
    with np.errstate(divide="ignore", invalid="ignore"):
        during = np.where(lam_o > 0, -np.expm1(-lam_o * sau) / lam_o, sau)
    e = (pairs.weight * (during * over + over * over / 2.0)).sum((1, 2))
    out[pairs.hop] = e / np.maximum(pairs.poisson, 1e-300)
    return out

