"""Bursty arrivals across a network: every demand's arrival process as a two-state MMPP,
superposed at each port, queued as MMPP/M/1/K with finite buffers, carried port to port.

A demand's arrivals are a Markov-modulated Poisson process with two states (``engine.bursts``):
rate ``high_ratio x mean`` for exponential periods of mean ``high_s``, ``low_ratio x mean``
for periods of mean ``low_s``. Poisson is ``high_ratio = low_ratio = 1``; an on-off source
(interrupted Poisson) has ``low_ratio = 0`` and ``high_ratio = (on + off) / on``; a measured
index of dispersion I with a correlation time tau is the symmetric MMPP with the same rate
variance ``(I - 1) mean / (2 tau)`` (the packet-count variance over long windows).

At a port (FIFO, one buffer of K packets including the one in service):

* Superposition: the rate processes of independent streams add, so their mean, variance,
  third central moment and the area under their autocovariance (variance x correlation time)
  add. A two-state MMPP is fitted to these four sums (Heffes-Lucantoni style: mean, variance
  and skewness give the two rates and the time share, the area the switching speed); a
  stream that needs a negative low rate keeps its mean and variance with a zero low rate.
  ``simulate`` (ECMP, moments routed like loads) uses this one fit per arc; on explicit
  paths (``evaluate_paths``) a port keeps its three burstiest sources exactly, each its own
  two-state chain, and fits only the rest (16 phases in all). A source is a stream that
  enters the network there, or all the bursty streams that come from one upstream port u,
  superposed and fitted as one MMPP2 whose high rate is at most the FIFO share of u's
  capacity it can take (h x_u / (h x_u + others at u) of it): streams that left one port
  together never arrive faster than it sends (independent streams' peaks would add).
* Queue: MMPP/M/1/K solved exactly (``queueing.mmpp_queue``): the loss and the wait of a
  packet arriving in each phase. On explicit paths each phase's arrivals are counted in
  packets of the port's mean size (the work they bring: a stream with larger packets weighs
  more in the bursts it makes).
* Packet sizes: what an exact M/G/1/K adds to the M/M/1/K at the port's load is added to the
  MMPP queue's wait and loss (heavy-traffic theory adds the two variabilities: the wait grows
  with (I_a + c_s^2) / 2). Given each demand's size law (``size_law``), the M/G/1/K takes
  the mixture of the streams' own laws (``engine.mg1k``: a DropTail buffer counts packets,
  and a small loss is the tail of the arrivals during a service, which two moments do not
  fix); otherwise the two-moment fit of the port's mixture. The size term is taken in
  each phase of the port's chain: at the phase's own rate for the share stay / (stay + K x)
  (a phase long enough to fill the buffer settles there, and a full buffer of fixed-size
  packets waits about as long as one of exponential ones), at the mean load for the rest
  (phases that switch within a queue's build-up). One on-off source of fixed-size packets
  whose bursts overload the port: the mean-load term alone under-predicts the wait by
  10-16 %, each phase's own by +8 %, the blend by 4 % (tests).
* Per stream: a stream's packets meet each phase in proportion to the time there times its
  rate there (its own chain, or for the fitted rest the regression of its rate on the
  group's, covariance = its own variance), so a Poisson stream sees time averages (PASTA).
* Arrival variability on the packet scale (Whitt's QNA, ``qna.arrival_variability``): traffic
  that left a busy port with regular packet sizes arrives smoother than Poisson, irregular
  sizes rougher; the M/G/1/K wait is scaled by (c_a^2 + c_s^2) / (1 + c_s^2) (the difference
  added, as the size term is).
* From port to port: a stream keeps its own description (lightly loaded ports pass bursts
  through unchanged); a port that cannot carry a stream's peak with the others' mean load
  is backlogged while the burst lasts and, FIFO, serves the stream in proportion to what
  it brings (peak / (peak + others) of the capacity): it clips the stream to that and
  stretches the burst (mean and cycle kept). What the port drops of a clipped burst
  shortens the burst, not the rate: while it lasts the stream still leaves at its share of
  the capacity (the peak, relative to the thinned mean, is the share / (1 - loss)); losses
  of streams not clipped thin them. A port that carries the peak beside the others' mean
  still falls behind when their bursts coincide: there the stream is clipped to the rate the
  port sends it at while it is high, from the port's own MMPP/M/1/K solution
  (``queue_room``: the busy probability of each phase, the FIFO share of it), and not
  taken for a back-to-back train. Losses and clipping settle by a few damped fixed-point
  rounds.
* Clipped bursts arrive back to back: in its high state a stream clipped at the port
  before is that port's backlogged output, the gap before a packet its own transmission
  there (plus the other packets in between), not exponential. Counting the lag-one
  covariance of Lindley's increments (Kingman), its variability relative to Poisson is
  q (r - 1)^2 c_s^2 / (1 + r^2 c_s^2) + 1 - q (r = C_u / C_j, q its share of u's
  departures); only packets behind their own stream's are spaced (a stream with the share p
  of a phase's arrivals takes p^2), only the packet-scale part of a phase's wait (at most
  its M/M/1 wait, phases the port can carry) shrinks, and never below the train's own
  wait (``back_to_back_train_wait``, behind a port no faster: the Lindley chain of a tandem
  with identical service times, Boxma 1979, from an empty queue over a train of the burst's
  packets; a packet waits behind the largest earlier one of its train, not just the one
  before) or, behind a faster port, the wait behind the packet just before,
  E[(S_b^j - S_a^u)^+]; the other packets of the phase (not right behind their own
  stream) never below the residual work of the one in service. A clipped burst stays a
  train through the ports after it that do not clip it again, spaced by the slowest port it
  crossed since (light traffic: a faster port passes packets on as they came); so are a
  tandem pair's packets (``tandem_pairs``).
* Packets keep their size from hop to hop (``tandem_exact``): a port's Poisson transit
  hops are grouped by the port they come from; each group's packets left u spaced by their
  own transmissions there (equal sizes after a link no faster never queue behind one
  another, variable sizes bunch small packets behind a large one, trains queue where j's
  other traffic leaves too little room). The two Lindley recursions of the tandem (Boxma
  1979) are run on one fixed sample per group, with u's other traffic and j's other
  traffic as Poisson packets: the group's and the others' wait ratios against Poisson
  arrivals scale the port's M/G/1/K wait, several groups adding. Packet tandems (one
  stream, cross traffic at u, local traffic at j, two upstream ports merging; tests):
  within about 6 %. It replaces the light-traffic pair term between streams (the former
  ``trains.tandem_factor``) and, for those hops, the busy-port trains below. The same path
  through the port's finite buffer gives the loss ratio where it drops enough packets, the
  wait ratio's rescaled tail (``mg1k.rescaled_loss``) where it drops few
  (``exact_loss_gain``).
* Busy ports send trains (``persistent_smoothing_term``, in place of QNA's smoothing): a
  Poisson stream leaving a busy port u for a port no faster keeps its sizes, so the share
  rho_u^1.5 of its packets that left right behind the one before arrive with the
  back-to-back variability above (Kingman with the lag-one covariance), the rest as
  Poisson; QNA's c_d^2 = rho^2 c_s^2 + 1 - rho^2 draws sizes anew (exponential sizes
  never smooth). Against a packet-level tandem (sizes kept; tests) the second port's wait
  is within about 10 % where M/G/1 is 20-40 % off. A j whose busy periods outlast u's sees
  several of u's trains in one, so only the share (1 - rho_j) / (1 - rho_u) of it.
* On-off streams from a port no faster that did not clip them (``_without_own_stream_
  queueing``): their packets left u spaced by their own transmission, so j's backlog is the
  low-priority work of one queue fed by both (conservation); each port's wait loses the
  group's own queueing there (the group alone at j, by this model), all of it for the
  group's packets and its time-average share for the others', less what stays (pair
  ratio while u idles, c^2 / (1 + c^2) while u is busy in the bursts). Packet tandem,
  fixed sizes, light second port: +88..+133 % -> -14..-33 % (tests).

With ``ArrivalModel.POISSON`` every stream is Poisson, nothing is clipped or smoothed: per
port M/G/1/K (the textbook model).

How every choice above was made (tuning networks t01-t15 of
``tests/validation/data/ns3_bursty``, held-out h01-h08 measured once per final candidate,
the fresh h09-h12 once), what was tried and not kept, and what is left:
``docs/bursty-calibration.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nettwin.engine.bursts import Bursts, fit_mmpp2
from nettwin.engine.mg1k import (
    PortSizeLaw,
    SizeLaw,
    mg1k_law_queue,
    port_size_law,
    rescaled_loss,
    size_correction,
)
from nettwin.engine.phases import QUEUE_ROOM_SLACK, clip_bursts, port_phases, queue_room
from nettwin.engine.queueing import ArrivalModel, mmpp2_queue, mmpp_queue_busy
from nettwin.engine.tandem_exact import exact_groups, exact_loss_gain, exact_term
from nettwin.engine.trains import (
    TandemPairs,
    back_to_back_gap_wait,
    back_to_back_train_wait,
    back_to_back_variability,
    backlog_smoothing,
    persistent_smoothing_term,
    self_pair_ratio,
    tandem_pairs,
)

DAMP = 0.5
# the tandem term's wait ratio taken into the loss at most this far either way: a port
# whose wait the term all but cancels (equal sizes behind a link no faster) would else have
# its loss raised to a huge power (tuning networks: 0.94-1.39 for 98 % of the ports)
TANDEM_LOSS_RATIO_MAX = 5.0
# the share of the others' work reaching j while a packet of a spaced on-off group waited
# at u that is still ahead of it at j (packet tandem, fixed sizes, loads 0.1-0.3 at j:
# 0.30-0.41; the fluid bound, all of it, is 1)
OWN_GROWTH = 1.0 / 3.0


@dataclass(frozen=True, eq=False)
class PathQueues:
    """Per demand on an explicit path and per port: what the bursty model predicts."""

    delay_s: np.ndarray  # per demand: propagation excluded, own transmission + waiting
    queueing_s: np.ndarray  # per demand: total waiting in buffers
    loss: np.ndarray  # per demand
    port_waiting_s: np.ndarray  # per port: mean wait of admitted packets
    port_loss: np.ndarray  # per port: share of arriving packets dropped
    port_utilisation: np.ndarray  # per port: offered load / capacity
    hop_waiting_s: np.ndarray  # per hop of every path


def evaluate_paths(path_ptr: np.ndarray, path_arc: np.ndarray, packets_per_s: np.ndarray,
                   size_mean_bits: np.ndarray, size_second_moment_bits2: np.ndarray,
                   bursts: Bursts, capacity_bps: np.ndarray, system_packets: np.ndarray,
                   model: ArrivalModel = ArrivalModel.BURSTY, *, rounds: int = 30,
                   groups: int = 4, size_law: SizeLaw | None = None) -> PathQueues:
    """FIFO ports with finite buffers (``system_packets`` K per port), demands on explicit
    paths (demand d crosses ``path_arc[path_ptr[d]:path_ptr[d+1]]``); at each port the
    ``groups - 1`` burstiest streams are modulated exactly, the rest by one fitted MMPP2.
    ``size_law`` (per demand, its mean and second moment those given): the finite buffer's
    size term from the mixture of the streams' own laws (``engine.mg1k``); without it, from
    the two-moment fit of the port's mixture."""
    cap = np.asarray(capacity_bps, float)
    n_ports = cap.size
    lengths = np.diff(path_ptr)
    owner = np.repeat(np.arange(lengths.size), lengths)
    arcs = np.asarray(path_arc, np.int64)
    first = np.zeros(arcs.size, bool)
    first[path_ptr[:-1][lengths > 0]] = True
    pps = np.asarray(packets_per_s, float)[owner]
    x_hop = np.asarray(size_mean_bits, float)[owner] / cap[arcs]  # service time per hop
    x2_hop = np.asarray(size_second_moment_bits2, float)[owner] / cap[arcs] ** 2
    src = bursts if model is ArrivalModel.BURSTY else Bursts.poisson(lengths.size)
    hop_b = src.take(owner)
    reach = np.ones(arcs.size)
    hop_loss = np.zeros(arcs.size)
    hop_wait = np.zeros(arcs.size)
    port_wait = np.zeros(n_ports)
    port_loss = np.zeros(n_ports)
    rho: np.ndarray = np.zeros(n_ports)
    # streams that reach their port as the backlogged output of the port before, and their
    # packet-scale variability there (relative to Poisson)
    backlogged = np.zeros(arcs.size, bool)
    variability = np.ones(arcs.size)
    size_scv = (np.asarray(size_second_moment_bits2, float)
                / np.maximum(np.asarray(size_mean_bits, float), 1e-300) ** 2 - 1.0)[owner]
    prev = np.maximum(np.arange(arcs.size) - 1, 0)
    size_flow = np.asarray(size_mean_bits, float)
    # the packet-train terms on each flow's own size law where it is given (they follow
    # the largest packets, which the two-moment fit misplaces)
    hop_law = size_law.take(owner) if size_law is not None and model is ArrivalModel.BURSTY \
        else None
    pairs = tandem_pairs(arcs, first, size_flow[owner], size_scv, cap, hop_law)
    gap_wait = back_to_back_gap_wait(np.asarray(size_mean_bits, float)[owner], size_scv,
                                     cap[arcs[prev]], cap[arcs], hop_law)
    # a clipped burst behind a port no faster: the whole train's wait, not one gap's
    train = np.nonzero(~first & ~hop_b.is_poisson & (cap[arcs[prev]] <= cap[arcs]))[0]
    if model is ArrivalModel.BURSTY and train.size:
        gap_wait[train] = back_to_back_train_wait(
            size_flow[owner][train], size_scv[train], cap[arcs[prev]][train], cap[arcs][train],
            pps[train] * hop_b.high_ratio[train] * hop_b.high_s[train],
            None if hop_law is None else hop_law.take(train))
    # Poisson transit hops by port pair: the exact tandem's wait and loss ratios (the sample
    # thins the offered rates where a port is overloaded: ``tandem_exact._carried``)
    own_law = hop_law if hop_law is not None else SizeLaw.two_moment(
        size_flow[owner], np.asarray(size_second_moment_bits2, float)[owner])
    exact = exact_groups(arcs, first, hop_b.is_poisson, pps, cap, own_law,
                         np.asarray(system_packets, float)) \
        if model is ArrivalModel.BURSTY else None
    for r in range(max(1, rounds)):
        lam_hop = pps * reach
        lam = np.bincount(arcs, weights=lam_hop, minlength=n_ports)
        work = np.bincount(arcs, weights=lam_hop * x_hop, minlength=n_ports)
        work2 = np.bincount(arcs, weights=lam_hop * x2_hop, minlength=n_ports)
        rho = work
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(lam > 0, work / lam, 1.0)
            cs2 = np.where(lam > 0, work2 / lam / (x * x) - 1.0, 1.0)
        k = np.asarray(system_packets, float)
        if model is ArrivalModel.BURSTY:  # streams from one port arrive as one source
            # u's load beside a source from u: what the source's own packets that u drops
            # took is not others' traffic (they never reach the next port either)
            up_load = rho[arcs[prev]] - (lam_hop[prev] - lam_hop) * x_hop[prev]
            gen, rates, hop_rate = port_phases(
                arcs, n_ports, lam_hop, hop_b, groups, np.where(first, -1, arcs[prev]),
                np.where(first, 0.0, x_hop[prev]), np.where(first, 0.0, up_load))
        else:
            gen, rates, hop_rate = port_phases(arcs, n_ports, lam_hop, hop_b, groups)
        # each phase's arrivals in packets of the port's mean size: the work a phase brings
        # (streams with larger packets weigh more in the phases they dominate)
        phase_work = np.zeros(rates.shape)
        np.add.at(phase_work, arcs, hop_rate * x_hop[:, None])
        work_rates = phase_work / x[:, None]
        _, _, _, wait_s, loss_s, time_s, busy_s = mmpp_queue_busy(gen, work_rates, 1.0 / x,
                                                                  k)
        if backlogged.any():
            wait_s = backlog_smoothing(arcs, n_ports, backlogged, hop_rate, lam_hop,
                                       variability, gap_wait, phase_work, x, wait_s)
        law = (PortSizeLaw.two_moment(x, cs2) if size_law is None
               else port_size_law(size_law, owner, arcs, lam_hop, cap))
        size_term, size_loss = size_correction(lam, law, k)
        if model is ArrivalModel.BURSTY:
            # the size term in each phase: at the phase's own rate where the phase lasts
            # long enough for the queue to settle there (quasi-static: a buffer that a burst
            # overloads is full, where fixed sizes wait about as long as exponential ones),
            # at the mean load where the phases switch within a queue's build-up; the share
            # stay / (stay + K x), K x the time to serve a full buffer
            n_ph = rates.shape[1]
            ph_term, ph_loss = size_correction(work_rates.reshape(-1),
                                               law.take(np.repeat(np.arange(n_ports), n_ph)),
                                               np.repeat(k, n_ph))
            stay = 1.0 / np.maximum(-np.diagonal(gen, axis1=1, axis2=2), 1e-300)
            settled_share = stay / (stay + (k * x)[:, None])
            wait_s = wait_s + settled_share * ph_term.reshape(n_ports, n_ph) + (
                1.0 - settled_share) * size_term[:, None]
            loss_s = np.clip(loss_s + settled_share * ph_loss.reshape(n_ports, n_ph) + (
                1.0 - settled_share) * size_loss[:, None], 0.0, 1.0)
            size_term, size_loss = np.zeros(n_ports), np.zeros(n_ports)
        tandem_port = np.zeros(n_ports)
        tandem_hop = np.zeros(arcs.size)
        if model is ArrivalModel.BURSTY:  # the ports crossed before (QNA)
            size_term = size_term + persistent_smoothing_term(
                arcs, first, lam_hop, lam, rho, x, cs2, k, size_scv, cap, hop_b.is_poisson,
                None if exact is None else exact.group >= 0)
            # packets that keep their size from the port before (Poisson streams): the
            # exact tandem's ratios on the M/G/1/K wait (``tandem_exact``)
            _, w_mg = mg1k_law_queue(lam, law, k)
            if exact is not None:
                tandem_port, tandem_hop = exact_term(exact, arcs, lam_hop, w_mg, n_ports)
        # a stream's packets meet each phase in proportion to time there x its rate there
        weight = time_s[arcs] * hop_rate
        weight /= np.maximum(weight.sum(axis=1, keepdims=True), 1e-300)
        new_loss = np.clip((weight * loss_s[arcs]).sum(axis=1) + size_loss[arcs], 0.0, 1.0)
        hop_wait = (weight * wait_s[arcs]).sum(axis=1) + size_term[arcs] + tandem_hop
        at_port = time_s * rates * (1.0 - loss_s)
        at_port /= np.maximum(at_port.sum(axis=1, keepdims=True), 1e-300)
        port_wait = np.maximum((at_port * wait_s).sum(axis=1) + size_term + tandem_port, 0.0)
        at_port = time_s * rates
        at_port /= np.maximum(at_port.sum(axis=1, keepdims=True), 1e-300)
        port_loss = np.clip((at_port * loss_s).sum(axis=1) + size_loss, 0.0, 1.0)
        if model is ArrivalModel.BURSTY:
            # sizes kept from the port before change the arrivals' packet-scale variability
            # by the tandem term's share of the wait: the buffer's tail (its loss) with it,
            # where the sample path's finite buffer drops too few packets to say itself
            base = port_wait - tandem_port
            ratio = np.clip(np.where(base > 0.0, port_wait / np.maximum(base, 1e-300), 1.0),
                            1.0 / TANDEM_LOSS_RATIO_MAX, TANDEM_LOSS_RATIO_MAX)
            gain = np.where(port_loss > 0.0, rescaled_loss(port_loss, rho, ratio)
                            / np.maximum(port_loss, 1e-300), 1.0)
            if exact is not None:  # the finite buffer's own ratio where it drops enough
                gain = exact_loss_gain(exact, n_ports, gain)
            port_loss = np.clip(port_loss * gain, 0.0, 1.0)
            new_loss = np.clip(new_loss * gain[arcs], 0.0, 1.0)
        hop_loss = new_loss if r == 0 else DAMP * hop_loss + (1 - DAMP) * new_loss
        # what reaches the next hop: thinned by the losses, clipped by the port's room
        keep = 1.0 - hop_loss
        cum = np.cumsum(np.log(np.maximum(keep, 1e-300)))
        # each demand's first hop (a demand with no hop is repeated zero times: any index)
        head = np.minimum(path_ptr[:-1], max(arcs.size - 1, 0))
        start = np.repeat(cum[head] - np.log(np.maximum(keep[head], 1e-300))
                          if arcs.size else np.zeros(lengths.size), lengths)
        new_reach = np.exp(cum - np.log(np.maximum(keep, 1e-300)) - start)
        settled = r > 0 and np.abs(new_reach - reach).max(initial=0.0) < 1e-7
        reach = new_reach
        if model is ArrivalModel.BURSTY and not src.is_poisson.all():
            # a backlogged FIFO port serves the streams in proportion to what they bring:
            # a stream at its peak h (work per second) among others bringing o leaves at
            # h / (h + o) of the capacity when h + o > 1
            with np.errstate(divide="ignore", invalid="ignore"):
                others = np.maximum(rho[arcs] - lam_hop * x_hop, 0.0)
                peak = hop_b.high_ratio * lam_hop * x_hop
                room = np.where((lam_hop > 0) & (peak + others > 1.0),
                                hop_b.high_ratio / (peak + others), np.inf)
            clip_at = np.maximum(room, 1.0)
            # a port that carries the stream's peak beside the others' mean load still falls
            # behind when their bursts coincide: the rate it sends the stream at while the
            # stream is high, from its own queue solution, clips the burst there
            q_room = queue_room(arcs, hop_rate, lam_hop, hop_b.high_ratio, time_s, busy_s,
                                phase_work)
            room = np.where(np.isfinite(room) | (q_room > hop_b.high_ratio * QUEUE_ROOM_SLACK),
                            room, q_room)
            # what the port drops of a clipped burst shortens it: the stream still leaves
            # at its share of the capacity while the burst lasts (not thinned below it)
            out = clip_bursts(hop_b, np.maximum(room / np.maximum(1.0 - hop_loss, 1e-6),
                                                 1.0))
            nxt = src.take(owner)
            follow = ~first
            clipped = (clip_at < hop_b.high_ratio * (1.0 - 1e-9)) & ~hop_b.is_poisson
            # a clipped burst stays a train through the ports after it that do not clip it
            # again, spaced by the slowest port it crossed since (a faster port passes it on
            # as it came)
            backlogged = follow & clipped[prev]
            train_cap = np.where(backlogged, cap[arcs[prev]], np.inf)
            for _ in range(int(lengths.max(initial=1)) - 1):
                carry = follow & ~clipped[prev] & backlogged[prev]
                if not (carry & ~backlogged).any():
                    break
                train_cap = np.where(carry, np.minimum(train_cap[prev], cap[arcs[prev]]),
                                     train_cap)
                backlogged = backlogged | carry
            if backlogged.any():
                pair = np.where(follow, arcs[prev] * n_ports + arcs, -1)
                _, inv = np.unique(pair, return_inverse=True)
                to_j = np.bincount(inv, weights=np.where(follow, lam_hop[prev], 0.0))[inv]
                share = np.clip(to_j / np.maximum(lam[arcs[prev]], 1e-300), 0.0, 1.0)
                variability = np.where(backlogged, back_to_back_variability(
                    np.where(backlogged, train_cap, 1.0) / cap[arcs], size_scv, share), 1.0)
            before = hop_b.high_ratio
            hop_b = Bursts(*(np.where(follow, np.concatenate([[0.0], getattr(out, f)[:-1]]),
                                      getattr(nxt, f))
                             for f in ("high_ratio", "low_ratio", "high_s", "low_s")))
            # initial=0: demands that cross no port (all at home) settle at once
            settled = settled and bool(np.abs(hop_b.high_ratio - before).max(initial=0.0)
                                       <= 1e-6 * np.abs(before).max(initial=0.0))
        if settled:
            break
    if model is ArrivalModel.BURSTY and not src.is_poisson.all():
        hop_wait, port_wait = _without_own_stream_queueing(
            arcs, first, owner, lam_hop, x_hop, hop_b, backlogged, cap,
            np.asarray(system_packets, float), size_mean_bits, size_second_moment_bits2,
            size_law, pairs, rho, hop_wait, port_wait)
    queueing = np.bincount(owner, weights=hop_wait, minlength=lengths.size)
    delay = queueing + np.bincount(owner, weights=x_hop, minlength=lengths.size)
    survive = np.exp(np.bincount(owner, weights=np.log(np.maximum(1.0 - hop_loss, 1e-300)),
                                 minlength=lengths.size))
    return PathQueues(delay, queueing, 1.0 - survive, port_wait, port_loss, rho, hop_wait)


