"""The live network: a plan re-rated with the traffic matrix estimated from measured arc
rates, with the link states observed. What-ifs on the twin's state, now (``LiveTwin.
network_now``) or at a past instant (``network_at``), run on it; the API's live basis too."""

from __future__ import annotations

import dataclasses
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from nettwin.engine import compile_network
from nettwin.estimate import TmEstimate, estimate_tm, routing_matrix
from nettwin.estimate.history import HistoryPrior, estimate_tm_with_prior
from nettwin.estimate.tm import RoutingMatrix
from nettwin.model import Network
from nettwin.model.demands import DEFAULT_CLASS, DemandTable
from nettwin.timezones import day_of_week, time_of_day

__all__ = ["COUNTER_NOISE", "estimate_matrix", "live_network", "time_of_day",
           "with_link_states"]

# the counters' relative error the estimate assumes unless told (exact to rounding). Counters
# read by polling carry more (the poll's timing: ~1 % at five minutes is common); an estimate
# told too little reads that noise as misfit and raises false drift alarms
COUNTER_NOISE = 1e-3


def with_link_states(network: Network, link_up: dict[str, bool]) -> Network:
    """``network`` with the operational state of the links named in ``link_up``."""
    return dataclasses.replace(network, links={
        lid: dataclasses.replace(lk, oper_up=link_up.get(lid, lk.oper_up))
        for lid, lk in network.links.items()})


def estimate_matrix(rm: RoutingMatrix, rates: np.ndarray, c: Any, prior: HistoryPrior | None,
                    at: float, mu: float, noise: float = COUNTER_NOISE,
                    zone: ZoneInfo | None = None) -> TmEstimate:
    """The matrix behind these arc rates: from the history ``prior`` at the time of day
    and day of the week of ``at`` in the operator's ``zone`` (None: UTC; the zone the
    history's dates were written in) when it covers these node pairs (``noise`` the
    counters' relative error), else tomogravity (``mu`` its regularisation)."""
    if prior is not None and prior.src.size == rm.src.size:
        return estimate_tm_with_prior(rm, rates, prior, time_of_day_s=time_of_day(at, zone),
                                      day_of_week=day_of_week(at, zone), noise=noise)
    return estimate_tm(rm, rates, c.arc_src, c.arc_dst, c.n_nodes, mu=mu)


def live_network(shaped: Network, link_up: dict[str, bool], arc_rate_bps: np.ndarray,
                 mu: float = 0.01, *, prior: HistoryPrior | None = None,
                 at: float = float("nan"), noise: float = COUNTER_NOISE,
                 zone: ZoneInfo | None = None) -> Network:
    """``shaped`` with these link states and the traffic matrix estimated from these arc
    rates (with the history ``prior`` at time ``at``, read in ``zone``, when given, else
    tomogravity). The
    plan's demands and services are kept, re-rated: the estimate of each node pair is split
    over the plan's demands of that pair in proportion to their planned rates (an unplanned
    pair becomes a demand of its own), so what-ifs on it still check every SLA."""
    network = with_link_states(shaped, link_up)
    up = np.repeat([lk.is_up for lk in network.links.values()], 2)
    c = compile_network(network)
    rm = routing_matrix(c, up)
    rates = arc_rate_bps[: c.n_arcs] if arc_rate_bps.size >= c.n_arcs else np.concatenate(
        [arc_rate_bps, np.full(c.n_arcs - arc_rate_bps.size, np.nan)])
    est = estimate_matrix(rm, np.where(up, rates, np.nan), c, prior, at, mu, noise, zone)
    n = c.n_nodes
    pair_est = np.zeros(n * n)
    np.add.at(pair_est, est.src.astype(np.int64) * n + est.dst, est.rate_bps)
    plan = network.demands
    plan_pair = plan.src.astype(np.int64) * n + plan.dst
    pair_plan = np.bincount(plan_pair, plan.rate_bps, n * n)
    pair_count = np.bincount(plan_pair, minlength=n * n)
    share = np.where(pair_plan[plan_pair] > 0, plan.rate_bps / np.where(
        pair_plan[plan_pair] > 0, pair_plan[plan_pair], 1.0), 1.0 / pair_count[plan_pair])
    rate = pair_est[plan_pair] * share
    extra = np.flatnonzero((pair_est > 0) & (pair_count == 0))
    src = np.concatenate([plan.src, (extra // n).astype(plan.src.dtype)])
    dst = np.concatenate([plan.dst, (extra % n).astype(plan.dst.dtype)])
    ids = None if plan.ids is None else plan.ids + tuple(
        f"{network.node_ids[e // n]}->{network.node_ids[e % n]}" for e in extra.tolist())
    classes = np.concatenate([plan.class_index, np.full(extra.size, plan.class_names.index(
        DEFAULT_CLASS) if DEFAULT_CLASS in plan.class_names else 0, plan.class_index.dtype)])
    names = plan.class_names if DEFAULT_CLASS in plan.class_names or not extra.size \
        else (*plan.class_names, DEFAULT_CLASS)
    if DEFAULT_CLASS not in plan.class_names and extra.size:
        classes[len(plan):] = len(plan.class_names)
    # the plan's processes kept, re-rated with their demands (new pairs: Poisson)
    arrivals = None if plan.arrivals is None else plan.arrivals.rerated(plan.rate_bps, rate,
                                                                        extra.size)
    demands = DemandTable(src.astype(np.int32), dst.astype(np.int32),
                          np.concatenate([rate, pair_est[extra]]), classes.astype(np.int16),
                          names, ids, arrivals)
    return network.with_demands(demands, network.services)
