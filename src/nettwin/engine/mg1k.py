"""M/G/1/K with the packet-size law itself: a finite buffer's loss and wait under Poisson
arrivals, exact from the embedded chain at departures.

Why the law and not two moments: a DropTail buffer counts packets, so its loss is the tail
of the number of arrivals during service, which two moments do not fix. A port that mixes
64- and 1,500-byte packets has c_s^2 about 0.84; the two-moment family (a constant plus an
exponential) gives its service an exponential tail that a 1,500-byte packet never has, and
at small losses (0.1-0.5 %) the predicted loss was up to +80 % where ns-3 measured it
(tuning network t05; the wait is barely affected). With the mixture of the streams' own
laws the same ports are within the measurement's noise.

A size law is a mixture of components, each a constant plus an exponential (bits): a fixed
size is one component with no exponential part, an exponential size one with no constant,
an empirical or bimodal law one component per value, and the two-moment fit of a law known
only by its mean and second moment (``SizeLaw.two_moment``) a constant plus an exponential
for c^2 <= 1, a balanced two-phase hyperexponential above. At a port the streams' laws mix
in proportion to their packet rates (``port_size_law``). The number of arrivals during one
service of a component is Poisson(lam d) convolved with the geometric count during an
exponential: the kernel needs nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from nettwin.engine.queueing import mm1k_blocking_and_mean

MG1K_EXACT_MAX = 400  # buffers up to this size: always the exact chain
# Larger buffers (the default, 1,000 packets): the exact chain too where the buffer shapes
# the queue, within ``MG1K_BAND`` decay lengths of load 1 (the heavy-traffic queue's tail
# falls like exp(-2 |1 - rho| n / (1 + c^2))) and up to ``MG1K_BAND_MAX`` packets (its cost
# grows as K^2); elsewhere the infinite-buffer M/G/1 wait, or a full buffer past load 1.
# Those alone gave up to 50x the wait near load 1 (more than the buffer holds) and half
# the loss just past it, against the exact chain.
MG1K_BAND = 20.0
MG1K_BAND_MAX = 4000


@dataclass(frozen=True, eq=False)
class SizeLaw:
    """Per demand, its packet-size law as a mixture of components (a constant plus an
    exponential, both in bits); demand d owns components ``ptr[d]:ptr[d+1]``."""

    ptr: np.ndarray  # int64 [demands + 1]
    prob: np.ndarray  # [components] share of the demand's packets, summing to 1 per demand
    fixed_bits: np.ndarray  # [components] the constant part
    exp_bits: np.ndarray  # [components] the mean of the exponential part

    @staticmethod
    def two_moment(mean_bits: np.ndarray, second_moment_bits2: np.ndarray) -> SizeLaw:
        """The law of each demand fitted to its mean and second moment (the family of
        ``mg1k_queue``): a constant plus an exponential for c^2 <= 1 (0: constant, 1:
        exponential), a balanced two-phase hyperexponential above."""
        m = np.atleast_1d(np.asarray(mean_bits, np.float64))
        c2 = np.maximum(np.atleast_1d(np.asarray(second_moment_bits2, np.float64))
                        / np.maximum(m, 1e-300) ** 2 - 1.0, 0.0)
        c2 = np.where(c2 < 1e-12, 0.0, c2)
        prob, fixed, expo = _two_moment_parts(m, c2)
        n = m.size
        return SizeLaw(np.arange(0, 2 * n + 1, 2, dtype=np.int64), prob.reshape(-1),
                       fixed.reshape(-1), expo.reshape(-1))

    def take(self, demands: np.ndarray) -> SizeLaw:
        """The laws of the given demands, in that order (repeats allowed)."""
        ptr, comp = _take_rows(self.ptr, demands)
        return SizeLaw(ptr, self.prob[comp], self.fixed_bits[comp], self.exp_bits[comp])

    @property
    def mean_bits(self) -> np.ndarray:
        owner = np.repeat(np.arange(self.ptr.size - 1), np.diff(self.ptr))
        out: np.ndarray = np.bincount(owner, weights=self.prob * (self.fixed_bits
                                                                  + self.exp_bits),
                                      minlength=self.ptr.size - 1)
        return out

    @property
    def second_moment_bits2(self) -> np.ndarray:
        owner = np.repeat(np.arange(self.ptr.size - 1), np.diff(self.ptr))
        d, e = self.fixed_bits, self.exp_bits
        out: np.ndarray = np.bincount(owner, weights=self.prob * (d * d + 2 * d * e
                                                                  + 2 * e * e),
                                      minlength=self.ptr.size - 1)
        return out


def _two_moment_parts(m: np.ndarray, c2: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[n, 2] probabilities, constants and exponential means of the two-moment fit (the
    second component has probability 0 below c^2 = 1)."""
    c = np.sqrt(np.minimum(c2, 1.0))
    hyper = c2 > 1.0
    p1 = 0.5 * (1.0 + np.sqrt(np.maximum(c2 - 1.0, 0.0) / (c2 + 1.0)))
    prob = np.stack([np.where(hyper, p1, 1.0), np.where(hyper, 1.0 - p1, 0.0)], axis=1)
    fixed = np.stack([np.where(hyper, 0.0, (1.0 - c) * m), np.zeros_like(m)], axis=1)
    expo = np.stack([np.where(hyper, m / (2.0 * p1), c * m),
                     np.where(hyper, m / (2.0 * np.maximum(1.0 - p1, 1e-300)), 0.0)], axis=1)
    return prob, fixed, expo


