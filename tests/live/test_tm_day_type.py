"""The day-type weighting of the traffic-matrix prior: the weighted shares against their
brute-force sums, day weight 0 against the prior learned on one day type alone, dates read
from files and epoch times against the calendar, the choice on a history whose weekends
differ only inside the matrix (node totals alike: analog weighting cannot tell them), and
a store round trip."""

from __future__ import annotations

import datetime
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from nettwin import compile_network
from nettwin.engine import CompiledNetwork
from nettwin.estimate import RoutingMatrix, pair_rates, routing_matrix
from nettwin.estimate.history import (
    TmHistory,
    estimate_tm_with_prior,
    fit_margins,
    learn_prior,
    prior_from_history,
)
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.io.tm_history import load_tm_history
from nettwin.live.store import Store
from nettwin.timezones import day_of_week


def _example() -> tuple[CompiledNetwork, RoutingMatrix, np.ndarray]:
    c = compile_network(load_network(example_path()))
    rm = routing_matrix(c)
    return c, rm, pair_rates(c, rm)


def _weekly_history(x: np.ndarray, rm: RoutingMatrix, n: int, weeks: int = 2,
                    seed: int = 3) -> TmHistory:
    """Daily matrices from a Tuesday on: weekdays noisy copies of ``x``; weekend days a
    different matrix with the same node totals (``x``'s pairs shuffled, then fitted back
    to ``x``'s egress and ingress), noisy alike."""
    rng = np.random.default_rng(seed)
    out, inn = np.bincount(rm.src, x, n), np.bincount(rm.dst, x, n)
    weekend = fit_margins(rng.permutation(x) + 0.05 * x.mean(), rm.src, rm.dst, n, out, inn)
    days = (np.arange(7 * weeks) + 1) % 7  # 0 Monday: day 0 of the history a Tuesday
    rows = [(weekend if d >= 5 else x) * rng.uniform(0.9, 1.1, x.size) for d in days]
    return TmHistory(np.vstack(rows), np.full(days.size, np.nan),
                     tuple(f"d{i}" for i in range(days.size)), days.astype(np.float64))


@pytest.mark.parametrize("day_weight", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("today", [2.0, 6.0])
def test_day_weighted_shares_equal_their_brute_force_sums(day_weight: float,
                                                           today: float) -> None:
    c, rm, x = _example()
    n = c.n_nodes
    hist = _weekly_history(x, rm, n)
    prior = learn_prior(hist, rm, n, day_weight=day_weight)
    now = x * 1.1
    out, inn = np.bincount(rm.src, now, n), np.bincount(rm.dst, now, n)
    mean, _ = prior.mean_sd(out, inn, day_of_week=today)
    # oracle: the traffic-weighted fan-out share, each past day weighed 1 when of today's
    # type (weekday or weekend), day_weight otherwise, summed pair by pair
    assert hist.day_of_week is not None
    same = (hist.day_of_week >= 5) == (today >= 5)
    w = np.where(same, 1.0, day_weight)
    expect = np.zeros(rm.src.size)
    for p, s in enumerate(rm.src):
        egress = np.array([row[rm.src == s].sum() for row in hist.rate_bps])
        if rm.routed[p] and (w * egress).sum() > 0:
            expect[p] = out[s] * (w * hist.rate_bps[:, p]).sum() / (w * egress).sum()
    np.testing.assert_allclose(mean, expect, rtol=1e-9, atol=1e-9 * x.max())
    if day_weight == 0.0:  # the prior of today's day type alone
        alone = learn_prior(hist.select(np.flatnonzero(same)), rm, n)
        np.testing.assert_allclose(mean, alone.mean_sd(out, inn)[0], rtol=1e-9,
                                   atol=1e-9 * x.max())


def test_no_date_or_weight_one_is_the_plain_prior() -> None:
    c, rm, x = _example()
    n = c.n_nodes
    hist = _weekly_history(x, rm, n)
    out, inn = np.bincount(rm.src, x, n), np.bincount(rm.dst, x, n)
    plain = learn_prior(hist, rm, n).mean_sd(out, inn)[0]
    weighted = learn_prior(hist, rm, n, day_weight=0.1)
    np.testing.assert_allclose(weighted.mean_sd(out, inn)[0], plain, rtol=1e-12)
    np.testing.assert_allclose(weighted.mean_sd(out, inn, day_of_week=float("nan"))[0],
                               plain, rtol=1e-12)
    undated = replace(hist, day_of_week=None)
    assert not undated.day_types()
    assert learn_prior(undated, rm, n, day_weight=0.1).day_weight == 1.0
    weekdays = hist.select(np.flatnonzero(hist.day_of_week < 5))  # type: ignore[operator]
    assert not weekdays.day_types()  # one day type only: nothing to weigh


def test_a_matrix_without_a_date_keeps_its_weight_and_the_others_are_weighed() -> None:
    # one undated matrix (an upload without a time) turned the weighting off for the whole
    # history; now it counts as of either type. Oracle: the weighted prior equals the prior
    # learned on a history where the undated matrix is dated as the estimated day's type
    c, rm, x = _example()
    n = c.n_nodes
    hist = _weekly_history(x, rm, n)
    out, inn = np.bincount(rm.src, x, n), np.bincount(rm.dst, x, n)
    days = hist.day_of_week.copy()  # type: ignore[union-attr]
    k = int(np.flatnonzero(days >= 5)[0])  # a weekend matrix loses its date
    days[k] = np.nan
    partly = replace(hist, day_of_week=days)
    assert partly.day_types()
    monday = 0.0
    as_weekday = days.copy()
    as_weekday[k] = monday
    got = learn_prior(partly, rm, n, day_weight=0.1).mean_sd(out, inn, day_of_week=monday)[0]
    want = learn_prior(replace(hist, day_of_week=as_weekday), rm, n, day_weight=0.1
                       ).mean_sd(out, inn, day_of_week=monday)[0]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * x.max())
    plain = learn_prior(partly, rm, n).mean_sd(out, inn, day_of_week=monday)[0]
    assert not np.allclose(got, plain, rtol=1e-6)  # the weighting does act