def bursty_arc_queues(load_bps: np.ndarray, var_bps2: np.ndarray, m3_bps3: np.ndarray,
                      area_bps2_s: np.ndarray, capacity_bps: np.ndarray,
                      mean_packet_bits: float | np.ndarray, packet_scv: float | np.ndarray,
                      system_packets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean wait and loss per arc whose arrivals are the superposition of demands with the
    given summed rate-process moments (in bit units): MMPP2/M/1/K plus the size term."""
    bits = np.asarray(mean_packet_bits, float)
    lam = np.asarray(load_bps, float) / bits
    high, low, to_low, to_high = fit_mmpp2(lam, var_bps2 / bits ** 2, m3_bps3 / bits ** 3,
                                           area_bps2_s / bits ** 2)
    x = bits / np.asarray(capacity_bps, float)
    k = np.asarray(system_packets, float)
    q = mmpp2_queue(high, low, to_low, to_high, 1.0 / x, k)
    dw, dl = size_correction(lam, PortSizeLaw.two_moment(x, packet_scv), k)
    wait = np.maximum(q.sojourn_s - x + dw, 0.0)
    return np.where(lam > 0, wait, 0.0), np.where(lam > 0, np.clip(q.blocking + dl, 0, 1), 0.0)


def _without_own_stream_queueing(
        arcs: np.ndarray, first: np.ndarray, owner: np.ndarray, lam_hop: np.ndarray,
        x_hop: np.ndarray, hop_b: Bursts, backlogged: np.ndarray, cap: np.ndarray,
        k: np.ndarray, size_mean_bits: np.ndarray, size_m2_bits2: np.ndarray,
        size_law: SizeLaw | None, pairs: TandemPairs, rho: np.ndarray,
        hop_wait: np.ndarray, port_wait: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each port's wait less what the on-off streams from one upstream port u no faster
    (not clipped there) would queue behind one another: their packets keep their size and
    leave u spaced by their own transmission, so they do not (equal sizes) or hardly
    (variable ones) queue behind their own stream at j. Fluid identity for equal speeds
    and sizes (packet tandem, checked within 1-3 %): j's backlog is the low-priority work
    of one queue fed by both, the total less u's work of the group (Kleinrock's
    conservation). So a packet of another stream loses rho_g W_g (the group's time-average
    queued work), one of the group loses W_g, plus the share ``OWN_GROWTH`` of the others'
    work that reached j while it waited at u (u busy: j's backlog does not drain then).
    W_g: the group alone at j, by this model; its part that stays is the light-traffic
    pair ratio (``self_pair_ratio``) while u is idle and c^2 / (1 + c^2) of it while u is
    busy in the group's bursts (a train: Kingman with the lag-one covariance has none at
    C_u = C_j, Boxma's train wait some)."""
    prev = np.maximum(np.arange(arcs.size) - 1, 0)
    n_ports = cap.size
    hop = np.nonzero(~first & ~hop_b.is_poisson & ~backlogged & (lam_hop > 0)
                     & (cap[arcs[prev]] <= cap[arcs]))[0]
    if hop.size == 0:
        return hop_wait, port_wait
    up = arcs[hop - 1]
    keys, g = np.unique(up * n_ports + arcs[hop], return_inverse=True)
    n_g = keys.size
    at = keys % n_ports
    dem = owner[hop]
    mean = np.asarray(size_mean_bits, float)[dem]
    m2 = np.asarray(size_m2_bits2, float)[dem]
    alone = evaluate_paths(np.arange(hop.size + 1), g.astype(np.int64), lam_hop[hop], mean,
                           m2, hop_b.take(hop), cap[at], k[at],
                           size_law=None if size_law is None else size_law.take(dem))
    lam_g = np.bincount(g, weights=lam_hop[hop], minlength=n_g)

    def mean_g(v: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.bincount(g, weights=lam_hop[hop] * v, minlength=n_g) / (
            np.maximum(lam_g, 1e-300))
        return out

    scv = np.maximum(m2 / np.maximum(mean, 1e-300) ** 2 - 1.0, 0.0)
    u_of = np.zeros(n_g, np.int64)
    u_of[g] = up
    # u's load while the group bursts: its mean load plus the group's excess over its mean
    burst = np.bincount(g, weights=(hop_b.high_ratio[hop] - 1.0) * lam_hop[hop - 1]
                        * x_hop[hop - 1], minlength=n_g)
    busy = np.clip(rho[u_of] + burst, 0.0, 1.0)
    kept = (mean_g(self_pair_ratio(pairs, arcs, n_ports, lam_hop)[hop]) * (1.0 - busy)
            + mean_g(scv / (1.0 + scv)) * busy)
    cut = (1.0 - kept) * alone.port_waiting_s  # per group: its own queueing that is not
    rho_g = np.bincount(g, weights=lam_hop[hop] * x_hop[hop], minlength=n_g)
    dw = -np.bincount(at, weights=rho_g * cut, minlength=n_ports)[arcs]
    dw[hop] += (rho_g[g] - 1.0) * cut[g] + OWN_GROWTH * np.maximum(
        rho[arcs[hop]] - rho_g[g], 0.0) * (1.0 - kept[g]) * (
        alone.port_waiting_s[g] + x_hop[hop])
    new_hop = np.maximum(hop_wait + dw, 0.0)
    lam = np.bincount(arcs, weights=lam_hop, minlength=n_ports)
    change = np.bincount(arcs, weights=lam_hop * (new_hop - hop_wait), minlength=n_ports)
    return new_hop, np.maximum(port_wait + change / np.maximum(lam, 1e-300), 0.0)