@dataclass(frozen=True, eq=False)
class PortSizeLaw:
    """Per port, the service-time law of its arrivals (seconds); port p owns components
    ``ptr[p]:ptr[p+1]``."""

    ptr: np.ndarray  # int64 [ports + 1]
    prob: np.ndarray  # [components]
    fixed_s: np.ndarray  # [components]
    exp_s: np.ndarray  # [components]

    @staticmethod
    def two_moment(service_mean_s: np.ndarray, service_scv: float | np.ndarray
                   ) -> PortSizeLaw:
        """Per port, the two-moment fit of ``SizeLaw.two_moment`` to a mean and c^2."""
        x = np.atleast_1d(np.asarray(service_mean_s, np.float64))
        prob, fixed, expo = _two_moment_parts(x, np.maximum(
            np.broadcast_to(np.asarray(service_scv, np.float64), x.shape), 0.0))
        return PortSizeLaw(np.arange(0, 2 * x.size + 1, 2, dtype=np.int64),
                           prob.reshape(-1), fixed.reshape(-1), expo.reshape(-1))

    def take(self, ports: np.ndarray) -> PortSizeLaw:
        """The laws of the given ports, in that order (repeats allowed)."""
        ptr, comp = _take_rows(self.ptr, ports)
        return PortSizeLaw(ptr, self.prob[comp], self.fixed_s[comp], self.exp_s[comp])


