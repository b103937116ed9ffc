"""Weighted fair queueing at an output port, and GPS's long-run shares: the waits of each
class (ports x classes) used by ``engine.qos.evaluate_class_queues``, whose notes give the
model (virtual clock, classes beyond their weight, coarse turns) and the choices."""

from __future__ import annotations

import numpy as np

from nettwin.engine.drr import DRR_CONSERVED_LOAD, DRR_PACKETS_PER_TURN

# WFQ with a turn coarser than DRR_PACKETS_PER_TURN (GNNet's simulator: the DRR quantum's
# time of the link rate) moves toward FIFO by (1 - (1.7 / k)^this) (1 - rho): chosen on NSFNET
# and the even-numbered GEANT2 samples (0.1 / 0.2 / 0.3 / 0.5), see "Choices"
WFQ_TURN_EXPONENT = 0.2


def water_fill(rho: np.ndarray, phi: np.ndarray, members: np.ndarray, capacity: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Long-run rates of GPS among ``members`` (bool [ports, classes]) on ``capacity``
    [ports]: a class that asks less than its weighted share of what is left gets what it
    asks, the rest share by weight. Returns the shares and which members are saturated."""
    share = np.zeros_like(rho)
    left = np.clip(capacity, 0.0, 1.0)
    pending = members.copy()

    def fair_share() -> np.ndarray:
        weight = np.where(pending, phi, 0.0).sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(pending, left[:, None] * phi / weight, 0.0)

    for _ in range(rho.shape[1]):
        fits = pending & (rho <= fair_share())
        if not fits.any():
            break
        share = np.where(fits, rho, share)
        left = left - np.where(fits, rho, 0.0).sum(axis=1)
        pending &= ~fits
    return np.where(pending, fair_share(), share), pending


def virtual_clock_waiting(rho: np.ndarray, carried: np.ndarray, service: np.ndarray,
                           phi: np.ndarray, residual: np.ndarray, own: np.ndarray, *,
                           rounds: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """WFQ waiting per class (virtual clock, see the module notes) and the load served
    strictly before each class, for ports [P] x classes [C]."""
    classes = rho.shape[1]
    ratio = rho / phi
    over = ratio >= 1.0
    idx = np.arange(classes)
    # strict[p, j, c]: j is always served before c (j within its weight and c beyond it, or
    # both beyond and j less so)
    oj, oc = over[:, :, None], over[:, None, :]
    rj, rc = ratio[:, :, None], ratio[:, None, :]
    lower = (rj < rc) | ((rj == rc) & (idx[:, None] < idx[None, :]))
    strict = (~oj & oc) | (oj & oc & lower)
    peers = ~oj & ~oc & (idx[:, None] != idx[None, :])  # both within their weights
    # a class within its weight stamps a packet (mean) delta_c after its arrival: its own
    # size at the weighted rate plus the waiting of a virtual M/G/1 queue served at phi_c
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(over, 1.0, service / phi
                         + own / phi ** 2 / np.maximum(1.0 - ratio, 1e-9))
    delta = np.maximum(delta, 1e-300)  # classes without traffic
    d_j, d_c = delta[:, :, None], delta[:, None, :]
    load_j = carried[:, :, None]
    ahead = (load_j * strict).sum(axis=1)
    # W_c (1 - rho_c - ahead_c): its own queue and the arrivals of classes strictly ahead
    self_coef = carried + ahead
    total = carried.sum(axis=1, keepdims=True)
    waiting = np.broadcast_to(residual / np.maximum(1.0 - total, 1e-3), rho.shape).copy()
    pair_share = d_c / (d_c + d_j)
    for _ in range(rounds):
        w_j = waiting[:, :, None]
        w_c = waiting[:, None, :]
        # stamps taken as exponential: a queued j packet (age ~ Exp(W_j)) is ahead with
        # probability 1 - d_j^2 / ((d_j + d_c)(d_j + W_j)); j arrivals during the wait
        # overtake for d_c / (d_c + d_j) * d_c W_c / (d_c + W_c) of it
        queued_ahead = 1.0 - d_j * d_j / ((d_j + d_c) * (d_j + w_j))
        overtake = pair_share * d_c * w_c / (d_c + w_c)
        queued = load_j * np.where(strict, w_j, np.where(peers, w_j * queued_ahead, 0.0))
        overtaking = load_j * np.where(peers, overtake, 0.0)
        new = (residual + queued.sum(axis=1) + overtaking.sum(axis=1)) / np.maximum(
            1.0 - self_coef, 1e-3)
        step = np.minimum(new, 1e6) - waiting
        waiting = waiting + step
        if (np.abs(step) <= 1e-7 * waiting).all():
            break
    # classes beyond their weight share what those within leave as GPS does (their stamps
    # move together); a saturated one is served at its share: free = 1 - interfering
    share, saturated = water_fill(rho, phi, over, 1.0 - (rho * ~over).sum(axis=1))
    ahead = np.where(saturated, 1.0 - share, ahead)
    return waiting, ahead


def coarse_turns(waiting: np.ndarray, carried: np.ndarray, residual: np.ndarray,
                  turn_packets: np.ndarray) -> np.ndarray:
    """WFQ waits where the scheduler's turn holds more than ``DRR_PACKETS_PER_TURN`` mean
    packets (``turn_packets`` [ports, 1]): moved toward FIFO's by the share
    (1 - (DRR_PACKETS_PER_TURN / k)^WFQ_TURN_EXPONENT) (1 - rho) below ``DRR_CONSERVED_LOAD``
    (see "Choices"); FIFO's wait R / (1 - rho) times (1 - rho) keeps the step finite."""
    total = carried.sum(axis=1, keepdims=True)
    fine = np.clip(DRR_PACKETS_PER_TURN / np.maximum(turn_packets, 1e-9), 0.0, 1.0)
    toward = (1.0 - fine ** WFQ_TURN_EXPONENT) * np.clip(1.0 - total, 0.0, 1.0)
    fifo = residual / np.maximum(1.0 - total, 1e-3)
    out: np.ndarray = np.where(total < DRR_CONSERVED_LOAD,
                               (1.0 - toward) * waiting + toward * fifo, waiting)
    return out
