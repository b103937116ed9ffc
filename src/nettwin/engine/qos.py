"""Per-class queueing: one queue per traffic class and port, scheduled FIFO, strict priority,
WFQ or DRR, with finite buffers; demands on explicit paths; losses thin downstream traffic.

Model (per port, classes c with Poisson arrivals lambda_c, service moments E[S_c], E[S_c^2],
rho_c = lambda_c E[S_c], weights phi_c summing to 1):

* R = sum_j lambda_j E[S_j^2] / 2 over the packets actually served (admitted), the residual
  work of the packet in service (non-preemptive).
* FIFO: every class waits R / (1 - rho), Pollaczek-Khinchine; past 90 % the port's whole
  load is one M/M/1/K (every class loses the same share, waits the same).
* Strict priority (class 0 first): W_c = R / ((1 - s_{c-1}) (1 - s_c)), Cobham's formula,
  s_c the load of classes 0..c.
* WFQ, packets stamped with finish tags against real time (virtual clock: stamp = max(arrival,
  previous stamp of the class) + size / (phi_c C), smallest stamp first; this is how the OMNeT++
  ground truth below behaves, see "Choices"). The stamp of a class-c packet lies D_c after its
  arrival: its size at the weighted rate plus the waiting of a virtual M/G/1 queue served at phi_c
  (load rho_c / phi_c), of mean delta_c = E[S_c] / phi_c + (R_c / phi_c^2) / (1 - rho_c / phi_c),
  R_c = lambda_c E[S_c^2]/2. A class beyond its weight (rho_c >= phi_c) runs its stamps ahead of
  real time without bound: it is served after every class within its weight. Classes beyond their
  weights share what the others leave as GPS would (their stamps move together): water-filling by
  weight; those it serves in full follow each other by rho / phi (Cobham among them), the others
  are saturated, their queue an M/M/1/K on their share (against the packet-by-packet virtual clock
  under overload: losses within 0.006, full-buffer waits within 6 %). Between classes within their
  weights, with the stamps and the age of a queued packet taken as exponential, a queued class-j
  packet is ahead of a class-c arrival with probability 1 - delta_j^2 / ((delta_j +
  delta_c)(delta_j + W_j)), and j's arrivals during the wait overtake for delta_c / (delta_c +
  delta_j) * delta_c W_c / (delta_c + W_c) of it:
      W_c (1 - rho_c - ahead_c) = R + sum_j rho_j (W_j p_jc + overtaking_jc),
  solved by fixed-point iteration. Equal stamps give FIFO exactly; far apart ones Cobham.
  Against a packet-by-packet virtual clock (``reference.port_sim``) the mean error is 7 %
  over random three-class ports.
* DRR, a GPS view: while class c is backlogged, class j takes at most its weight's
  worth of the server relative to c, so the load interfering with c is
  I_c = sum_j min(rho_j, rho_c phi_j / phi_c). Class c's own residual work drains at the
  share left to it, the others' part way (``DRR_OTHERS_DRAIN`` = 0.5: 0 is the fluid GPS
  view, 1 Cobham's last class; a class that has to build its deficit over several rounds
  waits behind more than the packet in service):
  W_c = (R_c / (1 - I_c) + (R - R_c) / (1 - I_c)^0.5) / (1 - I_c - rho_c),
  R_c = lambda_c E[S_c^2] / 2. Below a port load of 0.95 with no saturated class the waits
  are held to Kleinrock's conservation law (any work-conserving non-preemptive order:
  sum_c rho_c W_c = rho R / (1 - rho), the FIFO total), which fixes the sum and leaves the
  model only the split: with equal weights DRR is round robin, a polling system with
  k-limited service and no switchover, and the split is Boxma and Meister's (1987),
  W_c proportional to 1 - rho + rho_c / k (k = ``DRR_PACKETS_PER_TURN`` = 1.7: a quantum
  of the largest packet, 1.7 mean GNNet packets; the GPS view there makes the heaviest class
  the last, where the data set has it close to FIFO); with unequal weights the classes
  within their weight keep the GPS view and those beyond it (rho_c > phi_c) are cut to what
  the sum leaves them (never raised). A coarser quantum, k packets a turn
  (``drr_turn_packets``; GNNet's simulator scales its quantum with the link rate,
  ``io.gnnet.DRR_QUANTUM_S``), sends each class in longer bursts: round robin's split has
  k in it (against packet-by-packet DRR with 4 times the quantum, equal weights: 6.8 % mean
  error, 12.4 % with k = 1.7); with unequal weights the waits move toward FIFO's,
  W = f W_split + (1 - f) W_FIFO, f = sqrt(1.7 / k) for k above 1.7 (an empirical form
  chosen on the data set; against the same packet DRR 13.7 / 13.9 % mean error over two
  seeds of cases, 11.9 / 19.0 % without it). Against packet-by-packet DRR (quantum the largest
  packet for the heaviest weight, ``reference.port_sim``, the ports of tests/engine/
  test_qos.py) the mean error of the class waits falls from 10.4 / 12.9 / 22.7 % (GPS
  view, three seeds of cases) to 6.0 / 11.2 / 17.5 %, with equal weights from 22 % to 6 %.
  Loads are carried loads (after the class's own losses) so an overloaded class cannot
  starve the others twice. Past capacity the classes get GPS's long-run rates
  (``water_fill``): a class that asks more than its share is saturated, served at its share.
  It always has a quantum to send, so every round it takes its whole turn, T_s = Q_s / C
  (Q the quantum, the heaviest weight's scaled by phi / phi_max), and the other classes are
  a polling queue with vacations (``_drr_saturated_polling``): to class c the server is away
  between its turns for V, the saturated turns Delta = sum_s T_s and the other classes' work,
  E[V] = cycle (1 - rho_c), cycle = Delta / (1 - rho_u) (rho_u: the classes not saturated).
  While c is backlogged it sends Q_c a round and the round is Delta + T_c + sum_j min(rho_j
  cycle, T_j) (a fixed point): a packet's service is stretched to B = S cycle_c / T_c, and c
  is an M/G/1 queue with multiple vacations (Fuhrmann-Cooper decomposition), W = lambda
  E[B^2] / (2 (1 - lambda E[B])) + E[V^2] / (2 E[V]). Var V: a saturated turn is floor(n)
  or ceil(n) whole packets, n = T_s / E[S] (variance n Var S + E[S]^2 f (1 - f), f the
  fraction of n), the others' work compound Poisson over a cycle. A packet that finds c
  idle has no deficit (DRR drops it when a queue empties) and first waits ceil(L / Q_c) - 1
  whole rounds. The time away is left out of the arrival-variability scaling (it is the
  saturated classes' turns, not queueing). Variance: Takacs's second moment of the M/G/1
  part plus the residual time away taken as uniform (W_V^2 / 3). The capacity left to such a
  class (its finite buffer past 0.9, its completion time) is T_c / its backlogged round.
  Against packet-by-packet DRR at such ports (the classes that do not lose,
  tests/engine/test_qos.py) the mean error is 5-8 % with quanta of 1, 4 and 10 largest
  packets (fresh draws of ports: 6-12 %); the GPS share it replaced, with a round wait
  x_c phi_sat / phi_c, 19-29 %, 26-31 %, 45-56 %.
* Finite buffer: when a class's load on the capacity left to it (1 - I_c, or 1 - the load
  of the classes served strictly before it) passes 0.9, its queue is an M/M/1/K on that
  capacity (K = buffer + 1): waiting by Little's law on admitted packets, loss = blocking.
  Losses on a path thin the traffic seen downstream; a few fixed-point rounds settle it.
* Arrival variability (Whitt's QNA, ``arrival_variability``): traffic that crossed a busy
  port arrives smoother than Poisson. A port's departures have squared coefficient of
  variation rho^2 c_s^2 + (1 - rho^2); the stream that takes the share p of them to the next
  port has p c_d^2 + 1 - p; a port's arrivals mix its streams (and its local, Poisson,
  traffic) by rate, c_a^2. The waiting of a queue that is not full scales by
  (c_a^2 + c_s^2) / (1 + c_s^2) (Kingman's form; 1 for Poisson). A full queue's waiting is
  the buffer's and is left alone. Against a packet simulation of two ports in a row
  (``reference.port_sim.simulate_tandem``) this halves the error of the Poisson assumption.
  The departures carry their port's own arrival variability, c_d^2 = rho^2 c_s^2 +
  (1 - rho^2) c_a^2 (Whitt 1983, QNA's traffic variability equations, solved by fixed-point
  iteration, ``network_arrival_variability``): a stream smoothed by two busy ports in a row
  is smoother than one smoothed by one. Taking every port's arrivals as Poisson in c_d^2 (one
  pass) gave 2.09 % mean-delay MAPE on NSFNET (GEANT2 held out: 3.70 %); the full equations
  2.085 % (3.645 %). Link spacing (``link_spacing``): a stream that comes on a link no faster
  than the port it enters (C_in <= C_out) drops QNA's busy term rho^2 c_s^2 from its
  departures' variability (its back-to-back packets, spaced by L / C_in, cannot queue behind
  each other at a port that sends each in L / C_out); a faster link keeps the share
  1 - C_out / C_in. Against packet simulations of a FIFO port fed by 1-3 busy upstream
  ports (52 cases, speed ratios 0.25-2.5) the mean |error| of the waiting falls from 14.7 %
  (bias +14 %) to 5.7 % (+2 %). On GNNet it is chosen on the oracle, not on NSFNET, where it
  moves the one-hop WFQ ports below load 0.9 from +0.6..+1.2 % bias to -0.4..+0.2 % but the
  whole from 2.085 % to 2.105 % MAPE (bias +0.2 -> -0.4 %: DRR ports, whose GPS view waits
  too little, were offset by QNA's excess); GEANT2 (held out) 3.645 -> 3.455 %.
* Delay variance (jitter) per hop: the waiting time is zero with probability 1 - r and
  roughly exponential otherwise, r the probability that an arrival finds the server busy
  (the port's carried load, whatever the class: non-preemptive), so Var W = W^2 (2 - r) / r
  (the class's own load on the capacity left to it was the first choice of r: 58.6 % jitter
  MAPE on NSFNET against 35.5 %). A full finite queue (the M/M/1/K above, mean service
  s = E[S] / (1 - I)): an admitted packet finds n = 0..K-1 ahead with probability ~ rho^n and
  waits their n services, Var W = E[N_a] Var S_eff + Var N_a s^2 (``queueing.
  mm1k_admitted_wait_moments``: E[N_a] + Var N_a for exponential services; it was K s^2,
  right only far past capacity: near rho = 1 the queue length is uniform, Var N_a =
  (K^2 - 1) / 12). S_eff, a packet's service on the capacity left to it, is its
  transmission stretched by the interfering classes' work arriving meanwhile (completion
  time): Var S_eff = Var S / f^2 + E[S] I E[S_I^2] / E[S_I] / f^3, f = 1 - I floored at
  ``COMPLETION_FREE_FLOOR`` (chosen on NSFNET). Waiting times at successive hops are taken as
  independent; the demand's own transmission times L / C_i are one L at every hop, so their
  sds add up (``path_totals``). On GNNet (sd of the delay, MAPE, NSFNET / GEANT2 held out,
  compared as the 20 s horizon lets the simulator see them, ``io.gnnet.observed_delay_sd``):
  paths through a port past capacity 24.7 / 25.8 % with K s^2, 15.4 / 17.2 % with the
  M/M/1/K variance, 12.0 / 14.2 % with the completion time; paths without loss or overload,
  own transmission times independent 12.4 / 17.8 %, correlated 5.8 / 6.9 %.

Choices (made on the NSFNET samples of the GNNet 2020 data set; GEANT2 is the unseen topology;
per-pair mean-delay MAPE on NSFNET, delays seen up to the data set's 20 s): WFQ as a GPS-fluid
share like DRR 6.2 %, as strict priority by rho / phi 3.2 %, as the virtual clock above 2.95 %;
with arrival variability 2.6 % (applied to full queues too: 2.8 %); classes beyond their weight
sharing by weight once saturated (rather than strictly by rho / phi) 2.2 %; DRR's saturated
classes at their GPS share 2.16 %, with the turns the others wait behind them 2.09 %. DRR
below saturation (from 2.105 %, after QNA and link spacing): the conservation law with the GPS
split kept 2.065 %, with a flatter split (GPS waits to a power 0.25-0.5) 2.3-3.2 % (equal and
unequal weights err in opposite directions); round robin's split at equal-weight ports only,
GPS elsewhere, 2.015 % with k = 1 (Boxma-Meister's 1-limited), 1.997 % with k = 1.7 (k from 1
to 2.5: 2.015-1.992 %); the classes beyond their weight held to the conserved sum 1.983 %;
the others' residual draining part way 1.894 % (exponent 0.25 / 0.5 / 0.75 / 1: 1.920 /
1.894 / 1.912 / 1.951 %; without the cut of the classes beyond their weight 1.962 %; k = 1
or 2.5: 1.912 or 1.889 %, k stays 1.7, the quantum's own reading; conserved up to port load
0.9 / 0.95 / 0.999: 1.896 / 1.894 / 1.933 %); as coded 1.893 %, GEANT2 (held out) 3.455 ->
3.298 %, jitter 6.93 -> 6.70 % / 8.71 -> 8.58 %. DRR's quantum growing with the link rate
(seen on GEANT2's faster links, so chosen on NSFNET and the even-numbered GEANT2 samples, the
odd ones held out; NSFNET / GEANT2 even, MAPE): blending toward FIFO by (1.7 / k)^g with g =
0.25 / 0.5 / 0.75 / 1: 1.872 / 1.873 / 1.884 / 1.900 % and 2.829 / 2.744 / 2.809 / 2.902 %
(from 1.893 / 3.270 %); the quantum 0.085 / 0.17 / 0.34 s of the link rate: 1.885 / 1.873 /
2.093 % and 2.846 / 2.744 / 2.857 %; blending equal-weight ports too instead of putting k in
round robin's split 1.870 / 2.745 %. As coded 1.869 % / 2.738 %; GEANT2 odd (held out) 3.327
-> 2.825 % (median 1.60 -> 1.42 %), all GEANT2 3.298 -> 2.781 %; jitter 6.70 / 8.98 % (odd;
8.69 % before). Not taken: a packet of a class that does not lose waiting a whole turn of each
saturated class (k mean packets times phi_s / phi_max) instead of x_c phi_s / phi_c, 1.856 % /
2.633 % (the classes that do not lose at GEANT2's overloaded DRR ports are 15 % short), but
against packet DRR at ports with a saturated class their error grows from 33 to 37 % (4 times
the quantum: 45 to 54 %): the model of such ports missed packet DRR by a third either way.
The polling model with vacations that replaced it was built on packet DRR (the oracle), then
scored (NSFNET / GEANT2 even, mean-delay MAPE; the choice set together): the GPS share with a
round wait 1.869 / 2.738 % (2.396 %); the vacation model with the mean time away only 1.948 /
2.768 %, with the time away's variance 1.908 / 2.729 %, its vacation unscaled by arrival
variability 1.901 / 2.707 %, the backlogged round 1.886 / 2.660 % (2.355 %; packet DRR: 22.6
/ 28.7 / 52.2 % -> 6.9 / 6.9 / 7.0 % on the development draw); the fluid deficit wait in place
of ceil(L / Q_c) - 1 rounds 1.885 / 2.659 % (kept the packet one). Jitter through overloaded
ports with W^2 (2 - r) / r as the variance 12.1 / 15.0 %, with Takacs's 11.9 / 14.6 %. One-hop
pairs at saturated 10 kbit/s DRR ports move from bias -0.4 % to +2.4 % (NSFNET), those at 40
kbit/s (GEANT2) from -29 % to -14 %; NSFNET as a whole is 0.017 points worse, GEANT2 even
0.078 points better; with the capacity left to a polled class T_c / its backlogged round
(rather than the GPS view's) 1.873 / 2.646 % (2.342 %), as coded. GEANT2 odd (held out):
2.825 % before, 2.737 % for the candidate without that capacity (measured once, then the
capacity chosen on the choice set alone), 2.735 % for the code as it stands
(all GEANT2 2.781 -> 2.691 %), jitter 8.98 -> 8.93 %, through overloaded ports (all samples)
11.8 / 14.6 -> 11.9 / 14.5 %. Not taken: a class in its full-buffer regime (load on its GPS
capacity >= 0.9, not saturated) treated as saturated for the others' polling, 1.876 / 2.621 %
(NSFNET worse), and against packet DRR near capacity (ten ports, a class at 85-100 % of the
share left to it) 21.5 -> 24.8 % with a quantum of one largest packet, 95.7 -> 55.2 % with
four: there the waits below saturation are the problem (the blend toward FIFO for coarse
quanta gives a light class of heavy weight 4 times packet DRR's wait), not the polling.
The loss fixed point is damped (it swung between two states every other round: jitter MAPE 35 %
or 41 % by the parity of the round count). Before the conservation law, a polling (rounds) view, an
effective-rate view, their maximum and a self-clocked stamp view were tried in place of the GPS
view of DRR and were not better against a packet-by-packet DRR.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from nettwin.engine.queueing import mm1k_admitted_wait_moments, mm1k_blocking_and_mean

OVERLOAD_SWITCH = 0.9
# the completion-time variance of a full queue's packets grows as 1 / free^3; a class left less
# than this share is starved by classes that are themselves losing, whose work is bounded by
# their buffers: chosen on NSFNET (GEANT2 held out), see "Delay variance" above
COMPLETION_FREE_FLOOR = 0.3
DAMP = 0.5  # of the loss fixed point
# DRR (see "DRR" above), chosen on NSFNET (GEANT2 held out): the others' residual work ahead
# of a class drains at (1 - I)^this; an equal-weight port is k-limited polling with k packets
# a turn; waits are held to the conservation law up to this port load
DRR_OTHERS_DRAIN = 0.5
DRR_PACKETS_PER_TURN = 1.7
DRR_CONSERVED_LOAD = 0.95
DRR_CYCLE_ROUNDS = 30  # passes of the round of a backlogged class (geometric, rate sum rho_j)


class Scheduler(enum.IntEnum):
    """Scheduling policy of an output port."""

    FIFO = 0
    SP = 1
    WFQ = 2
    DRR = 3


@dataclass(frozen=True)
class ClassQueues:
    """Outcome per port and class."""

    waiting_s: np.ndarray  # [ports, classes]
    waiting_var_s2: np.ndarray  # [ports, classes]
    loss: np.ndarray  # [ports, classes]
    utilisation: np.ndarray  # [ports], offered


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


def _virtual_clock_waiting(rho: np.ndarray, carried: np.ndarray, service: np.ndarray,
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


def _drr_conserved(gps: np.ndarray, carried: np.ndarray, phi: np.ndarray,
                   residual: np.ndarray, saturated: np.ndarray, turn_packets: np.ndarray
                   ) -> np.ndarray:
    """DRR waiting held to the conservation law at ports below ``DRR_CONSERVED_LOAD`` with
    no saturated class (see "DRR" in the module notes); ``gps`` elsewhere. ``turn_packets``
    [ports, 1]: the quantum of the heaviest weight in mean packets."""
    total = carried.sum(axis=1, keepdims=True)
    ok = ~saturated.any(axis=1, keepdims=True) & (total < DRR_CONSERVED_LOAD)
    # sum_c rho_c W_c: the same under every work-conserving order (Kleinrock)
    work = total * residual / np.maximum(1.0 - total, 1e-3)
    # equal weights: round robin, k-limited polling (Boxma & Meister), W_c ~ 1 - rho + rho_c / k
    turns = np.where(carried > 0, 1.0 - total + carried / np.maximum(turn_packets, 1e-9), 0.0)
    turns_work = (carried * turns).sum(axis=1, keepdims=True)
    equal = np.ptp(phi, axis=1, keepdims=True) < 1e-9
    # unequal weights: classes beyond their weight take at most what the others leave
    over = carried > phi
    within = np.where(over, 0.0, carried * gps).sum(axis=1, keepdims=True)
    over_work = np.where(over, carried * gps, 0.0).sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        split = np.where(turns_work > 0, turns * work / turns_work, gps)
        scale = np.where(over_work > 0, np.clip((work - within) / over_work, 0.0, 1.0), 1.0)
    # unequal weights, coarser turns than DRR_PACKETS_PER_TURN: each class goes in longer
    # bursts, toward FIFO (an empirical form; round robin's split has k in it already)
    fine = np.sqrt(np.clip(DRR_PACKETS_PER_TURN / np.maximum(turn_packets, 1e-9), 0.0, 1.0))
    fifo = np.where(carried > 0, work / np.maximum(total, 1e-300), 0.0)
    weighted = fine * np.where(over, gps * scale, gps) + (1.0 - fine) * fifo
    return np.where(ok, np.where(equal, split, weighted), gps)


def _drr_saturated_polling(lam: np.ndarray, x: np.ndarray, x2: np.ndarray,
                           carried: np.ndarray, phi: np.ndarray, saturated: np.ndarray,
                           turn_packets: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Waiting of the classes that are not saturated at a DRR port with a saturated class:
    a polling queue with vacations (see "DRR" in the module notes). ``turn_packets``
    [ports, 1]: the quantum of the heaviest weight in the port's mean packets. Returns the
    mean waits, their part that is time away (not scaled by arrival variability), their
    variances, where they apply, and the capacity left to each (T_c / its backlogged round)."""
    n_port = lam.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        port_x = np.where(n_port > 0, (lam * x).sum(axis=1, keepdims=True) / n_port, 0.0)
    turn_s = turn_packets * port_x * phi / phi.max(axis=1, keepdims=True)  # Q_c / C
    delta = np.where(saturated, turn_s, 0.0).sum(axis=1, keepdims=True)
    polled = ~saturated & (lam > 0)
    rho = np.where(polled, carried, 0.0)
    cycle = delta / np.maximum(1.0 - rho.sum(axis=1, keepdims=True), 1e-3)
    away = cycle * (1.0 - rho)
    t_c = np.maximum(turn_s, 1e-300)
    # while c is backlogged: cycle = Delta + T_c + sum_j min(rho_j cycle, T_j), increasing
    # from Delta + T_c to its fixed point
    t_j = np.where(polled, turn_s, 0.0)[:, None, :]
    rho_j = rho[:, None, :] * (1.0 - np.eye(rho.shape[1]))
    busy_cycle = delta + t_c
    for _ in range(DRR_CYCLE_ROUNDS):
        busy_cycle = delta + t_c + np.minimum(rho_j * busy_cycle[:, :, None], t_j).sum(axis=2)
    stretch = busy_cycle / t_c
    busy = np.minimum(rho * stretch, 0.999)
    # variance of the time away: a saturated class's turn is floor(n) or ceil(n) whole
    # packets, n = T_s / E[S]; the others send what arrived in a cycle (compound Poisson)
    var_s = np.maximum(x2 - x * x, 0.0)
    n_turn = turn_s / np.maximum(x, 1e-300)
    frac = n_turn - np.floor(n_turn)
    turn_var = np.where(saturated & (lam > 0), n_turn * var_s + x * x * frac * (1.0 - frac), 0.0)
    others = np.where(polled, lam * x2, 0.0)
    away_var = turn_var.sum(axis=1, keepdims=True) + cycle * (
        others.sum(axis=1, keepdims=True) - others)
    residual_away = away / 2 + away_var / (2 * np.maximum(away, 1e-300))
    # M/G/1 with B = S cycle / T_c (plus the rounds' variance, L / Q_c rounds a packet)
    queue = lam * (x2 * stretch ** 2 + x / t_c * away_var) / (2 * (1.0 - busy))
    # a packet that finds c idle has no deficit: ceil(L / Q_c) - 1 whole rounds before it
    # fits (sizes as a two-point law, mean +- sd: GNNet's 300 / 1,700 bits exactly)
    sd = np.sqrt(var_s)
    pre = 0.5 * (np.maximum(np.ceil((x - sd) / t_c - 1e-9) - 1.0, 0.0)
                 + np.maximum(np.ceil((x + sd) / t_c - 1e-9) - 1.0, 0.0))
    vacation = residual_away + (1.0 - busy) * pre * cycle
    # Takacs: E[W_q^2] = 2 W_q^2 + lambda E[B^3] / (3 (1 - rho)), E[S^3] = m^3 + 3 m sd^2 for
    # the two-point law; the time away is about uniform over a nearly constant round
    variance = (queue ** 2 + lam * (x ** 3 + 3 * x * var_s) * stretch ** 3 / (3 * (1.0 - busy))
                + vacation ** 2 / 3)
    use = saturated.any(axis=1, keepdims=True) & polled & (delta > 0)
    return (np.where(use, queue + vacation, 0.0), np.where(use, vacation, 0.0),
            np.where(use, variance, 0.0), use, 1.0 / stretch)


