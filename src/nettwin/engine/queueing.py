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
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np


class QueueModel(enum.Enum):
    """Which queueing formula gives per-arc delay and loss."""

    MM1 = "mm1"
    MD1 = "md1"
    MG1 = "mg1"
    MM1K = "mm1k"


# Simple IMIX (7 x 40 B, 4 x 576 B, 1 x 1500 B): mean 340.33 B, squared CV 1.587.
IMIX_MEAN_PACKET_BYTES = (7 * 40 + 4 * 576 + 1500) / 12
IMIX_PACKET_SCV = ((7 * 40**2 + 4 * 576**2 + 1500**2) / 12) / IMIX_MEAN_PACKET_BYTES**2 - 1


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


class ArrivalModel(enum.Enum):
    """How a port's arrivals are described: the textbook Poisson stream, or the bursty
    (MMPP) description built from every demand's own arrival process (``engine.arrivals``)."""

    POISSON = "poisson"
    BURSTY = "bursty"


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
                to_high_per_s: np.ndarray, service_pps: np.ndarray, system_packets: np.ndarray,
                *, chunk: int = 256) -> MMPPQueues:
    """MMPP2/M/1/K, solved exactly (linear level reduction of the finite QBD), vectorised
    over ports. Arrivals at ``rate_high_pps`` while the modulating chain is high (left at
    ``to_low_per_s``) and ``rate_low_pps`` while it is low (left at ``to_high_per_s``);
    exponential service at ``service_pps``; at most ``system_packets`` (K) in the system.
    With equal rates it is M/M/1/K. Ports go in chunks of similar K (memory K x chunk)."""
    args = [np.atleast_1d(np.asarray(v, float)) for v in (
        rate_high_pps, rate_low_pps, to_low_per_s, to_high_per_s, service_pps, system_packets)]
    args = list(np.broadcast_arrays(*args))
    order = np.argsort(args[5], kind="stable")
    parts = [_mmpp2_chunk(*(a[order[i:i + chunk]] for a in args))
             for i in range(0, order.size, chunk)]
    if not parts:
        z = np.zeros(0)
        return MMPPQueues(z, z, z, np.zeros((0, 2)), np.zeros((0, 2)), np.zeros((0, 2)))
    out = {}
    for name in MMPPQueues.__dataclass_fields__:
        joined = np.concatenate([getattr(q, name) for q in parts])
        back = np.empty_like(joined)
        back[order] = joined
        out[name] = back
    return MMPPQueues(**out)


def _mmpp2_chunk(rate_high_pps: np.ndarray, rate_low_pps: np.ndarray,
                 to_low_per_s: np.ndarray, to_high_per_s: np.ndarray, service_pps: np.ndarray,
                 system_packets: np.ndarray) -> MMPPQueues:
    lam = np.stack([np.asarray(rate_high_pps, float), np.asarray(rate_low_pps, float)], -1)
    a = np.asarray(to_low_per_s, float)
    b = np.asarray(to_high_per_s, float)
    mu = np.asarray(service_pps, float)
    k = np.maximum(np.asarray(system_packets, float).astype(np.int64), 1)
    p = lam.shape[0]
    big_k = int(k.max()) if p else 1
    # phase generator R (rows: from high, from low)
    r = np.zeros((p, 2, 2))
    r[:, 0, 0], r[:, 0, 1], r[:, 1, 0], r[:, 1, 1] = -a, a, b, -b
    eye = np.eye(2)[None]

    def diag_block(level: np.ndarray) -> np.ndarray:
        up = np.where((level < k)[:, None], lam, 0.0)
        down = np.where(level > 0, mu, 0.0)
        out: np.ndarray = r - up[:, :, None] * eye - down[:, None, None] * eye
        return out

    def inv2(m: np.ndarray) -> np.ndarray:
        det = m[:, 0, 0] * m[:, 1, 1] - m[:, 0, 1] * m[:, 1, 0]
        out = np.empty_like(m)
        out[:, 0, 0], out[:, 1, 1] = m[:, 1, 1], m[:, 0, 0]
        out[:, 0, 1], out[:, 1, 0] = -m[:, 0, 1], -m[:, 1, 0]
        result: np.ndarray = out / det[:, None, None]
        return result

    # backward: pi_{n+1} = pi_n R_n, R_{n-1} = U (-(B_n + R_n D))^-1, R_{K-1} = U (-B_K)^-1
    rs = np.zeros((big_k, p, 2, 2))
    tail = np.zeros((p, 2, 2))  # R_n D for the level above (zero at the top)
    for n in range(big_k, 0, -1):
        level = np.full(p, n)
        active = n <= k  # ports whose top is at or above this level
        block = diag_block(level) + tail
        rn = lam[:, :, None] * inv2(-block)  # U = diag(lam)
        at_top = n == k
        rn = np.where(at_top[:, None, None], lam[:, :, None] * inv2(-diag_block(level)), rn)
        rn = np.where(active[:, None, None], rn, 0.0)
        rs[n - 1] = rn
        tail = np.where(active[:, None, None], rn * mu[:, None, None], 0.0)
    b0 = diag_block(np.zeros(p)) + tail
    # pi_0 (B_0 + R_0 D) = 0: the left null vector of a 2x2 matrix with zero row sums
    pi0 = np.stack([b0[:, 1, 0], -b0[:, 0, 0]], -1)
    pi0 = np.where(np.abs(pi0).sum(-1, keepdims=True) > 0, pi0, np.array([0.5, 0.5]))
    pi0 = np.abs(pi0) / np.abs(pi0).sum(-1, keepdims=True)
    levels = np.zeros((big_k + 1, p, 2))
    levels[0] = pi0
    scale = np.zeros(p)  # log of the rescaling applied so far (overloaded ports grow)
    for n in range(1, big_k + 1):
        nxt = np.einsum("pi,pij->pj", levels[n - 1], rs[n - 1])
        levels[n] = nxt
        huge = nxt.max(-1) > 1e200
        if huge.any():
            levels[: n + 1, huge] *= 1e-200
            scale[huge] += 200
    total = levels.sum(axis=(0, 2))
    levels /= total[None, :, None]
    n_idx = np.arange(big_k + 1)[:, None]
    mean_n = (levels.sum(-1) * n_idx).sum(0)
    full = levels[k, np.arange(p)]  # [P, 2] at level K
    phase = levels.sum(0)  # [P, 2]
    arrivals = (phase * lam).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        blocking = np.where(arrivals > 0, (full * lam).sum(-1) / arrivals, 0.0)
        block_phase = np.where(phase > 0, full / phase, 0.0)
        # an admitted arrival in phase j finds n in system (n < K): waits n / mu
        seen = (levels * n_idx[:, :, None]).sum(0) - full * k[:, None]
        wait_phase = np.where(phase - full > 0, seen / (phase - full) / mu[:, None], 0.0)
        admitted = arrivals * (1.0 - blocking)
        sojourn = np.where(admitted > 0, mean_n / admitted, 1.0 / mu)
    return MMPPQueues(blocking, mean_n, sojourn, wait_phase, block_phase, phase)
