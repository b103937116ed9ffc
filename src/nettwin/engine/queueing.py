"""Per-arc queueing models: transmission, queueing delay and loss from offered load.

All functions are vectorised over arcs. Service time S = packet bits / capacity; load
rho = offered bit rate / capacity.

* M/M/1     Wq = rho S / (1 - rho)
* M/D/1     Wq = rho S / (2 (1 - rho))
* M/G/1     Pollaczek-Khinchine: Wq = rho S (1 + c_s^2) / (2 (1 - rho)), c_s^2 the squared
            coefficient of variation of packet size (c_s^2 = 1 gives M/M/1, 0 gives M/D/1)
* M/M/1/K   finite system of K = buffer + 1 packets: blocking P_K and the mean sojourn by
            Little's law on the admitted rate; exact for any rho, computed in a form that
            neither overflows nor cancels near rho = 1.

Overload (rho >= 1) in the infinite-buffer models is handled explicitly: the arc is flagged
``overloaded``, the excess is dropped (loss = 1 - 1/rho, the fluid limit) and queued packets
wait a full buffer (buffer_packets x S), the most a real router port can hold them.

For bursty arrivals (``engine.arrivals``):

* MMPP/M/1/K  arrivals modulated by a Markov chain (``mmpp_queue``, m phases; ``mmpp2_queue``
              two), solved exactly by linear level reduction of the finite QBD: loss, mean
              number, and the wait and loss of a packet arriving in each phase. Checked against
              M/M/1/K (equal rates) and IPP/M/1 (GI/M/1 with the on-off interarrival law).
              ``mmpp_queue_busy`` adds the busy probability in each phase (the port's
              throughput there: the per-phase rate of its departure process).

M/G/1/K (what packet-size variability adds to the exponential models) is ``engine.mg1k``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

# declared in engine.options (the command line reads them without loading numba);
# re-exported here for the modules that import them from the queueing models
from nettwin.engine.options import IMIX_MEAN_PACKET_BYTES as IMIX_MEAN_PACKET_BYTES  # noqa: PLC0414
from nettwin.engine.options import IMIX_PACKET_SCV as IMIX_PACKET_SCV  # noqa: PLC0414
from nettwin.engine.options import ArrivalModel as ArrivalModel  # noqa: PLC0414
from nettwin.engine.options import QueueModel as QueueModel  # noqa: PLC0414


@dataclass(frozen=True)
class ArcQueues:
    """Per-arc outcome of a queueing model (all arrays of length m)."""

    utilisation: np.ndarray
    transmission_s: np.ndarray
    queueing_s: np.ndarray
    loss: np.ndarray
    overloaded: np.ndarray


def mm1k_blocking_and_mean(rho: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Blocking probability and mean number in system of M/M/1/K (K = system size)."""
    rho = np.asarray(rho, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    # For rho > 1 the state distribution mirrors that of r = 1/rho: N = K - N(r).
    high = rho > 1.0
    with np.errstate(over="ignore"):  # 1 / a subnormal load, discarded by the where
        r = np.where(high, 1.0 / np.where(rho > 0, rho, 1.0), rho)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_r = np.log(np.where(r > 0, r, 1.0))
        # r^(K+1) and 1 - r^(K+1) without cancellation near r = 1
        one_minus_rk1 = -np.expm1((k + 1) * log_r)
        one_minus_r = -np.expm1(log_r)
        rk = np.exp(k * log_r)
        rk1 = np.exp((k + 1) * log_r)
        p_full_low = one_minus_r * rk / one_minus_rk1  # P(N = K) for r < 1
        p_empty_low = one_minus_r / one_minus_rk1  # P(N = 0) for r < 1
        mean_low = r / one_minus_r - (k + 1) * rk1 / one_minus_rk1
    near_one = np.abs(log_r) < 1e-9
    p_full_low = np.where(near_one, 1.0 / (k + 1), p_full_low)
    p_empty_low = np.where(near_one, 1.0 / (k + 1), p_empty_low)
    mean_low = np.where(near_one, k / 2.0, mean_low)
    zero = r == 0.0
    p_full_low = np.where(zero, 0.0, p_full_low)
    p_empty_low = np.where(zero, 1.0, p_empty_low)
    mean_low = np.where(zero, 0.0, mean_low)
    blocking = np.where(high, p_empty_low, p_full_low)
    mean_in_system = np.where(high, k - mean_low, mean_low)
    return blocking, mean_in_system


def mm1k_admitted_wait_moments(rho: np.ndarray, k: np.ndarray
                                ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the waiting time of *admitted* packets in M/M/1/K (K = system
    size), in units of the mean service time; any rho, overload included.

    An admitted arrival finds n = 0..K-1 packets with probability proportional to rho^n (a
    geometric law truncated to M = K terms, PASTA conditioned on acceptance) and waits for
    n exponential services (the one in service is memoryless): W | n ~ Erlang(n), so
    E[W] = E[N_a] and Var W = E[N_a] + Var N_a. With e = -ln rho (either sign):
    E[N_a] = 1 / (e^e - 1) - M / (e^(M e) - 1) and
    Var N_a = 1 / (4 sinh^2(e / 2)) - M^2 / (4 sinh^2(M e / 2)); near rho = 1 (|M e| small)
    their series, (M - 1) / 2 - (M^2 - 1) e / 12 and (M^2 - 1) / 12 - (M^4 - 1) e^2 / 240.
    A queue far past capacity holds K - 1 ahead of an admitted packet: Var W -> K - 1; at
    rho = 1 the queue length is uniform and Var W = (K - 1) / 2 + (K^2 - 1) / 12."""
    rho = np.asarray(rho, dtype=np.float64)
    m = np.asarray(k, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        e = -np.log(np.where(rho > 0, rho, 1.0))
        mean = 1.0 / np.expm1(e) - m / np.expm1(m * e)
        var = 1.0 / (4.0 * np.sinh(e / 2) ** 2) - m ** 2 / (4.0 * np.sinh(m * e / 2) ** 2)
    small = np.abs(m * e) < 1e-2
    mean = np.where(small, (m - 1) / 2 - (m ** 2 - 1) * e / 12, mean)
    var = np.where(small, (m ** 2 - 1) / 12 - (m ** 4 - 1) * e ** 2 / 240, var)
    mean = np.where(rho > 0, np.clip(mean, 0.0, m - 1), 0.0)
    var = np.where(rho > 0, np.maximum(var, 0.0), 0.0)
    return mean, mean + var


def evaluate_queues(
    load_bps: np.ndarray,
    capacity_bps: np.ndarray,
    model: QueueModel,
    mean_packet_bytes: float,
    packet_scv: float,
    buffer_packets: np.ndarray,
) -> ArcQueues:
    """Delay and loss on every arc for the given offered loads."""
    capacity = np.asarray(capacity_bps, dtype=np.float64)
    load = np.asarray(load_bps, dtype=np.float64)
    service_s = mean_packet_bytes * 8.0 / capacity
    rho = load / capacity
    buffers = np.asarray(buffer_packets, dtype=np.float64)
    if model is QueueModel.MM1K:
        system = buffers + 1.0
        blocking, mean_n = mm1k_blocking_and_mean(rho, system)
        admitted_pps = (load / (mean_packet_bytes * 8.0)) * (1.0 - blocking)
        with np.errstate(divide="ignore", invalid="ignore"):
            sojourn = np.where(admitted_pps > 0, mean_n / admitted_pps, service_s)
        queueing = np.maximum(sojourn - service_s, 0.0)
        return ArcQueues(rho, service_s, queueing, blocking, rho >= 1.0)
    factor = {QueueModel.MM1: 1.0, QueueModel.MD1: 0.5,
              QueueModel.MG1: (1.0 + packet_scv) / 2.0}[model]
    overloaded = rho >= 1.0
    stable = np.where(overloaded, 0.0, rho)
    queueing = factor * stable * service_s / (1.0 - stable)
    queueing = np.where(overloaded, buffers * service_s, queueing)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = np.where(overloaded, 1.0 - 1.0 / np.where(overloaded, rho, 1.0), 0.0)
    return ArcQueues(rho, service_s, queueing, loss, overloaded)


@dataclass(frozen=True)
class MMPPQueues:
    """Per-port outcome of an MMPP2/M/1/K queue (arrays of length P; ``*_phase`` [P, 2],
    phase 0 the high-rate one)."""

    blocking: np.ndarray  # share of all arrivals that find the system full
    mean_in_system: np.ndarray  # time-average number in system
    sojourn_s: np.ndarray  # mean time in system of admitted packets
    waiting_phase_s: np.ndarray  # mean wait of a packet that arrives in each phase
    blocking_phase: np.ndarray  # probability that a packet arriving in each phase is lost
    time_phase: np.ndarray  # share of time in each phase


def mmpp2_queue(rate_high_pps: np.ndarray, rate_low_pps: np.ndarray, to_low_per_s: np.ndarray,
                to_high_per_s: np.ndarray, service_pps: np.ndarray, system_packets: np.ndarray
                ) -> MMPPQueues:
    """MMPP2/M/1/K, solved exactly (linear level reduction of the finite QBD) per port.
    Arrivals at ``rate_high_pps`` while the modulating chain is high (left at
    ``to_low_per_s``) and ``rate_low_pps`` while it is low (left at ``to_high_per_s``);
    exponential service at ``service_pps``; at most ``system_packets`` (K) in the system.
    With equal rates it is M/M/1/K. Cost O(K) per port."""
    args = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, np.float64)) for v in (
        rate_high_pps, rate_low_pps, to_low_per_s, to_high_per_s, service_pps)))
    k = np.broadcast_to(np.maximum(np.asarray(system_packets, np.float64), 1.0),
                        args[0].shape).astype(np.int64)
    p = args[0].size
    out = np.zeros((p, 9))
    lh, ll, a, b, mu = (np.ascontiguousarray(v) for v in args)
    _mmpp2_kernel(lh, ll, a, b, mu, np.ascontiguousarray(k), out)
    return MMPPQueues(out[:, 0], out[:, 1], out[:, 2], out[:, 3:5], out[:, 5:7], out[:, 7:9])


@njit(cache=True)
def _mmpp2_kernel(lam_h: np.ndarray, lam_l: np.ndarray, a: np.ndarray, b: np.ndarray,
                  mu: np.ndarray, k: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    # out columns: blocking, mean N, sojourn, wait|high, wait|low, loss|high, loss|low,
    # time share high, time share low. pi_{n+1} = pi_n R_n; R_{K-1} = U (-B_K)^-1,
    # R_{n-1} = U (-(B_n + R_n D))^-1 with U = diag(lam), D = mu I.
    # Going down, R_n reaches its fixed point (the infinite buffer's R) some levels below
    # K: once one level's R equals the one above it bit for bit, every lower level's does
    # too (the same inputs), so levels 1..``flat`` take it without being computed, and the
    # figures are the full pass's exactly. (A stop on a relative change instead let slowly
    # converging R drift, and a stop going up once the mass looked negligible cut off a
    # rare overloaded phase whose mass dips before it grows: review, both dropped.)
    for i in range(lam_h.size):
        kk = k[i]
        lh, ll, m = lam_h[i], lam_l[i], mu[i]
        rs = np.zeros((kk, 4))
        flat = 0  # levels 1..flat have rs[flat - 1]
        t00 = t01 = t10 = t11 = 0.0  # R_n D of the level above
        for n in range(kk, 0, -1):
            up_h = lh if n < kk else 0.0
            up_l = ll if n < kk else 0.0
            # -(B_n + tail), B_n = R - diag(up) - mu I
            m00 = a[i] + up_h + m - t00
            m01 = -a[i] - t01
            m10 = -b[i] - t10
            m11 = b[i] + up_l + m - t11
            det = m00 * m11 - m01 * m10
            r00, r01 = lh * m11 / det, -lh * m01 / det
            r10, r11 = -ll * m10 / det, ll * m00 / det
            rs[n - 1, 0], rs[n - 1, 1], rs[n - 1, 2], rs[n - 1, 3] = r00, r01, r10, r11
            t00, t01, t10, t11 = r00 * m, r01 * m, r10 * m, r11 * m
            if n < kk - 1 and r00 == rs[n, 0] and r01 == rs[n, 1] and r10 == rs[n, 2] \
                    and r11 == rs[n, 3]:
                flat = n  # R_1 .. R_n all this one: level 0's tail is its R D too
                break
        # level 0: pi_0 (B_0 + tail) = 0, B_0 = R - diag(lam)
        c00 = -a[i] - lh + t00
        c10 = b[i] + t10
        p0, p1 = c10, -c00
        if abs(p0) + abs(p1) == 0.0:
            p0 = p1 = 0.5
        s0 = abs(p0) + abs(p1)
        p0, p1 = abs(p0) / s0, abs(p1) / s0
        total = p0 + p1
        mean_n = 0.0
        ph0, ph1 = p0, p1
        seen0 = seen1 = 0.0  # sum of n pi(n, j) over n < K
        for n in range(1, kk + 1):
            lv = max(n, flat) - 1
            q0 = p0 * rs[lv, 0] + p1 * rs[lv, 2]
            q1 = p0 * rs[lv, 1] + p1 * rs[lv, 3]
            if n < kk:
                seen0 += n * q0
                seen1 += n * q1
            p0, p1 = q0, q1
            total += p0 + p1
            mean_n += n * (p0 + p1)
            ph0 += p0
            ph1 += p1
            if total > 1e250:  # overloaded: the distribution grows with n; rescale
                f = 1e-250
                p0 *= f
                p1 *= f
                total *= f
                mean_n *= f
                ph0 *= f
                ph1 *= f
                seen0 *= f
                seen1 *= f
        full0, full1 = p0 / total, p1 / total
        ph0, ph1 = ph0 / total, ph1 / total
        mean_n /= total
        seen0, seen1 = seen0 / total, seen1 / total
        arrivals = ph0 * lh + ph1 * ll
        blocking = (full0 * lh + full1 * ll) / arrivals if arrivals > 0 else 0.0
        out[i, 0] = blocking
        out[i, 1] = mean_n
        admitted = arrivals * (1.0 - blocking)
        out[i, 2] = mean_n / admitted if admitted > 0 else 1.0 / m
        out[i, 3] = seen0 / (ph0 - full0) / m if ph0 - full0 > 0 else 0.0
        out[i, 4] = seen1 / (ph1 - full1) / m if ph1 - full1 > 0 else 0.0
        out[i, 5] = full0 / ph0 if ph0 > 0 else 0.0
        out[i, 6] = full1 / ph1 if ph1 > 0 else 0.0
        out[i, 7] = ph0
        out[i, 8] = ph1


def mmpp_queue(generator: np.ndarray, rates_pps: np.ndarray, service_pps: np.ndarray,
               system_packets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                    np.ndarray, np.ndarray, np.ndarray]:
    """MMPP/M/1/K with m phases per port (``generator`` [P, m, m], ``rates_pps`` [P, m]),
    solved exactly by linear level reduction. Returns blocking, mean number in system,
    sojourn of admitted packets [P] and, per phase [P, m], the wait and the loss of a packet
    arriving in it and the share of time in it."""
    blocking, mean_n, sojourn, wait, loss, share, _busy = mmpp_queue_busy(
        generator, rates_pps, service_pps, system_packets)
    return blocking, mean_n, sojourn, wait, loss, share


def mmpp_queue_busy(generator: np.ndarray, rates_pps: np.ndarray, service_pps: np.ndarray,
                    system_packets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                         np.ndarray, np.ndarray, np.ndarray,
                                                         np.ndarray]:
    """``mmpp_queue`` (the same six results, computed alike) and, per phase [P, m], the
    probability that the server is busy while the chain is in it, P(N > 0 | phase j): the
    port's throughput in phase j is ``service_pps`` times it. That is the rate of the
    departure process of the MMPP/M/1/K queue conditioned on the arrival phase (its
    departures form a Markovian arrival process on the pairs (level, phase), Lucantoni
    1991, Stoch. Models 7; its phase-conditioned rates are the first moments that
    departure-process MMPP fits match, e.g. Ferng and Chang 2001, Perf. Eval. 43, Heindl
    2004): while the arrivals run above the service rate the port sends at line rate, and
    after such a phase its backlog keeps it busy (the output burst outlasts the input)."""
    out, m = _mmpp_solve(generator, rates_pps, service_pps, system_packets)
    return (out[:, 0], out[:, 1], out[:, 2], out[:, 3:3 + m], out[:, 3 + m:3 + 2 * m],
            out[:, 3 + 2 * m:3 + 3 * m], out[:, 3 + 3 * m:])


def _mmpp_solve(generator: np.ndarray, rates_pps: np.ndarray, service_pps: np.ndarray,
                system_packets: np.ndarray) -> tuple[np.ndarray, int]:
    gen = np.ascontiguousarray(generator, np.float64)
    lam = np.ascontiguousarray(rates_pps, np.float64)
    p, m = lam.shape
    k = np.broadcast_to(np.maximum(np.asarray(system_packets, np.float64), 1.0),
                        (p,)).astype(np.int64)
    mu = np.ascontiguousarray(np.broadcast_to(np.asarray(service_pps, np.float64), (p,)))
    out = np.zeros((p, 3 + 4 * m))
    _mmpp_kernel(gen, lam, mu, np.ascontiguousarray(k), out)
    return out, m


@njit(cache=True)
def _mmpp_kernel(gen: np.ndarray, lam: np.ndarray, mu: np.ndarray, k: np.ndarray,
                 out: np.ndarray) -> None:  # pragma: no cover
    p, m = lam.shape
    for i in range(p):
        kk = k[i]
        rs = np.zeros((kk, m, m))
        tail = np.zeros((m, m))
        up = np.diag(lam[i])
        for n in range(kk, 0, -1):
            block = gen[i].copy() + tail
            for j in range(m):
                block[j, j] -= mu[i] + (lam[i, j] if n < kk else 0.0)
            rn = up @ np.linalg.inv(-block)
            rs[n - 1] = rn
            tail = rn * mu[i]
        b0 = gen[i].copy() + tail
        for j in range(m):
            b0[j, j] -= lam[i, j]
        # left null vector of b0: solve x b0 = 0 with sum x = 1 (replace one equation)
        a = b0.T.copy()
        a[0, :] = 1.0
        rhs = np.zeros(m)
        rhs[0] = 1.0
        x = np.abs(np.linalg.solve(a, rhs))
        empty = x.copy()  # level 0, unnormalised (kept beside the rescaling below)
        total = x.sum()
        phase = x.copy()
        mean_n = 0.0
        seen = np.zeros(m)
        cur = x.copy()
        for n in range(1, kk + 1):
            cur = cur @ rs[n - 1]
            s = cur.sum()
            total += s
            mean_n += n * s
            phase += cur
            if n < kk:
                seen += n * cur
            if total > 1e250:
                f = 1e-250
                cur *= f
                total *= f
                mean_n *= f
                phase *= f
                seen *= f
                empty *= f
        full = cur / total
        empty /= total
        phase /= total
        seen /= total
        mean_n /= total
        arrivals = (phase * lam[i]).sum()
        blocking = (full * lam[i]).sum() / arrivals if arrivals > 0 else 0.0
        out[i, 0] = blocking
        out[i, 1] = mean_n
        admitted = arrivals * (1.0 - blocking)
        out[i, 2] = mean_n / admitted if admitted > 0 else 1.0 / mu[i]
        for j in range(m):
            free = phase[j] - full[j]
            out[i, 3 + j] = seen[j] / free / mu[i] if free > 0 else 0.0
            out[i, 3 + m + j] = full[j] / phase[j] if phase[j] > 0 else 0.0
            out[i, 3 + 2 * m + j] = phase[j]
            out[i, 3 + 3 * m + j] = 1.0 - empty[j] / phase[j] if phase[j] > 0 else 0.0