def evaluate_class_queues(arrival_pps: np.ndarray, service_s: np.ndarray,
                          service_sq_s2: np.ndarray, scheduler: np.ndarray,
                          weights: np.ndarray, buffer_packets: np.ndarray,
                          carried_fraction: np.ndarray | None = None,
                          arrival_scv: np.ndarray | None = None,
                          drr_turn_packets: np.ndarray | None = None) -> ClassQueues:
    """Waiting time and loss of every class queue of every port (all arrays [ports, classes]
    but ``scheduler`` [ports]); ``carried_fraction`` is 1 - loss from a previous round;
    ``arrival_scv`` [ports], the squared coefficient of variation of the arrivals (1:
    Poisson, the default), scales the waiting of queues that are not full (see
    ``arrival_variability``); ``drr_turn_packets`` [ports], the DRR quantum of the heaviest
    weight in mean packets (default ``DRR_PACKETS_PER_TURN``, a quantum of the largest
    packet)."""
    lam = np.asarray(arrival_pps, dtype=np.float64)
    x = np.asarray(service_s, dtype=np.float64)
    x2 = np.asarray(service_sq_s2, dtype=np.float64)
    sched = np.asarray(scheduler)
    rho = lam * x
    keep = carried_fraction if carried_fraction is not None else 1.0
    carried = rho * keep
    own = lam * keep * x2 / 2
    residual = own.sum(axis=1)[:, None]  # packets actually served
    phi = np.maximum(np.asarray(weights, dtype=np.float64), 1e-9)
    fifo_p = (sched == Scheduler.FIFO)[:, None]
    sp_p = (sched == Scheduler.SP)[:, None]
    wfq_p = (sched == Scheduler.WFQ)[:, None]
    # DRR (GPS view): load interfering with c while c is backlogged
    share = np.minimum(carried[:, None, :], rho[:, :, None] * phi[:, None, :] / phi[:, :, None])
    gps_load = share.sum(axis=2) - np.diagonal(share, axis1=1, axis2=2)
    # strict priority: the classes before c
    before = np.cumsum(carried, axis=1) - carried
    others = carried.sum(axis=1, keepdims=True) - carried  # FIFO: everyone else
    interfering = np.where(fifo_p, others, np.where(sp_p, before, gps_load))
    waiting_wfq = np.zeros_like(rho)
    if wfq_p.any():
        rows = np.nonzero(wfq_p[:, 0])[0]
        w, ahead = _virtual_clock_waiting(rho[rows], carried[rows], x[rows], phi[rows],
                                          residual[rows], own[rows])
        waiting_wfq[rows] = w
        interfering[rows] = ahead
    drr_p = (sched == Scheduler.DRR)[:, None]
    vacation = np.zeros_like(rho)  # waiting that the arrivals' variability does not scale
    polled = np.zeros(rho.shape, dtype=bool)
    if drr_p.any():  # past capacity, GPS rates: a saturated class is served at its share
        gps_share, saturated = water_fill(rho, phi, np.broadcast_to(drr_p, rho.shape),
                                          np.ones(rho.shape[0]))
        interfering = np.where(saturated, 1.0 - gps_share, interfering)
    interfering = np.minimum(interfering, 0.999)
    free = 1.0 - interfering
    with np.errstate(divide="ignore", invalid="ignore"):
        cobham = residual / (free * np.maximum(free - rho, 1e-3))
        gps = (own / free + (residual - own) / free ** DRR_OTHERS_DRAIN) / np.maximum(
            free - rho, 1e-3)
        fifo = residual / np.maximum(1.0 - carried.sum(axis=1, keepdims=True) + carried - rho,
                                     1e-3)
    if drr_p.any():
        turn = np.full(rho.shape[0], DRR_PACKETS_PER_TURN) if drr_turn_packets is None else \
            np.asarray(drr_turn_packets, dtype=np.float64)
        gps = _drr_conserved(gps, carried, phi, residual, saturated, turn[:, None])
        # the others at a port with a saturated class: a polling queue with vacations
        polled_w, vacation, polled_var, polled, polled_share = _drr_saturated_polling(
            lam * keep, x, x2, carried, phi, saturated, turn[:, None])
        polled &= drr_p
        gps = np.where(polled, polled_w, gps)
        vacation = np.where(polled, vacation, 0.0)
    waiting = np.where(fifo_p, fifo, np.where(sp_p, cobham, np.where(wfq_p, waiting_wfq, gps)))
    if drr_p.any():  # a polled class's capacity is its turn's share of its round
        free = np.where(polled, np.clip(polled_share, 1e-3, 1.0), free)
    rho_eff = rho / free
    # an arrival waits when the server is busy, whatever the class (non-preemptive)
    load = np.clip(np.broadcast_to(carried.sum(axis=1, keepdims=True), rho.shape), 1e-6, 0.999)
    variance = waiting ** 2 * (2.0 - load) / load
    if drr_p.any():
        variance = np.where(polled, polled_var, variance)
    blocking, mean_n = mm1k_blocking_and_mean(rho_eff, np.asarray(buffer_packets) + 1.0)
    admitted = lam * (1.0 - blocking)
    service_left = x / free
    with np.errstate(divide="ignore", invalid="ignore"):
        finite = np.where(admitted > 0, mean_n / admitted - service_left, 0.0)
    full = rho_eff >= OVERLOAD_SWITCH
    # jitter of a full queue: the admitted packets' wait in the same M/M/1/K, in services
    ahead_n, ahead_var = mm1k_admitted_wait_moments(rho_eff, np.asarray(buffer_packets) + 1.0)
    # a packet's service on the capacity left to it is its own transmission stretched by the
    # interfering classes' work that arrives meanwhile (completion time: variance
    # Var S / free^2 + E[S] I E[S_I^2] / E[S_I] / free^3, S_I the port's packets)
    with np.errstate(divide="ignore", invalid="ignore"):
        work = (lam * x).sum(axis=1, keepdims=True)
        m2_m1 = np.where(work > 0, (lam * x2).sum(axis=1, keepdims=True) / work, 0.0)
    service_var = (np.maximum(x2 - x * x, 0.0) / free ** 2
                   + x * interfering * m2_m1 / np.maximum(free, COMPLETION_FREE_FLOOR) ** 3)
    if fifo_p.any():  # one shared order: the port's whole load is one M/M/1/K
        total = rho.sum(axis=1, keepdims=True)
        n_all = lam.sum(axis=1, keepdims=True)
        mean_x = (lam * x).sum(axis=1, keepdims=True) / np.maximum(n_all, 1e-300)
        k_port = np.max(np.broadcast_to(np.asarray(buffer_packets, dtype=np.float64),
                                        rho.shape), axis=1, keepdims=True) + 1.0
        b_all, n_sys = mm1k_blocking_and_mean(total, k_port)
        with np.errstate(divide="ignore", invalid="ignore"):
            shared = np.where(n_all > 0, n_sys / (n_all * (1.0 - b_all)) - mean_x, 0.0)
        blocking = np.where(fifo_p, b_all, blocking)
        finite = np.where(fifo_p, shared, finite)
        service_left = np.where(fifo_p, mean_x, service_left)
        full = np.where(fifo_p, total >= OVERLOAD_SWITCH, full)
        port_n, port_var = mm1k_admitted_wait_moments(total, k_port)
        ahead_n = np.where(fifo_p, port_n, ahead_n)
        ahead_var = np.where(fifo_p, port_var, ahead_var)
        service_var = np.where(fifo_p, port_service_scv(lam, x, x2)[:, None] * mean_x ** 2,
                               service_var)
    if arrival_scv is not None:
        service_scv = port_service_scv(lam, x, x2)
        scale = (np.asarray(arrival_scv) + service_scv) / (1.0 + service_scv)
        waiting = (waiting - vacation) * scale[:, None] + vacation
    waiting = np.where(full, np.maximum(finite, 0.0), waiting)
    # W = the services of the N_a packets found: E[N_a] Var S + Var N_a E[S]^2 (ahead_var is
    # E[N_a] + Var N_a, the exponential service's)
    full_var = ahead_n * service_var + (ahead_var - ahead_n) * service_left ** 2
    variance = np.where(full, full_var, variance)
    waiting = np.where(lam > 0, waiting, 0.0)
    variance = np.where(lam > 0, variance, 0.0)
    return ClassQueues(waiting, variance, np.where(lam > 0, blocking, 0.0), rho.sum(axis=1))


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


