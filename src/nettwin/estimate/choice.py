"""How ``prior_from_history`` chooses the options of the traffic-matrix prior on the
history itself (the prior model and its estimate: ``nettwin.estimate.prior``).

Choosing: at each of up to 8 origins inside the history a prior is learned on the matrices
before the origin only and every later matrix of the history (or, past a budget, an
even sample of them: below) is estimated with it (the
horizons of a prior learned today and used on the days ahead); every option is scored by
its mean log error over all those estimates, and the options the estimates cannot tell
apart from the best (``_indistinct``: paired one-standard-error rule) are averaged, a
mixture of their priors (model averaging, ``prior_moments``); then the counters' noise
floor (the counter-versus-prior balance), then the spread calibration and the drift alarm
level on the same estimates. The mean log error replaced the median (to December 2026):
a median rests on the one or two middle estimates. Checked on training data alone (the
choice made on the first 4 origins' estimates, scored on the last 4 origins'): on GEANT
the median picked an option at 9.4 % median error there, the mean log error the best of
the grid on those later estimates, 9.0 %; on Abilene both the same option (13.4 %); in
both the best option stood clear, a mixture of one.

One validation tail (the history's last third, the protocol until
December 2026) gave germany50, 14 daily matrices, 5 validation estimates: its choices
(analog weighting, fan-in, a 5-matrix half-life) rested on five numbers, and its alarm
level, twice the 99th percentile of five innovations, sat below the innovation of an
ordinary test Sunday (7.8 against 3.9: a false alarm on 1 of 7 test days). Eight origins
give 36 estimates at horizons of 1 to 8 days. With the plain options they chose the
fan-out prior alone (test 10.1 %, alarm 10.4 against that Sunday's 8.6: no false alarm,
79 % of silent failures caught instead of 89 %); with per-matrix shares among the options
they choose those with fan-in (training 7.6 -> 7.3 %, test 10.8 %, and that Sunday's
innovation, 10.0, alarms again). The Sunday (20 February 2005, the lowest volume of the
test week, the prior's largest error) is an outlier beyond anything in the 14 training
days; its innovation and those of failures that move only a few pairs overlap, and the
training history cannot place the alarm between them.

Is the alarm calibrated (checked December 2026 on training days only: the clean
validation estimates of the chosen prior, each origin's innovations judged by a level set
on the other origins')? germany50: 36 clean estimates, innovations log-normal-like (log
mean 0.12, sd 0.52, largest 3.4), level 6.7, which the log-normal fit puts at a 3e-4 tail;
no false alarm when each origin is left out, 92 % of silent failures caught on 1,760
simulated. GEANT: 62 estimates with a heavier tail (log sd 0.43, largest 9.0), level 14.8;
1 false alarm of 62 left-out estimates, 87 % caught. A level at the fitted log-normal's
1e-3 tail instead (germany50 5.7, GEANT 4.7) caught the same on germany50 and 91 % on
GEANT, but alarmed on 2 of GEANT's 62 left-out clean estimates: the tail is heavier than
log-normal, so the rule stays. 36 or 62 clean intervals cannot show a rate of 0.1 % (none
in 36 bounds it by 8 % at 95 %); what they show is that the test Sunday's innovation (10,
above) is 4 log-sd beyond the training days: a day unlike the history, not a level set
too low. The misfit's level is the noise model's (``misfit_level``); clean misfits stay
below 0.07 against 1.4.

Day type (a history whose dates hold weekdays and weekend days: germany50's): after the
options, the weight of the other day type's matrices (``DAY_WEIGHTS``, ``HistoryPrior.
day_weight``) is chosen on the same estimates, the chosen option's mixture with each
weight: the lowest mean log error among the weights that beat none (1) by more than one
paired standard error. A stage, not one more grid axis: three validations more instead of
a grid four times as large (germany50's learning 109 -> 119 s of CPU, single thread,
measured one after the other on a shared machine). germany50's training
days chose 0.1 (validation median 7.45 -> 6.92 %; test days 10.5 -> 9.8 %). Its alarm
level rose with it (6.7 -> 9.6: the day-weighted spread is narrower, the weekday
innovations larger), and the test Sunday's innovation as well (8.2 -> 12.3, its misfit
0.59 against a level of 1.4): still a false alarm. The training days' weekend estimates
(13 of the 36) are ordinary (innovations 0.7 to 1.8, weekdays up to 4.9), so no level
set on them, by day type or not, places that Sunday: it is unlike any training day.

Budget: the whole option grid (96 combinations with times of day, 64 without) is
validated on the same (origin, later matrix) estimates, so learning costs the grid times
their number, at every start of the live twin. ``validation_plan`` caps them at
``MAX_VALIDATION_ESTIMATES`` (64, 8 per origin on average, as many as a short history's
first origin checks): a short history such as germany50's (36 estimates) is validated in
full, a long one (GEANT 226 matrices: 341 estimates, 92 s of CPU) by the same number of
matrices per origin, one per stratum of its horizons, at about the cost of the single
tail of 75 matrices used before the rolling origins. The price is a noisier choice: on
GEANT's 130 training matrices (every option scored on all 197 estimates, training only)
the option chosen on 62 of them is the 20th of 96, 0.5 points of median error above the
best (budgets of 32, 48 and 95 estimates: +0.1, +0.3, +0.1 points; the next 8 matrices
of each origin instead of strata: +0.3). The budget is set by cost, not by these. Only the median
error decides between options; the posterior spread (for kappa) is computed once, for
the chosen prior.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from nettwin.estimate.prior import (
    HistoryPrior,
    TmHistory,
    estimate_tm_with_prior,
    learn_prior,
)
from nettwin.estimate.tm import RoutingMatrix


@dataclass(frozen=True)
class PriorChoice:
    """What ``prior_from_history`` chose on the rolling-origin validation of the history,
    and why."""

    bins: int
    half_life: float | None  # in matrices
    fit_totals: bool
    use_fanin: bool
    kappa: float
    validation_error: float  # median traffic-weighted error over the validation estimates
    validation_matrices: int  # distinct matrices estimated in the validation
    analog_tau: float | None = None  # node-total likeness weighting (None: off)
    noise_floor: float = 1e-3  # the counters' relative noise the estimate assumes, at least
    origins: int = 1  # rolling origins of the validation
    validation_estimates: int = 0  # (origin, matrix) estimates behind the choice
    per_matrix: bool = False  # shares with each matrix counting once, not by its volume
    members: int = 1  # options averaged (the first is the one described above)
    day_weight: float = 1.0  # weight of the other day type's matrices (1: off)


# analog weighting widths tried by ``prior_from_history`` (units: the typical distance
# between two past matrices' node-total features); None: off
ANALOG_TAUS: tuple[float | None, ...] = (None, 1.0, 0.5, 0.25)
# the counters' assumed relative noise, at least (the counter-versus-prior balance): exact
# counters pinned down (1e-3), or a misfit allowed where the prior's spread is misshapen
NOISE_FLOORS = (1e-3, 3e-3, 1e-2, 3e-2)
# day type (a history with dates holding weekdays and weekend days): the weight of a past
# matrix of the other type than the estimated one's (1: off; 0 would leave a weekend
# estimate two or four days to learn from)
DAY_WEIGHTS = (1.0, 0.3, 0.1, 0.03)
# rolling-origin validation: at most this many origins; at least this many matrices
# validated (when the history allows a first fit of MIN_FIT matrices)
MAX_ORIGINS = 8
MIN_VALIDATED = 8
MIN_FIT = 3
# at most this many (origin, later matrix) estimates per option (``validation_plan``): the
# whole option grid is validated on them, so learning costs grid x this many estimates;
# on average MIN_VALIDATED per origin, what a short history's first origin checks
MAX_VALIDATION_ESTIMATES = MAX_ORIGINS * MIN_VALIDATED
# at most this many options averaged (``_indistinct``): each adds its prior's moments to
# every estimate
MAX_MEMBERS = 8


def validation_origins(n: int, holdout: float = 1 / 3) -> list[int]:
    """Rolling origins of the validation of a history of ``n`` matrices: origin k learns
    on matrices [0, k) only and is checked on every later one, [k, n) (the horizons of a
    prior learned now and used on the days ahead). The validated part is the last
    ``holdout`` of the history but at least ``MIN_VALIDATED`` matrices (a first fit of
    ``MIN_FIT`` allowing); every matrix of it is an origin when there are at most
    ``MAX_ORIGINS``, else ``MAX_ORIGINS`` evenly spaced ones."""
    held = max(round(n * holdout), min(MIN_VALIDATED, n - MIN_FIT), 1)
    first = max(n - held, 2)
    if first >= n:
        return []
    if n - first <= MAX_ORIGINS:
        return list(range(first, n))
    return [first + (n - first) * i // MAX_ORIGINS for i in range(MAX_ORIGINS)]


def validation_plan(n: int, origins: list[int]) -> list[tuple[int, np.ndarray]]:
    """Which later matrices each origin estimates: all of [k, n) while the whole plan
    holds at most ``MAX_VALIDATION_ESTIMATES`` estimates, else the same number q for every
    origin (the largest q within the budget; an origin with fewer later matrices keeps
    all of them), one in each of q equal strata of its horizons (every horizon range stays
    represented), the place within the stratum shifted from origin to origin so that the
    origins check different matrices. germany50's 14 training days (36 estimates of 8
    matrices) are validated in full; GEANT's 226 matrices (341 estimates of 75) by 64 of
    36."""
    counts = [n - k for k in origins]
    q = max(counts, default=0)
    while q > 1 and sum(min(c, q) for c in counts) > MAX_VALIDATION_ESTIMATES:
        q -= 1
    plan = []
    for i, (k, c) in enumerate(zip(origins, counts, strict=True)):
        if c <= q:
            plan.append((k, np.arange(k, n)))
        else:
            # stratum j: horizons [ceil(j c / q), ceil((j + 1) c / q)), at least one each
            lo = -((-np.arange(q + 1) * c) // q)
            place = (i + 0.5) / len(origins)
            plan.append((k, k + lo[:-1] + np.floor(place * np.diff(lo)).astype(np.int64)))
    return plan


@dataclass(frozen=True)
class _Validation:
    """The estimates of one candidate prior over every (origin, later matrix)."""

    error: float  # median traffic-weighted error
    errors: np.ndarray  # traffic-weighted error of every estimate
    ratio: np.ndarray  # |error| / sd of every pair carrying traffic
    innovation: np.ndarray  # of every estimate


def prior_from_history(history: TmHistory, rm: RoutingMatrix, n_nodes: int, *,
                       edge: bool = True,
                       holdout: float = 1 / 3) -> tuple[HistoryPrior, PriorChoice]:
    """Learn the prior, choosing by a rolling-origin protocol inside the history itself
    (``validation_origins``): at each origin a prior learned on the matrices before it,
    every later matrix of the history routed (``rm``) and estimated back; the option with
    the lowest mean log error over all those estimates wins, averaged with those the
    estimates cannot tell from it (``_indistinct``; the prior's ``members``). Options:
    time-of-day bins (1, 4, 24 when times are known and the history passes midnight),
    recency half-life (none, a third of the history), shares traffic-weighted or per matrix, analog
    weighting width, fan-in combined, KL fit to the node totals (with node totals), then
    the counters' noise floor (the counter-versus-prior balance, kept at 1e-3 unless a
    larger one does better). The spread is calibrated there (kappa: the 68th percentile
    of |error| / sd) and the drift alarm set (twice the 99th percentile of the
    innovations; with it, a model level on the misfit: ``misfit_level``). Many origins
    instead of one tail: on a short history (germany50: 14 daily matrices) one tail of 5
    matrices makes noisy choices. The chosen prior is then learned on the whole history."""
    origins = validation_origins(history.n, holdout)
    plan = validation_plan(history.n, origins)
    if history.n < 3 or not origins:
        return learn_prior(history, rm, n_nodes), PriorChoice(1, None, True, False,
                                                               1.0, float("nan"), 0)
    # time-of-day bins only from a history that sees some time of day twice (it wraps
    # past midnight): within one day a bin is learned on the hours before the origin and
    # judged on the next ones, and its thin spread set the drift alarm ten times too high
    # (Abilene, one day every 10 min, counters only: 108 against 13)
    tod = history.time_of_day_s
    has_time = bool(np.isfinite(tod).all()) and bool((np.diff(tod) < 0).any())
    # the day-type weighting re-weighs the analog machinery's moments per estimate: the
    # one-bin priors keep them whenever the history has both day types
    by_day = history.day_types()
    # every option scored on the same estimates; the per-origin priors kept only for the
    # MAX_MEMBERS best so far (the members are among them)
    scored: list[tuple[float, np.ndarray, list[HistoryPrior], float | None]] = []
    for bins, hl_share, per_matrix in itertools.product(
            (1, 4, 24) if has_time else (1,), (None, 1 / 3), (False, True)):
        # analog weighting needs node totals at estimate time; with bins it would
        # split an already thin history twice
        taus = ANALOG_TAUS if edge and bins == 1 else (None,)
        learned = [learn_prior(_head(history, k), rm, n_nodes, bins=bins,
                               half_life=None if hl_share is None else hl_share * k,
                               analog_tau=taus[-1], per_matrix=per_matrix,
                               day_weight=DAY_WEIGHTS[-1] if by_day and bins == 1 else 1.0)
                   for k in origins]
        for tau, fit_totals, use_fanin in itertools.product(
                taus, (True, False) if edge else (False,), (False, True)):
            priors = [replace(p, fit_totals=fit_totals, use_fanin=use_fanin,
                              analog_tau=tau, day_weight=1.0) for p in learned]
            logs = np.log(np.maximum(_validate(history, plan, priors, rm, edge).errors,
                                     1e-12))
            scored.append((float(logs.mean()), logs, priors, hl_share))
            scored.sort(key=lambda t: t[0])
            del scored[MAX_MEMBERS:]
    members = _indistinct(scored)
    _, _, chosen_priors, hl_share = scored[0]
    chosen = chosen_priors[0]

    def mixed(floor: float, kappa: float = 1.0, day: float = 1.0) -> list[HistoryPrior]:
        """The mixture of the members at each origin (one member: that prior itself),
        each with day-type weight ``day``."""
        if len(members) == 1:
            return [replace(p, noise_floor=floor, kappa=kappa, day_weight=day)
                    for p in members[0][2]]
        return [replace(group[0], noise_floor=floor, kappa=kappa, day_weight=day,
                        members=tuple(replace(p, day_weight=day) for p in group))
                for group in zip(*(m[2] for m in members), strict=True)]

    floor = NOISE_FLOORS[0]
    day_weight = 1.0
    if by_day and chosen.bins == 1:
        day_weight = _day_weight(history, plan, rm, edge, lambda d: mixed(floor, day=d))
    val = _validate(history, plan, mixed(floor, day=day_weight), rm, edge)
    for candidate in NOISE_FLOORS[1:]:
        trial = _validate(history, plan, mixed(candidate, day=day_weight), rm, edge)
        if _criterion(trial) < _criterion(val):
            val, floor = trial, candidate
    # the options and the noise floors compare errors only; the spread once, here
    val = _validate(history, plan, mixed(floor, day=day_weight), rm, edge, with_std=True)
    kappa = float(np.quantile(val.ratio, 0.6827)) if val.ratio.size else 1.0
    # the innovations again with the calibrated spread: the alarm level of the prior used
    calibrated = _validate(history, plan, mixed(floor, kappa, day_weight), rm, edge)
    alarm = 2 * float(np.quantile(calibrated.innovation, 0.99))
    finals = []
    for _, _, priors, share in members:
        p = priors[0]
        final = learn_prior(history, rm, n_nodes, bins=p.bins,
                            half_life=None if share is None else share * history.n,
                            analog_tau=p.analog_tau, per_matrix=p.per_matrix,
                            day_weight=day_weight if p.bins == 1 else 1.0)
        finals.append(replace(final, fit_totals=p.fit_totals, use_fanin=p.use_fanin))
    prior = replace(finals[0], kappa=kappa, alarm_innovation=alarm, noise_floor=floor,
                    members=tuple(finals) if len(finals) > 1 else ())
    hl = None if hl_share is None else hl_share * history.n
    return prior, PriorChoice(chosen.bins, hl, chosen.fit_totals, chosen.use_fanin, kappa,
                              val.error, len(np.unique(np.concatenate([t for _, t in plan]))),
                              chosen.analog_tau, floor,
                              len(origins), int(val.innovation.size), chosen.per_matrix,
                              len(members), day_weight)


def _day_weight(history: TmHistory, plan: list[tuple[int, np.ndarray]], rm: RoutingMatrix,
                edge: bool, priors_with: Callable[[float], list[HistoryPrior]]) -> float:
    """The day-type weight (``DAY_WEIGHTS``) for the chosen option: the one of lowest mean
    log error among those that beat no weighting (1) by more than one paired standard
    error (a new option has to show itself, not just tie); 1 when none does."""
    base = np.log(np.maximum(_validate(history, plan, priors_with(1.0), rm, edge).errors,
                             1e-12))
    best, best_score = 1.0, float(base.mean())
    for weight in DAY_WEIGHTS[1:]:
        logs = np.log(np.maximum(_validate(history, plan, priors_with(weight), rm,
                                           edge).errors, 1e-12))
        d = logs - base
        if (d.size > 1 and d.mean() < -d.std(ddof=1) / np.sqrt(d.size)
                and float(logs.mean()) < best_score):
            best, best_score = weight, float(logs.mean())
    return best


def _criterion(val: _Validation) -> float:
    """What the options are compared by: the mean log error (the geometric mean), every
    estimate counting, none dominating: less selection noise than the median of the
    same estimates, which rests on the one or two middle ones."""
    return float(np.log(np.maximum(val.errors, 1e-12)).mean())


def _indistinct(scored: list[tuple[float, np.ndarray, list[HistoryPrior], float | None]]
                ) -> list[tuple[float, np.ndarray, list[HistoryPrior], float | None]]:
    """The options (best first) that the validation cannot tell apart from the best: the
    mean of their paired log-error differences to the best within one standard error
    (the one-standard-error rule read as a set; pairing removes what the estimates share,
    the matrix's own difficulty). Averaging them instead of picking the best is the
    standard remedy for a noisy choice (model averaging)."""
    best = scored[0][1]
    keep = [scored[0]]
    for option in scored[1:]:
        d = option[1] - best
        if d.size > 1 and d.mean() <= d.std(ddof=1) / np.sqrt(d.size):
            keep.append(option)
    return keep


def _head(history: TmHistory, k: int) -> TmHistory:
    """The first ``k`` matrices of the history (what a rolling origin at k may learn on)."""
    return history.select(slice(0, k))


def _validate(history: TmHistory, plan: list[tuple[int, np.ndarray]],
              priors: list[HistoryPrior], rm: RoutingMatrix, edge: bool,
              with_std: bool = False) -> _Validation:
    """The plan's matrices after each origin estimated with that origin's prior: the
    median traffic-weighted error, the innovations and (``with_std``) |error| / sd per pair
    carrying traffic."""
    errs, ratios, innovations = [], [], []
    for (_, targets), prior in zip(plan, priors, strict=True):
        n_nodes = prior.n_nodes
        for t in targets:
            x = history.rate_bps[t]
            est = estimate_tm_with_prior(
                rm, rm.a @ x, prior,
                node_out_bps=np.bincount(rm.src, x, n_nodes) if edge else None,
                node_in_bps=np.bincount(rm.dst, x, n_nodes) if edge else None,
                time_of_day_s=float(history.time_of_day_s[t]),
                day_of_week=None if history.day_of_week is None
                else float(history.day_of_week[t]), with_std=with_std)
            errs.append(float(np.abs(est.rate_bps - x).sum() / x.sum()))
            innovations.append(est.innovation)
            if est.std_bps is not None:
                live = x > 0
                ratios.append(np.abs(est.rate_bps - x)[live]
                              / np.maximum(est.std_bps[live], 1e-12 * x.max()))
    return _Validation(float(np.median(errs)), np.asarray(errs),
                       np.concatenate(ratios) if ratios else np.zeros(0),
                       np.asarray(innovations))
