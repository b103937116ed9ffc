"""Traffic-matrix priors from measured history, and the fast estimate that uses them.

Operators who export flows (NetFlow/IPFIX aggregates) or upload matrices have past
*measured* matrices. The way a source spreads its traffic over destinations (its fan-out)
is far more stable than the matrix itself (Papagiannaki, Taft and Lakhina, "A distributed
approach to measure IP traffic matrices", IMC 2004; Soule et al., "Traffic matrices:
balancing measurements, inference and modeling", SIGMETRICS 2005), so the prior for pair
(s, d) at time t is

    m_sd = out_s(t) * F_sd(bin(t)),   sd_sd = out_s(t) * S_sd(bin(t)) * kappa

with ``F`` the mean fan-out share of the history in the time-of-day bin (or all of it;
optionally recency-weighted), traffic-weighted or each matrix counting once (then a week of
unusual volume, as in the DFN history, does not set the shares of the weeks after it),
``S`` its spread, ``out_s`` the node's
measured egress total (access counters) and ``kappa`` a calibration of the spread chosen so
that +-1 sd covers about 68 % of held-out true values. Optionally the geometric mean with
the same prior built from fan-in shares (in_d G_sd), and a Kullback-Leibler fit to the node
totals (iterative proportional fitting). Without access counters the history's node shares
of the total stand in, the total fitted to the link counters. Which options, by the
rolling-origin protocol of ``nettwin.estimate.choice``. Priors come only from
measurements: chaining the estimator's own output as the next prior diverges.

Analog weighting: the node totals of the present matrix say which past matrices to learn
the shares from. Each past matrix weighs exp(-d^2 / (2 (tau s)^2)) times its recency
weight, d the distance between its node-total mix and the present one (square roots of
each node's share of all egress and all ingress), s the typical distance between two past
matrices; the fan-out and fan-in shares and spreads are then learned per estimate with
those weights (``AnalogHistory``: T x pairs products, well under a millisecond). Regimes
the node totals reveal (time of day, weekday against weekend, the week of unusual traffic
in the DFN history) get the shares of their own kind without bins chosen in advance. On
the held-out days of ``benchmarks/bench_tm.py`` the protocol (mean log error, December
2026) picks it on all three: Abilene (tau 0.25; 13.5 %), GEANT (tau 0.5; 11.7 %
traffic-weighted error) and germany50 (tau 1; 10.5 %, 9.8 % with the day type below).

Day type: with dates (``TmHistory.day_of_week``, read from the files' stamps or names) a
past matrix of the other day type than the estimated one's (weekday against Saturday or
Sunday) weighs ``day_weight`` (``HistoryPrior.day_weight``) on top of its recency and
analog weights: for daily matrices the day type is what the time-of-day bin is for
five-minute ones, a regime known in advance. Not a split: a weekend estimate of germany50
had two to four weekend days to learn from (weight 0: rolling-origin mean log error 7.46
-> 8.29 %, innovations to 65), so the other days still speak, down-weighted. Chosen on
the history (``nettwin.estimate.choice``), offered only when it holds both day types
(Abilene's and GEANT's histories are weekdays only). germany50, training days only (the
chosen options; 36 rolling-origin estimates, geometric mean error): weight 0.3 7.25 %,
0.1 7.18 %, 0.03 7.30 % against 7.46 % (weekend estimates 7.36 -> 6.75 %, weekdays 7.87
-> 7.83 %); the same gain under the other options tried (fan-out only 8.01 -> 7.54 %,
KL-fitted 8.11 -> 7.90 %); a day-of-week split instead of weekday / weekend (weight 0.3:
7.39 %) less. Test days (``benchmarks/bench_tm.py``, weight 0.1 chosen): median error
10.5 -> 9.8 %. Days are read, as times of day are, in the operator's time zone
(``nettwin.timezones``: ``LiveTwin(timezone=...)``, ``--timezone``, ``NETTWIN_TIMEZONE``;
default UTC): the live twin reads the day of an estimate from the counters' epoch time
(daylight saving included), the API a matrix's time with an offset converted to that
zone; a file's YYYYMMDD date or a stamp without an offset is taken as written. Left at
UTC, an operator whose weekend starts at local midnight has the hours between local and
UTC midnight estimated as the other day type (germany50, CET: two hours a week).

Tried on GEANT and not
kept (no gain on the validation tail, or lost on the held-out day): a learned low-rank
prior covariance from training residuals (13.0 -> 14-17 %), a Kalman filter on the
prior's deviation over consecutive estimates (at best 12.7 %: the counters see the same
subspace every interval, so the unseen part of the deviation stays unseen), a log-normal
(KL-like) posterior (13.4 %), a spread proportional to the mean, and a per-pair spread
learned from held-out residuals (GEANT 11.8 -> 12.1 %); on the rolling-origin
validation (training days only): each pair's share spread shrunk towards a pooled
coefficient of variation (germany50 7.65 -> 7.66 % at half weight, 9.0 % at full), a
Poisson-like term added to the prior variance (GEANT 11.16 -> 11.18-11.22 %), analog
width 0.125 (Abilene 13.2 -> 13.8 %, GEANT 11.2 -> 12.9 %), recency half-lives of a sixth
or all of the history on germany50 (7.6 -> 8.6 / 7.7 %), and, with 1 % counter noise on
GEANT, telling the estimate a noise other than the true 1 % (0.5 %: 11.6 %, 1 %: 11.4 %,
2 %: 11.5 %). On germany50's rolling origins (training days only, the chosen options;
median / mean error of 36 estimates, 7.45 / 7.68 %): the prior mean shrunk towards the
day's own gravity matrix (its node totals alone; weight 0.1: 9.4 / 9.0 %, 0.2: 12.8 /
11.8 %: the learned shares beat gravity by far, a short history notwithstanding; leave
one training day out, the other 13 learned: weight 0 6.36 / 7.01 %, 0.02 6.39 / 7.06 %,
0.1 7.14 / 7.90 %), the
analog distance read from the link loads as well as the node totals (7.43 / 7.68 %) or
from the link loads alone (7.42 / 7.67 %), and the fan-in weight of the geometric mean
(0.4: 7.36 / 7.68 %; 0.25 and 0.6 worse), and without analog weighting each pair's
median daily share for the mean one (7.26 / 7.76 -> 7.29 / 7.82 %): none beyond the
estimates' noise. With the day type (weight 0.1; geometric mean error of the same 36
estimates 7.18 %), the weighting of the projection's objective: the prior variance from
the learned share spread against one proportional to the prior mean (constant
coefficient of variation, the same total: 8.20 %), to its square root (8.45 %), the
geometric mean of the two (7.38 %), or sd^1.5 / sqrt(mean) (7.52 %): the learned spread
stays. Nor a state carried from day to day (the prior mean moved a share beta towards the
previous day's posterior fan-out, the estimates of each origin in date order, a Kalman
filter's random-walk step): beta 0.2 7.29 %, 0.4 7.50 %, 0.6 7.85 % against 7.19 %.

The estimate given the counters (the closed-form Gaussian posterior) and the drift
statistic read from it: ``nettwin.estimate.projection``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nettwin.estimate.projection import misfit_level, project_tm
from nettwin.estimate.tm import RoutingMatrix, TmEstimate

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, eq=False)
class TmHistory:
    """Measured matrices on the pairs of a routing matrix, oldest first (read by
    ``nettwin.io.load_tm_history``)."""

    rate_bps: np.ndarray  # [matrices, pairs]
    time_of_day_s: np.ndarray  # [matrices], nan where the time is unknown
    labels: tuple[str, ...]
    # [matrices]: day of the week (0 Monday .. 6 Sunday), nan where the date is unknown;
    # None: no dates at all
    day_of_week: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.rate_bps.shape[0])

    def select(self, sel: slice | np.ndarray) -> TmHistory:
        """These matrices (a slice or an index array), their times and dates with them."""
        days = None if self.day_of_week is None else self.day_of_week[sel]
        return TmHistory(self.rate_bps[sel], self.time_of_day_s[sel],
                         tuple(np.asarray(self.labels, dtype=object)[sel].tolist()), days)

    def day_types(self) -> bool:
        """Whether the matrices whose dates the history knows hold weekdays and weekend
        days both (then a prior can weigh the days of the estimated one's type more:
        ``HistoryPrior.day_weight``; a matrix without a date keeps its weight, as if of
        either type: one undated upload does not turn the weighting off for all)."""
        if self.day_of_week is None:
            return False
        known = self.day_of_week[np.isfinite(self.day_of_week)]
        weekend = _weekend(known) == 1.0
        return bool(weekend.any() and (~weekend).any())


def _weekend(day_of_week: np.ndarray) -> np.ndarray:
    """1 for Saturday and Sunday, 0 for a weekday, nan for an unknown date."""
    return np.where(np.isfinite(day_of_week), (day_of_week >= 5).astype(np.float64), np.nan)


def _share_fit(w: np.ndarray, tot: np.ndarray, share: np.ndarray, n_nodes: int,
               routed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Traffic-weighted mean and spread of the shares (weights ``w`` per matrix times the
    key node's total): the fan-out (or fan-in) share of each pair and its spread."""
    ww = w[:, None] * tot
    s = ww.sum(axis=0)
    mean = np.divide((ww * share).sum(axis=0), s, out=np.zeros(share.shape[1]), where=s > 0)
    var = np.divide((ww * (share - mean) ** 2).sum(axis=0), s, out=np.zeros(share.shape[1]),
                    where=s > 0)
    # a pair never seen still gets a little spread (it may start talking)
    floor = 0.1 * np.maximum(mean, 1e-3 / max(n_nodes - 1, 1))
    return (np.where(routed, mean, 0.0),
            np.where(routed, np.maximum(np.sqrt(var), floor), 0.0))