@dataclass(frozen=True, eq=False)
class PathDemands:
    """Demands pinned to explicit paths (segment routing, static routes, simulator routing)."""

    path_ptr: np.ndarray  # arcs of demand d: path_arc[path_ptr[d]:path_ptr[d+1]]
    path_arc: np.ndarray
    traffic_class: np.ndarray  # [demands]
    packets_per_s: np.ndarray  # [demands]
    size_mean_bits: np.ndarray  # [demands]
    size_second_moment_bits2: np.ndarray  # [demands]


@dataclass(frozen=True, eq=False)
class PathResult:
    delay_s: np.ndarray  # mean delay of delivered packets, per demand
    delay_var_s2: np.ndarray  # variance of the delay (jitter), per demand
    loss: np.ndarray  # per demand
    queues: ClassQueues


def path_reach(ptr: np.ndarray, passed: np.ndarray) -> np.ndarray:
    """Share of a path's traffic that reaches each of its arcs: ``passed`` per arc in path
    order, paths laid end to end as ``ptr`` says (path i: ``ptr[i]:ptr[i+1]``)."""
    keep = np.log(np.maximum(passed, 1e-300))
    cum = np.cumsum(keep)
    start = np.repeat(cum[ptr[:-1]] - keep[ptr[:-1]], np.diff(ptr))
    out: np.ndarray = np.exp(cum - keep - start)
    return out