def test_the_choice_weighs_day_types_where_the_weekend_differs_inside_the_matrix() -> None:
    c, rm, x = _example()
    n = c.n_nodes
    hist = _weekly_history(x, rm, n)
    prior, choice = prior_from_history(hist, rm, n)
    assert choice.day_weight < 1.0 and prior.day_weight == choice.day_weight
    # a Sunday like the history's weekends: the day told, nearer than the day not told
    sunday = hist.rate_bps[-2] * 1.02  # the history's second Sunday, a little louder
    out, inn = np.bincount(rm.src, sunday, n), np.bincount(rm.dst, sunday, n)

    def error(day: float | None) -> float:
        est = estimate_tm_with_prior(rm, rm.a @ sunday, prior, node_out_bps=out,
                                     node_in_bps=inn, day_of_week=day, with_std=False)
        return float(np.abs(est.rate_bps - sunday).sum() / sunday.sum())

    assert error(6.0) < error(None)
    # without dates the same history offers no day weighting
    _, undated = prior_from_history(replace(hist, day_of_week=None), rm, n)
    assert undated.day_weight == 1.0


def test_days_of_the_week_from_file_names_and_epoch_times(tmp_path: Path) -> None:
    _, rm, _ = _example()
    net = load_network(example_path())
    nodes = list(net.node_ids)
    for name in ("m-20050201.csv", "m-20050220-1230.csv", "m-undated.csv", "m-20051341.csv",
                 "r12345678-20050205.csv"):
        (tmp_path / name).write_text(f"src,dst,rate_bps\n{nodes[0]},{nodes[1]},1e6\n")
    files = sorted(tmp_path.glob("*.csv"))
    hist = load_tm_history(files, nodes, rm)
    assert hist.day_of_week is not None
    got = dict(zip(hist.labels, hist.day_of_week.tolist(), strict=True))
    # the calendar: 1 February 2005 a Tuesday, 20 February a Sunday; no date, or 13/41: nan
    assert got["m-20050201.csv"] == datetime.date(2005, 2, 1).weekday() == 1
    assert got["m-20050220-1230.csv"] == 6
    assert np.isnan(got["m-undated.csv"]) and np.isnan(got["m-20051341.csv"])
    assert got["r12345678-20050205.csv"] == datetime.date(2005, 2, 5).weekday()  # not 1234-56
    for when in (datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC),
                 datetime.datetime(2005, 2, 20, 23, 59, tzinfo=datetime.UTC),
                 datetime.datetime(2026, 12, 7, 0, 0, 1, tzinfo=datetime.UTC)):
        assert day_of_week(when.timestamp()) == when.weekday()
    assert day_of_week(float("nan")) is None


def test_store_keeps_the_days_of_the_week(store: Store, unique_name: str) -> None:
    days = np.array([1.0, np.nan, 6.0])
    store.save_tm_history(unique_name, TmHistory(np.ones((3, 2)), np.full(3, np.nan),
                                                 ("a", "b", "c"), days))
    back = store.tm_history(unique_name)
    assert back is not None and back.day_of_week is not None
    np.testing.assert_array_equal(back.day_of_week, days)
    store.save_tm_history(unique_name, TmHistory(np.ones((3, 2)), np.full(3, np.nan),
                                                 ("a", "b", "c")))
    back = store.tm_history(unique_name)
    assert back is not None and back.day_of_week is None


# --------------------------------------------------------------- the operator's time zone
def _epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=datetime.UTC).timestamp()


