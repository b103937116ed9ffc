"""Forecasts against known generating processes, exhaustion against compounding, and the
worst single failure against a full engine run per failure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nettwin.engine import compile_network, simulate
from nettwin.examples import example_path
from nettwin.forecast import ForecastError, evaluate, fit_seasonal, growth_per_day, link_outlook
from nettwin.forecast.capacity import days_to_exhaustion
from nettwin.io import load_network

pytest.importorskip("statsmodels")

P = 96


def _series(days: int, seed: int, phi: float = 0.8, sigma: float = 0.1) -> np.ndarray:
    """A daily lognormal profile times an AR(1) level: the model's own family."""
    rng = np.random.default_rng(seed)
    n = days * P
    prof = 0.5 * np.sin(2 * np.pi * np.arange(n) / P)
    e = np.zeros(n)
    for t in range(1, n):
        e[t] = phi * e[t - 1] + sigma * rng.standard_normal()
    return np.asarray(1e9 * np.exp(prof + e))


def test_beats_seasonal_naive_on_its_own_process() -> None:
    y = _series(6, 1)
    for lead in (4, P):
        skill = evaluate(y, P, 5 * P, lead)
        assert skill.mae_model < skill.mae_naive


def test_intervals_cover_about_95_percent() -> None:
    hits = []
    for seed in range(20):
        y = _series(5, 100 + seed)
        model = fit_seasonal(y[:4 * P], P)
        log_point, sigma = model.forecast_from(model.adjusted, 4 * P - 1, P)
        z = np.log(y[4 * P:] + model.offset)
        hits.append(np.abs(z - log_point) <= 1.96 * sigma)
    coverage = float(np.mean(hits))
    assert 0.88 <= coverage <= 0.99


def test_too_short_or_broken_series_refused() -> None:
    with pytest.raises(ForecastError, match="two full periods"):
        fit_seasonal(np.ones(P + 3), P)
    y = _series(3, 2)
    y[5] = np.nan
    with pytest.raises(ForecastError, match="missing"):
        fit_seasonal(y, P)


def test_days_to_exhaustion_matches_compounding() -> None:
    g = growth_per_day(np.outer(1.02 ** np.repeat(np.arange(4), P), [1.0, 2.0]), P)
    assert g == pytest.approx(0.02, rel=1e-9)
    d = days_to_exhaustion(0.5, g)
    assert 0.5 * (1 + g) ** d == pytest.approx(1.0)
    assert days_to_exhaustion(0.5, -0.01) == math.inf
    assert days_to_exhaustion(1.2, 0.01) == 0.0


def test_worst_single_failure_matches_full_runs() -> None:
    net = load_network(example_path())
    c = compile_network(net)
    rows = {r.link: r for r in link_outlook(c, c.demand_rate_bps, 0.01)}
    util = np.zeros((len(c.link_ids), c.n_arcs))
    for i in range(len(c.link_ids)):  # oracle: a full engine run per failed link
        up = c.arc_up.copy()
        up[[2 * i, 2 * i + 1]] = False
        util[i] = np.where(up, simulate(c, arc_up=up).arc_utilisation, 0.0)
    base = simulate(c).arc_utilisation
    for i, lid in enumerate(c.link_ids):
        worst = max(util[:, 2 * i].max(), util[:, 2 * i + 1].max(), base[2 * i], base[2 * i + 1])
        assert rows[lid].worst_failure_utilisation == pytest.approx(worst, rel=1e-9)
        assert rows[lid].busy_utilisation == pytest.approx(max(base[2 * i], base[2 * i + 1]))


def test_cli_refuses_a_series_shorter_than_two_days(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from nettwin.cli.app import app

    for i in range(3):
        (tmp_path / f"tm-20040301-00{i}5.csv").write_text(
            "src,dst,rate_bps\nNew-York,Chicago,1e9\nChicago,Denver,2e9\n")
    res = CliRunner().invoke(app, ["forecast", "--traffic-series", str(tmp_path)])
    assert res.exit_code == 3, res.output
    assert "less than two days" in res.output


def test_cli_asks_for_the_series_not_a_default_folder(tmp_path,  # type: ignore[no-untyped-def]
                                                      monkeypatch) -> None:
    """Without --traffic-series the command says the option is required; it never reads a
    folder the user did not name (it used to read ./traffic: here a folder of matrices
    that would otherwise be forecast, and without one it blamed a folder 'traffic')."""
    from typer.testing import CliRunner

    from nettwin.cli.app import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "traffic").mkdir()
    for i in range(3):
        (tmp_path / "traffic" / f"tm-20040301-00{i}5.csv").write_text(
            "src,dst,rate_bps\nNew-York,Chicago,1e9\n")
    res = CliRunner().invoke(app, ["forecast"])
    assert res.exit_code == 3, res.output
    assert "--traffic-series" in res.output and "required" in res.output
    assert "less than two days" not in res.output  # ./traffic was not read


def test_forecast_demands_reports_each_demand_and_the_end() -> None:
    # the CLI's only feedback during the per-demand fits
    from nettwin.forecast import forecast_demands

    rng = np.random.default_rng(2)
    period, days, k = 24, 3, 7
    t = np.arange(period * days)
    rates = (1e6 * (2 + np.sin(2 * np.pi * t / period))[:, None]
             * rng.uniform(0.5, 2.0, k)[None, :] * rng.lognormal(0, 0.05, (t.size, k)))
    rates[:, 3] = 0.0  # one demand too thin to model: still counted
    heard: list[tuple[int, int]] = []
    plain = forecast_demands(rates, period, period)
    told = forecast_demands(rates, period, period, lambda d, n: heard.append((d, n)))
    assert heard == [(j, k) for j in range(k + 1)]
    np.testing.assert_array_equal(told.point_bps, plain.point_bps)