def path_follows(ptr: np.ndarray) -> np.ndarray:
    """Per arc of paths laid end to end (``ptr``): whether an arc of the same path comes
    before it — the arc pairs ``(arc[i - 1], arc[i])`` a path's traffic turns through."""
    follows = np.ones(int(ptr[-1]), bool)
    follows[ptr[:-1][ptr[:-1] < ptr[-1]]] = False
    return follows


def path_totals(owner: np.ndarray, paths: int, hop_delay_s: np.ndarray,
                hop_var_s2: np.ndarray, hop_passed: np.ndarray,
                hop_common_sd_s: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per path (``owner`` of each hop): delay and its variance summed over the hops, hops
    taken as independent, and the share lost on the way. ``hop_common_sd_s``: the standard
    deviation of a part of each hop's delay that is one random quantity scaled per hop (a
    packet's own transmission time, L / C_i: the same L at every hop), fully correlated
    along the path: its variance is (sum of the sds)^2, not the sum of the variances."""
    delay = np.bincount(owner, weights=hop_delay_s, minlength=paths)
    variance = np.bincount(owner, weights=hop_var_s2, minlength=paths)
    if hop_common_sd_s is not None:
        variance = variance + np.bincount(owner, weights=hop_common_sd_s, minlength=paths) ** 2
    survive = np.exp(np.bincount(owner, weights=np.log(np.maximum(hop_passed, 1e-300)),
                                 minlength=paths))
    return delay, variance, 1.0 - survive


def simulate_paths(demands: PathDemands, capacity_bps: np.ndarray, scheduler: np.ndarray,
                   weights: np.ndarray, buffer_packets: np.ndarray, *, rounds: int = 20,
                   smooth_arrivals: bool = True, drr_quantum_bits: np.ndarray | None = None
                   ) -> PathResult:
    """Per-class loads, waiting and loss on every port, then per-demand delay and loss
    (``smooth_arrivals=False``: every port's arrivals taken as Poisson; ``drr_quantum_bits``
    [ports], the DRR quantum of the heaviest weight, by default one largest packet)."""
    n_arcs, classes = weights.shape
    lengths = np.diff(demands.path_ptr)
    owner = np.repeat(np.arange(lengths.size), lengths)
    arcs = demands.path_arc
    cls = demands.traffic_class[owner]
    pps = demands.packets_per_s[owner]
    cap = np.asarray(capacity_bps, dtype=np.float64)
    # per-port, per-class size moments: traffic-weighted over the demands in the class
    bits = np.zeros((n_arcs, classes))
    bits2 = np.zeros((n_arcs, classes))
    count = np.zeros((n_arcs, classes))
    np.add.at(count, (arcs, cls), pps)
    np.add.at(bits, (arcs, cls), pps * demands.size_mean_bits[owner])
    np.add.at(bits2, (arcs, cls), pps * demands.size_second_moment_bits2[owner])
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(count > 0, bits / count, 0.0)
        second = np.where(count > 0, bits2 / count, 0.0)
    x = mean / cap[:, None]
    x2 = second / cap[:, None] ** 2
    turn = None
    if drr_quantum_bits is not None:  # in the port's mean packets
        with np.errstate(divide="ignore", invalid="ignore"):
            port_bits = np.where(count.sum(axis=1) > 0, bits.sum(axis=1) / count.sum(axis=1),
                                 np.inf)
        turn = np.asarray(drr_quantum_bits, dtype=np.float64) / port_bits
    reach = np.ones(arcs.size)  # share of a demand's packets that reach each hop
    carried = np.ones((n_arcs, classes))
    queues = None
    for r in range(max(1, rounds)):
        lam = np.zeros((n_arcs, classes))
        np.add.at(lam, (arcs, cls), pps * reach)
        queues = evaluate_class_queues(lam, x, x2, scheduler, weights, buffer_packets, carried,
                                       drr_turn_packets=turn)
        # damped: a class that stops losing frees capacity that makes another lose, and back
        before = carried
        carried = 1.0 - queues.loss if r == 0 else DAMP * carried + (1.0 - DAMP) * (
            1.0 - queues.loss)
        if r > 0 and np.abs(carried - before).max() < 1e-9:
            break
        reach = path_reach(demands.path_ptr, carried[arcs, cls])
    assert queues is not None
    scv = None
    if smooth_arrivals:  # arrivals smoothed by the ports before: evaluated once more
        step = np.nonzero(path_follows(demands.path_ptr))[0]
        pair, inverse = np.unique(arcs[step - 1] * n_arcs + arcs[step], return_inverse=True)
        port_pps = np.bincount(arcs, weights=pps * reach, minlength=n_arcs)
        scv = network_arrival_variability(
            port_pps, (lam * x).sum(axis=1), port_service_scv(lam, x, x2), pair // n_arcs,
            pair % n_arcs, np.bincount(inverse, weights=(pps * reach)[step]),
            stream_spacing=link_spacing(cap[pair // n_arcs], cap[pair % n_arcs]))
    queues = evaluate_class_queues(lam, x, x2, scheduler, weights, buffer_packets, carried,
                                   scv, turn)
    own_var = np.maximum(demands.size_second_moment_bits2[owner]
                         - demands.size_mean_bits[owner] ** 2, 0.0) / cap[arcs] ** 2
    delay, variance, loss = path_totals(
        owner, lengths.size, queues.waiting_s[arcs, cls] + demands.size_mean_bits[owner]
        / cap[arcs], queues.waiting_var_s2[arcs, cls], 1.0 - queues.loss[arcs, cls],
        np.sqrt(own_var))
    return PathResult(delay, variance, loss, queues)