def test_times_of_day_and_days_in_the_operators_zone_against_the_calendar() -> None:
    from nettwin.timezones import operator_zone, time_of_day

    berlin = operator_zone("Europe/Berlin")
    la = operator_zone("America/Los_Angeles")
    # 5 February 2005 was a Saturday; Berlin keeps CET (UTC+1) in February: 23:30 UTC
    # is Sunday 00:30 there
    t = _epoch(2005, 2, 5, 23, 30)
    assert (day_of_week(t, berlin), time_of_day(t, berlin)) == (6.0, 1800.0)
    assert (day_of_week(t), time_of_day(t)) == (5.0, 84_600.0)  # UTC: Saturday 23:30
    # Friday 4 December 2026, 20:00 PST (UTC-8) is Saturday 04:00 UTC: a weekend hour in
    # UTC, a weekday one on the US west coast
    t = _epoch(2026, 12, 5, 4, 0)
    assert (day_of_week(t, la), time_of_day(t, la)) == (4.0, 72_000.0)
    assert day_of_week(t) == 5.0
    # Sunday 8 March 2026: Los Angeles springs forward at 02:00 PST to 03:00 PDT
    assert time_of_day(_epoch(2026, 3, 8, 9, 30), la) == 1.5 * 3600  # 01:30 PST (UTC-8)
    assert time_of_day(_epoch(2026, 3, 8, 10, 30), la) == 3.5 * 3600  # 03:30 PDT (UTC-7)
    # Sunday 1 November 2026: back at 02:00 PDT to 01:00 PST; 01:30 comes twice
    assert time_of_day(_epoch(2026, 11, 1, 8, 30), la) == 1.5 * 3600  # PDT
    assert time_of_day(_epoch(2026, 11, 1, 9, 30), la) == 1.5 * 3600  # PST
    assert day_of_week(_epoch(2026, 11, 1, 9, 30), la) == 6.0
    # every quarter hour of that week: the wall clock zoneinfo shows there
    from zoneinfo import ZoneInfo

    start = _epoch(2026, 3, 5)
    for t in np.arange(start, start + 7 * 86_400, 900.0).tolist():
        wall = datetime.datetime.fromtimestamp(t, ZoneInfo("America/Los_Angeles"))
        assert time_of_day(t, la) == wall.hour * 3600 + wall.minute * 60 + wall.second
        assert day_of_week(t, la) == wall.weekday()
    assert time_of_day(float("nan"), berlin) is None and day_of_week(float("nan"), la) is None


def test_the_default_zone_reads_epoch_times_exactly_as_before() -> None:
    from nettwin.timezones import check_timezone, operator_zone, time_of_day

    assert operator_zone(None) is None and operator_zone("UTC") is None
    assert check_timezone(None) == "UTC"
    rng = np.random.default_rng(5)
    for t in [*rng.uniform(-1e9, 4e9, 2000).tolist(), 0.0, 86_400.0, 1.7e9 + 0.25]:
        # the arithmetic the live twin used before there was a setting; the calendar's
        # day of the week in UTC
        assert time_of_day(t) == float(t % 86_400.0)
        assert day_of_week(t) == float(datetime.datetime.fromtimestamp(t, datetime.UTC).weekday())


@pytest.mark.parametrize("name", ["Europe/Berln", "CET+1", "", " UTC", "../etc/passwd"])
def test_a_bad_zone_name_is_refused_naming_it_and_the_fix(name: str) -> None:
    from nettwin.errors import NettwinError
    from nettwin.live import LiveTwin

    with pytest.raises(NettwinError) as info:
        LiveTwin(load_network(example_path()), None, timezone=name)
    assert repr(name) in str(info.value) and "Europe/Berlin" in str(info.value)
    if name == "Europe/Berln":
        assert "did you mean 'Europe/Berlin'" in str(info.value)


def test_the_live_twin_estimates_with_the_day_type_of_its_zone() -> None:
    # Friday 11 February 2005, 23:30 UTC is Saturday 00:30 in Berlin: the twin set to
    # Berlin estimates a weekend matrix, the default twin a weekday one (oracle: the
    # library's estimate told the calendar's day and time)
    from nettwin.live import LiveTwin

    c, rm, x = _example()
    hist = _weekly_history(x, rm, c.n_nodes)
    net = load_network(example_path())
    rates = rm.a @ (hist.rate_bps[4] * 1.02)  # a Saturday of the history, a little louder
    t = _epoch(2005, 2, 11, 23, 30)
    got = {}
    for zone in (None, "UTC", "Europe/Berlin"):
        lt = LiveTwin(net, None, timezone=zone, drift_every_s=None)
        prior_choice = lt.use_history(hist)
        assert prior_choice.day_weight < 1.0 and lt.prior is not None
        got[zone] = lt.estimate_tm(arc_rate_bps=rates, at=t).rate_bps
        day, tod = (5.0, 1800.0) if zone == "Europe/Berlin" else (4.0, 84_600.0)
        want = estimate_tm_with_prior(rm, rates, lt.prior, time_of_day_s=tod,
                                      day_of_week=day, noise=lt.counter_noise)
        np.testing.assert_array_equal(got[zone], want.rate_bps)
        assert lt.timezone == (zone or "UTC")
    np.testing.assert_array_equal(got[None], got["UTC"])
    assert not np.allclose(got[None], got["Europe/Berlin"], rtol=1e-6)