def _take_rows(ptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``rows`` (repeats allowed) of a ragged array whose row r owns components
    ``ptr[r]:ptr[r+1]``: the new row pointers and the components taken, in that order."""
    count = np.diff(ptr)[rows]
    new = np.zeros(rows.size + 1, np.int64)
    new[1:] = np.cumsum(count)
    return new, np.repeat(ptr[rows], count) + (np.arange(new[-1]) - np.repeat(new[:-1], count))


def port_size_law(law: SizeLaw, hop_demand: np.ndarray, arcs: np.ndarray,
                  lam_hop: np.ndarray, capacity_bps: np.ndarray) -> PortSizeLaw:
    """The mixture at each port of the laws of the streams that cross it (hop h: demand
    ``hop_demand[h]`` at port ``arcs[h]`` with ``lam_hop[h]`` packets per second), each
    weighted by its packet rate; equal components are merged (a few per port)."""
    n_ports = capacity_bps.size
    _, comp = _take_rows(law.ptr, hop_demand)
    count = np.diff(law.ptr)[hop_demand]
    port = np.repeat(arcs, count)
    weight = np.repeat(lam_hop, count) * law.prob[comp]
    use = weight > 0
    port, comp, weight = port[use], comp[use], weight[use]
    keys = np.stack([port.astype(np.float64), law.fixed_bits[comp], law.exp_bits[comp]])
    uniq, inv = np.unique(keys, axis=1, return_inverse=True)
    inv = inv.reshape(-1)
    w = np.bincount(inv, weights=weight, minlength=uniq.shape[1])
    u_port = uniq[0].astype(np.int64)
    total = np.bincount(u_port, weights=w, minlength=n_ports)
    ptr = np.zeros(n_ports + 1, np.int64)
    ptr[1:] = np.cumsum(np.bincount(u_port, minlength=n_ports))
    cap = capacity_bps[u_port]
    return PortSizeLaw(ptr, w / np.maximum(total[u_port], 1e-300), uniq[1] / cap,
                       uniq[2] / cap)


def mg1k_law_queue(arrival_pps: np.ndarray, law: PortSizeLaw, system_packets: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """M/G/1/K loss and mean wait of admitted packets per port (K in the system, Poisson
    arrivals at ``arrival_pps``, service law ``law``), from the embedded chain at departures
    (balance across each level cut: every term positive, so stable) and the time-average
    law P_K = 1 - 1 / (pi_0 + rho). K above ``MG1K_EXACT_MAX`` and away from load 1
    (``MG1K_BAND``): the M/G/1 wait (Pollaczek-Khinchine) and the M/M/1/K loss, or a full
    buffer where overloaded."""
    lam = np.ascontiguousarray(np.atleast_1d(np.asarray(arrival_pps, np.float64)))
    k = np.ascontiguousarray(np.broadcast_to(np.asarray(system_packets, np.float64),
                                             lam.shape))
    loss, wait = np.zeros(lam.size), np.zeros(lam.size)
    _mg1k_kernel(lam, law.ptr, np.ascontiguousarray(law.prob),
                 np.ascontiguousarray(law.fixed_s), np.ascontiguousarray(law.exp_s), k,
                 MG1K_EXACT_MAX, MG1K_BAND, MG1K_BAND_MAX, loss, wait)
    return loss, wait


def mg1k_queue(arrival_pps: np.ndarray, service_mean_s: np.ndarray, service_scv: np.ndarray,
               system_packets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """M/G/1/K loss and mean wait of admitted packets with a service law known by its mean
    and squared coefficient of variation (the two-moment fit of ``SizeLaw.two_moment``)."""
    args = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, np.float64)) for v in (
        arrival_pps, service_mean_s, service_scv, system_packets)))
    lam, x, scv, k = (np.ascontiguousarray(v) for v in args)
    return mg1k_law_queue(lam, PortSizeLaw.two_moment(x, scv), k)


def size_correction(lam: np.ndarray, law: PortSizeLaw, k: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """What packet-size variability adds to the exponential-service wait and loss: M/G/1/K
    with the port's size law less M/M/1/K at the same load (exact for Poisson arrivals;
    added to the MMPP queue's as heavy-traffic theory adds the two variabilities)."""
    loss, wait = mg1k_law_queue(lam, law, k)
    w = law.prob * (law.fixed_s + law.exp_s)
    port = np.repeat(np.arange(law.ptr.size - 1), np.diff(law.ptr))
    x = np.bincount(port, weights=w, minlength=lam.size)
    b, n = mm1k_blocking_and_mean(lam * x, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        w_mm1k = np.where(lam > 0, n / (lam * (1.0 - b)) - x, 0.0)
    dw: np.ndarray = np.where(lam > 0, wait - np.maximum(w_mm1k, 0.0), 0.0)
    dl: np.ndarray = np.where(lam > 0, loss - b, 0.0)
    return dw, dl


def rescaled_loss(loss: np.ndarray, load: np.ndarray, variability_ratio: np.ndarray
                  ) -> np.ndarray:
    """The loss of a finite buffer whose arrivals are ``variability_ratio`` times as
    variable as those that give ``loss`` at this load. Diffusion: the queue-length tail
    decays as z^n with log z proportional to 1 / variability (the wait grows with it);
    w = z^(K+1) is read off the loss in the M/M/1/K form, P_K = (1 - rho) w / ((1 - w)
    rho) (z = rho there), and raised to 1 / ratio. A ratio of 1 returns the loss; loads
    near 1 or losses of 0 or 1 are returned as they are."""
    rho = np.maximum(np.asarray(load, float), 1e-12)
    loss = np.asarray(loss, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = loss * rho / (1.0 - rho)  # w / (1 - w)
        zk = a / (1.0 + a)
        ok = (np.abs(1.0 - rho) > 1e-6) & (loss > 0.0) & (loss < 1.0) & (zk > 0.0) & (
            np.abs(zk - 1.0) > 1e-12)
        z1 = np.where(ok, zk, 0.5) ** (1.0 / np.asarray(variability_ratio, float))
        new = (1.0 - rho) / rho * z1 / (1.0 - z1)
    out: np.ndarray = np.where(ok & np.isfinite(new) & (new >= 0.0), np.minimum(new, 1.0),
                               loss)
    return out


@njit(cache=True)
def _mg1k_kernel(lam: np.ndarray, ptr: np.ndarray, prob: np.ndarray, fixed: np.ndarray,
                 expo: np.ndarray, kf: np.ndarray, kmax: int, band: float, band_max: int,
                 loss: np.ndarray, wait: np.ndarray) -> None:  # pragma: no cover
    for i in range(lam.size):
        if lam[i] <= 0.0:
            continue
        x, x2 = 0.0, 0.0
        for c in range(ptr[i], ptr[i + 1]):
            d, e = fixed[c], expo[c]
            x += prob[c] * (d + e)
            x2 += prob[c] * (d * d + 2.0 * d * e + 2.0 * e * e)
        rho = lam[i] * x
        k = int(kf[i])
        c2 = x2 / (x * x) - 1.0 if x > 0.0 else 0.0
        if k > kmax and (k > band_max or 2.0 * abs(1.0 - rho) * k > band * (1.0 + c2)):
            if rho < 1.0:
                wait[i] = lam[i] * x2 / (2.0 * (1.0 - rho))
                # M/M/1/K loss: the tail beyond a large buffer
                loss[i] = (1.0 - rho) * rho ** k / (1.0 - rho ** (k + 1))
            else:
                loss[i] = 1.0 - 1.0 / rho
                wait[i] = k * x
            continue
        # a[j] = P(j arrivals during one service), j = 0..k
        a = np.zeros(k + 1)
        for c in range(ptr[i], ptr[i + 1]):
            if prob[c] <= 0.0:
                continue
            ld = lam[i] * fixed[c]
            q = lam[i] * expo[c] / (1.0 + lam[i] * expo[c])  # geometric during Exp(e)
            # Poisson(ld) convolved with Geometric(q): s_j = q s_{j-1} + (1 - q) pois_j
            pois = np.exp(-ld)
            s = (1.0 - q) * pois
            a[0] += prob[c] * s
            for j in range(1, k + 1):
                pois = pois * ld / j
                s = q * s + (1.0 - q) * pois
                a[j] += prob[c] * s
        tail = np.zeros(k + 2)  # tail[n] = P(A >= n)
        tail[0] = 1.0
        for n in range(1, k + 2):
            tail[n] = max(tail[n - 1] - a[n - 1], 0.0)
        pi = np.zeros(k)  # departure epochs see 0..K-1
        if a[0] < 1e-280:  # no departure leaves the port short of full: overloaded past
            pi[k - 1] = 1.0  # what a double carries (lam x over ~600 with fixed sizes)
        else:
            pi[0] = 1.0
        for j in range(k - 1 if a[0] >= 1e-280 else 0):
            up = pi[0] * tail[j + 1]
            for m in range(1, j + 1):
                up += pi[m] * tail[j - m + 2]
            pi[j + 1] = up / a[0]
            if pi[j + 1] > 1e250:  # overloaded: grows like rho^n across the buffer
                pi[:j + 2] /= pi[j + 1]
        pi /= pi.sum()
        norm = pi[0] + rho
        mean_n = 0.0
        for j in range(k):
            mean_n += j * pi[j] / norm
        p_full = max(1.0 - 1.0 / norm, 0.0)  # pi_0 + rho >= 1 but for rounding
        mean_n += k * p_full
        loss[i] = p_full
        admitted = lam[i] * (1.0 - p_full)
        wait[i] = max(mean_n / admitted - x, 0.0) if admitted > 0 else 0.0