def _node_features(node_out_bps: np.ndarray, node_in_bps: np.ndarray) -> np.ndarray:
    """Where a matrix sits among others, by its node totals alone: the square roots of
    each node's share of all egress and of all ingress (Hellinger coordinates; scale-free,
    so a busy hour and a quiet one with the same mix are close)."""
    f_out = np.sqrt(node_out_bps / max(float(node_out_bps.sum()), 1e-300))
    f_in = np.sqrt(node_in_bps / max(float(node_in_bps.sum()), 1e-300))
    return np.concatenate([f_out, f_in])


@dataclass(frozen=True, eq=False)
class AnalogHistory:
    """The past matrices' shares kept for analog weighting: an estimate with node totals
    weighs each past matrix by exp(-d^2 / (2 (tau scale)^2)), d the distance between its
    node-total features and the present ones (``_node_features``), times its recency
    weight, and learns the fan-out and fan-in shares with those weights. Past days whose
    mix of sources and sinks resembles the present one (the same hour, the same weekday,
    the same regime) count more; ``tau`` None or large gives the plain learned prior."""

    weight: np.ndarray  # [T] recency weight
    features: np.ndarray  # [T, 2 nodes]
    scale: float  # typical distance between two past matrices' features
    # [T, 6 pairs]: per matrix, for the fan-out then the fan-in share, the numerator, the
    # denominator and the second moment of the weighted mean share: x, the key node's
    # total and x * share (traffic-weighted), or share, 1 and share^2 (each matrix once);
    # the weighted shares and spreads are then one matrix-vector product
    moments: np.ndarray
    routed: np.ndarray
    n_nodes: int
    # [T]: 1 for a weekend day, 0 for a weekday, nan unknown (``HistoryPrior.day_weight``)
    weekend: np.ndarray | None = None

    def weights(self, node_out_bps: np.ndarray, node_in_bps: np.ndarray,
                tau: float | None, day_of_week: float | None = None,
                day_weight: float = 1.0) -> np.ndarray:
        """Each past matrix's weight: recency, times the node-total likeness (``tau``
        None: left out), times ``day_weight`` where its day type (weekday or weekend)
        differs from that of ``day_of_week`` (unknown on either side: 1)."""
        w: np.ndarray = self.weight
        if tau is not None:
            d2 = ((self.features - _node_features(node_out_bps, node_in_bps)) ** 2).sum(axis=1)
            z = d2 / (2.0 * (tau * self.scale) ** 2)
            w = w * np.exp(-(z - z.min()))  # relative: no underflow
        if (day_weight != 1.0 and self.weekend is not None and day_of_week is not None
                and np.isfinite(day_of_week)):
            today = _weekend(np.array([day_of_week]))[0]
            other = np.isfinite(self.weekend) & (self.weekend != today)
            w = np.where(other, day_weight * w, w)
        return w

    def shares(self, node_out_bps: np.ndarray, node_in_bps: np.ndarray, tau: float | None,
               day_of_week: float | None = None, day_weight: float = 1.0
               ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """(fan-out, spread), (fan-in, spread) learned with the analog weights (the same
        traffic-weighted mean and spread as ``_share_fit``, from the moments)."""
        out_x, out_tot, out_sq, in_x, in_tot, in_sq = (
            self.weights(node_out_bps, node_in_bps, tau, day_of_week, day_weight)
            @ self.moments).reshape(6, -1)
        floor_share = 1e-3 / max(self.n_nodes - 1, 1)
        fits = []
        for x, tot, sq in ((out_x, out_tot, out_sq), (in_x, in_tot, in_sq)):
            mean = np.divide(x, tot, out=np.zeros_like(x), where=tot > 0)
            var = np.divide(sq, tot, out=np.zeros_like(x), where=tot > 0) - mean**2
            sd = np.maximum(np.sqrt(np.clip(var, 0.0, None)),
                            0.1 * np.maximum(mean, floor_share))
            fits.append((np.where(self.routed, mean, 0.0), np.where(self.routed, sd, 0.0)))
        return fits[0], fits[1]

    @staticmethod
    def learn(x: np.ndarray, src: np.ndarray, dst: np.ndarray, n_nodes: int,
              weight: np.ndarray, routed: np.ndarray, per_matrix: bool = False,
              day_of_week: np.ndarray | None = None) -> AnalogHistory:
        node_out = np.stack([np.bincount(src, row, n_nodes) for row in x])
        node_in = np.stack([np.bincount(dst, row, n_nodes) for row in x])
        out_total, in_total = node_out[:, src], node_in[:, dst]
        feats = np.stack([_node_features(o, i) for o, i in zip(node_out, node_in,
                                                                strict=True)])
        # the rms distance between two past matrices (2 x the variance about the mean)
        scale = float(np.sqrt(2.0 * ((feats - feats.mean(axis=0)) ** 2).sum(axis=1).mean()))
        out_share = np.divide(x, out_total, out=np.zeros_like(x), where=out_total > 0)
        in_share = np.divide(x, in_total, out=np.zeros_like(x), where=in_total > 0)
        blocks = []
        for total, share in ((out_total, out_share), (in_total, in_share)):
            if per_matrix:
                blocks += [share, (total > 0).astype(np.float64), share**2]
            else:
                blocks += [x, total, x * share]
        moments = np.hstack(blocks)
        return AnalogHistory(weight, feats, max(scale, 1e-12), moments, routed, n_nodes,
                             None if day_of_week is None else _weekend(day_of_week))


@dataclass(frozen=True, eq=False)
class HistoryPrior:
    """Per-source fan-out and per-destination fan-in shares learned from measured
    matrices, per time-of-day bin."""

    src: np.ndarray
    dst: np.ndarray
    n_nodes: int
    fanout: np.ndarray  # [bins, pairs]: share of the source's egress going to dst
    spread: np.ndarray  # [bins, pairs]: standard deviation of that share
    fanin: np.ndarray  # [bins, pairs]: share of the destination's ingress coming from src
    fanin_spread: np.ndarray
    out_share: np.ndarray  # [bins, nodes]: each node's share of all egress (counters-only)
    in_share: np.ndarray
    kappa: float = 1.0  # calibration of the spread (+-1 sd covers ~68 %)
    fit_totals: bool = True  # KL-fit the prior to the node totals when they are known
    use_fanin: bool = False  # geometric mean of the fan-out and fan-in priors
    # drift alarm: an estimate's innovation above this says the counters no longer fit the
    # routing and the history (a silent failure, a metric change): 2x the 99th percentile
    # of the innovations on the held-out history; or its misfit above ``misfit_level``
    alarm_innovation: float = float("inf")
    # analog weighting (``analog_tau`` not None): the shares are re-weighted per estimate
    # by how close each past matrix's node totals are to the present ones (module doc)
    analog: AnalogHistory | None = None
    analog_tau: float | None = None
    # the counters' relative noise every estimate assumes at least (chosen on the history)
    noise_floor: float = 1e-3
    per_matrix: bool = False  # shares learned with each matrix counting once (record only)
    # day type: the weight of a past matrix whose day type (weekday or weekend) differs
    # from the estimated one's (1: off; needs the history's dates and the estimate's day)
    day_weight: float = 1.0
    # model averaging: when not empty, the prior is the equal-weight mixture of these
    # (each its own options, kappa 1), matched in mean and variance (``prior_moments``); this
    # prior's own shares are the first member's, its kappa, noise floor and alarm the
    # mixture's
    members: tuple[HistoryPrior, ...] = ()

    def drift(self, est: TmEstimate) -> bool:
        """Whether the counters behind ``est`` are inconsistent with the twin's routing."""
        return bool(est.innovation > self.alarm_innovation
                    or est.misfit > misfit_level(est.measured_arcs.size))

    @property
    def bins(self) -> int:
        return int(self.fanout.shape[0])

    def bin_of(self, time_of_day_s: float | None) -> int:
        if self.bins == 1 or time_of_day_s is None or not np.isfinite(time_of_day_s):
            return 0
        return int((time_of_day_s % SECONDS_PER_DAY) / SECONDS_PER_DAY * self.bins)

    def mean_sd(self, node_out_bps: np.ndarray, node_in_bps: np.ndarray | None = None,
                time_of_day_s: float | None = None, day_of_week: float | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Prior mean and standard deviation per pair for these node totals: out_s F_sd
        (and, with ``use_fanin``, its geometric mean with in_d G_sd)."""
        b = self.bin_of(time_of_day_s)
        fanout, spread = self.fanout[b], self.spread[b]
        fanin, fanin_spread = self.fanin[b], self.fanin_spread[b]
        by_day = (self.day_weight != 1.0 and day_of_week is not None
                  and bool(np.isfinite(day_of_week)))
        if (self.analog is not None and (self.analog_tau is not None or by_day)
                and node_in_bps is not None):
            (fanout, spread), (fanin, fanin_spread) = self.analog.shares(
                node_out_bps, node_in_bps, self.analog_tau, day_of_week, self.day_weight)
        out = node_out_bps[self.src]
        mean, sd = out * fanout, out * spread
        if self.use_fanin and node_in_bps is not None:
            inn = node_in_bps[self.dst]
            mean = np.sqrt(mean * inn * fanin)
            sd = np.sqrt(sd * inn * fanin_spread)
        return mean, sd * self.kappa


def _bin_masks(tod: np.ndarray, bins: int, n: int) -> list[np.ndarray]:
    """Which matrices fall in each time-of-day bin (all of them where a bin has < 2)."""
    everything = np.ones(n, bool)
    if bins == 1:
        return [everything]
    with np.errstate(invalid="ignore"):
        masks = [np.floor((tod % SECONDS_PER_DAY) / SECONDS_PER_DAY * bins) == b
                 for b in range(bins)]
    return [m if m.sum() >= 2 else everything for m in masks]


def _node_shares(x: np.ndarray, key: np.ndarray, n_nodes: int, w: np.ndarray,
                 masks: list[np.ndarray]) -> np.ndarray:
    per_node = np.stack([np.bincount(key, row, n_nodes) for row in x])  # [T, nodes]
    return np.vstack([(w[m] @ per_node[m]) / max(float(w[m] @ x[m].sum(axis=1)), 1e-300)
                      for m in masks])


def _shares(x: np.ndarray, key: np.ndarray, n_nodes: int, w: np.ndarray, tod: np.ndarray,
            bins: int, routed: np.ndarray, per_matrix: bool = False
            ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread of x_sd / total(key node), per time-of-day bin: traffic-weighted,
    or (``per_matrix``) each matrix weighing the same whatever its volume."""
    tot_node = np.stack([np.bincount(key, row, n_nodes) for row in x])[:, key]  # [T, pairs]
    share = np.divide(x, tot_node, out=np.zeros_like(x), where=tot_node > 0)
    if per_matrix:
        tot_node = (tot_node > 0).astype(np.float64)

    def fit(sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _share_fit(w[sel], tot_node[sel], share[sel], n_nodes, routed)

    everything = np.ones(x.shape[0], bool)
    all_fit = fit(everything)
    fits = []
    for b in range(bins):
        if bins == 1:
            fits.append(all_fit)
            continue
        with np.errstate(invalid="ignore"):
            sel = np.floor((tod % SECONDS_PER_DAY) / SECONDS_PER_DAY * bins) == b
        fits.append(fit(sel) if sel.sum() >= 2 else all_fit)
    return np.vstack([f[0] for f in fits]), np.vstack([f[1] for f in fits])


def learn_prior(history: TmHistory, rm: RoutingMatrix, n_nodes: int, *, bins: int = 1,
                half_life: float | None = None, analog_tau: float | None = None,
                per_matrix: bool = False, day_weight: float = 1.0) -> HistoryPrior:
    """Fan-out and fan-in shares (traffic-weighted, or with ``per_matrix`` each matrix
    counting once whatever its volume) and their spread from measured matrices; with
    ``bins`` > 1 one set per time-of-day bin (bins with fewer than two matrices fall back
    to all of them); ``half_life`` (in matrices) weighs recent ones
    more; ``analog_tau`` (in units of the typical distance between past matrices) keeps
    the history to re-weigh it per estimate by node-total likeness (``AnalogHistory``);
    ``day_weight`` below 1 (a history with dates) weighs the past matrices of the other
    day type than the estimated one's by it, per estimate, with the same machinery."""
    w = np.ones(history.n) if half_life is None else 0.5 ** (
        (history.n - 1 - np.arange(history.n)) / half_life)
    fan_out, spread_out = _shares(history.rate_bps, rm.src, n_nodes, w,
                                  history.time_of_day_s, bins, rm.routed, per_matrix)
    fan_in, spread_in = _shares(history.rate_bps, rm.dst, n_nodes, w,
                                history.time_of_day_s, bins, rm.routed, per_matrix)
    masks = _bin_masks(history.time_of_day_s, bins, history.n)
    by_day = day_weight != 1.0 and history.day_types()
    analog = None if analog_tau is None and not by_day else AnalogHistory.learn(
        history.rate_bps, rm.src, rm.dst, n_nodes, w, rm.routed, per_matrix,
        history.day_of_week)
    return HistoryPrior(rm.src, rm.dst, n_nodes, fan_out, spread_out, fan_in, spread_in,
                        _node_shares(history.rate_bps, rm.src, n_nodes, w, masks),
                        _node_shares(history.rate_bps, rm.dst, n_nodes, w, masks),
                        analog=analog, analog_tau=analog_tau, per_matrix=per_matrix,
                        day_weight=day_weight if by_day else 1.0)


def fit_margins(mean_bps: np.ndarray, src: np.ndarray, dst: np.ndarray, n_nodes: int,
                node_out_bps: np.ndarray, node_in_bps: np.ndarray,
                iterations: int = 50) -> np.ndarray:
    """The matrix closest to ``mean_bps`` in Kullback-Leibler divergence with the given
    egress and ingress totals (iterative proportional fitting, Sinkhorn)."""
    x = np.asarray(mean_bps, dtype=np.float64).copy()
    for _ in range(iterations):
        row = np.bincount(src, x, n_nodes)
        x *= np.divide(node_out_bps, row, out=np.ones(n_nodes), where=row > 0)[src]
        col = np.bincount(dst, x, n_nodes)
        x *= np.divide(node_in_bps, col, out=np.ones(n_nodes), where=col > 0)[dst]
    return x


def prior_moments(rm: RoutingMatrix, arc_rate_bps: np.ndarray, prior: HistoryPrior, *,
                  node_out_bps: np.ndarray | None = None,
                  node_in_bps: np.ndarray | None = None,
                  time_of_day_s: float | None = None,
                  day_of_week: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Prior mean and standard deviation per pair for this interval: the fan-out prior
    (KL-fitted to the node totals when access counters give them); without access
    counters the history's node shares of the total, the total fitted to the counters.
    A prior with ``members``: their equal-weight mixture matched in mean and variance
    (model averaging: the options the validation cannot tell apart all speak, instead of
    the one that happened to score best), its spread times this prior's kappa."""
    if prior.members:
        moments = [prior_moments(rm, arc_rate_bps, p, node_out_bps=node_out_bps,
                                 node_in_bps=node_in_bps, time_of_day_s=time_of_day_s,
                                 day_of_week=day_of_week)
                   for p in prior.members]
        means = np.stack([m for m, _ in moments])
        mean = means.mean(axis=0)
        second = (np.stack([sd for _, sd in moments]) ** 2 + means**2).mean(axis=0)
        return mean, np.sqrt(np.clip(second - mean**2, 0.0, None)) * prior.kappa
    n = prior.n_nodes
    if node_out_bps is not None and node_in_bps is not None:
        mean, sd = prior.mean_sd(node_out_bps, node_in_bps, time_of_day_s, day_of_week)
    else:
        # counters only: the history's own node shares, the total fitted to the counters
        # (least squares; link loads include transit, so they cannot give node totals)
        b = prior.bin_of(time_of_day_s)
        mean, sd = prior.mean_sd(prior.out_share[b], prior.in_share[b], time_of_day_s,
                                 day_of_week)
        measured = np.flatnonzero(np.isfinite(arc_rate_bps))
        fit = rm.a[measured] @ mean
        denom = float(fit @ fit)
        total = max(float(fit @ arc_rate_bps[measured]) / denom, 0.0) if denom > 0 else 0.0
        mean, sd = mean * total, sd * total
    if prior.fit_totals and node_out_bps is not None and node_in_bps is not None:
        fitted = fit_margins(mean, rm.src, rm.dst, n, node_out_bps, node_in_bps)
        sd = sd * np.divide(fitted, mean, out=np.ones_like(mean), where=mean > 0)
        mean = fitted
    return mean, sd


def estimate_tm_with_prior(rm: RoutingMatrix, arc_rate_bps: np.ndarray, prior: HistoryPrior,
                           *, node_out_bps: np.ndarray | None = None,
                           node_in_bps: np.ndarray | None = None,
                           time_of_day_s: float | None = None,
                           day_of_week: float | None = None,
                           noise: float = 1e-3, with_std: bool = True) -> TmEstimate:
    """The traffic matrix from counters and a prior learned from measured history: the
    prior's moments (``prior_moments``), then the closed-form projection onto the
    counters. ``noise``: the counters' relative error (1e-3: exact to rounding; 0.01 for
    1 % noisy counters); ``day_of_week`` (0 Monday .. 6 Sunday) of the estimated matrix,
    for a prior that weighs day types (``HistoryPrior.day_weight``; None: every past day
    alike); ``with_std`` False: the mean only (``project_tm``)."""
    n = prior.n_nodes
    mean, sd = prior_moments(rm, arc_rate_bps, prior, node_out_bps=node_out_bps,
                             node_in_bps=node_in_bps, time_of_day_s=time_of_day_s,
                             day_of_week=day_of_week)
    return project_tm(rm, arc_rate_bps, mean, sd, node_out_bps=node_out_bps,
                      node_in_bps=node_in_bps, n_nodes=n, noise=max(noise, prior.noise_floor),
                      with_std=with_std)
