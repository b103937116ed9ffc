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
