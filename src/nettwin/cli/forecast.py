"""``nettwin forecast``: seasonal traffic forecasts and time to exhaustion per link."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from nettwin.cli.common import (
    CapacityOpt,
    FileArg,
    FormatOpt,
    JsonOpt,
    MetricOpt,
    MetricsFileOpt,
    emit_json,
    fail,
    json_to_stdout,
    load,
    out,
    progress_bar,
    set_quiet,
    step,
)
from nettwin.errors import NettwinError, ValidationError
from nettwin.io import MetricPolicy
from nettwin.model.problems import Problem

commands = typer.Typer()


def _skill_rows(series: np.ndarray, period: int, train: int, leads: dict[str, int]
                ) -> dict[str, dict[str, float]]:
    from nettwin.forecast import evaluate

    cols = [j for j in range(series.shape[1]) if (series[:, j] > 0).mean() >= 0.9]
    out_: dict[str, dict[str, float]] = {}
    for name, lead in leads.items():
        skills = [evaluate(series[:, j], period, train, lead) for j in cols]
        model = np.array([s.mase_model for s in skills])
        naive = np.array([s.mase_naive for s in skills])
        out_[name] = {"series": len(cols), "excluded_sparse": series.shape[1] - len(cols),
                      "mase_mean": float(np.mean(model)), "mase_median": float(np.median(model)),
                      "naive_mase_mean": float(np.mean(naive)),
                      "naive_mase_median": float(np.median(naive)),
                      "better_than_naive": float(np.mean(model < naive))}
    return out_


@commands.command("forecast")
def forecast_cmd(
    file: FileArg = None,
    traffic_series: Annotated[Path | None, typer.Option(
        "--traffic-series", show_default=False,
        help="Folder of traffic matrices, one per interval (SNDlib dynamic data, e.g. "
             "../shared/data/traffic/abilene-zhang-5min). Required."
    )] = None,
    evaluate_skill: Annotated[bool, typer.Option(
        "--evaluate", help="Train on all days but the last, forecast the last: MASE per "
                           "demand and link at 1-hour and 1-day horizons, and seasonal "
                           "naive's.")] = False,
    top: Annotated[int, typer.Option(min=1, help="Links to list.")] = 12,
    fmt: FormatOpt = None,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
    json_out: JsonOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Seasonal traffic forecasts per link and demand (daily profile + autoregression on
    the log, 95 % intervals) and time to exhaustion per link at the busy hour, under normal
    routing and under the worst single link failure.

    JSON: {"growth_per_day", "busy_step", "links": [{"link", "busy_utilisation",
    "worst_failure_utilisation", "worst_failure", "days_to_exhaustion",
    "days_to_exhaustion_failure"}], "skill": {"demands"|"links": {"1h"|"1d": {"mase_mean",
    "mase_median", "naive_mase_mean", ...}}}} (skill with --evaluate).
    """
    set_quiet(quiet)
    json_to_stdout(json_out)
    from nettwin.engine import compile_network
    from nettwin.engine.simulate import route
    from nettwin.forecast import forecast_demands, growth_per_day, link_outlook
    from nettwin.io.traffic_series import read_traffic_series, traffic_files

    try:
        if traffic_series is None:
            # No default folder: a relative "traffic" would read whatever the working
            # directory happens to hold, and without one the error named a folder never asked for.
            raise ValidationError([Problem(
                "--traffic-series", "is required",
                fix="give the folder of measured matrices, e.g. --traffic-series "
                    "../shared/data/traffic/abilene-zhang-5min")])
        network = load(file, fmt, None, default_capacity, metric_policy, metrics=metrics_file)
        with step("reading the traffic series"):
            network, series = read_traffic_series(network, traffic_files(traffic_series))
        c = compile_network(network)
        period = series.steps_per_day
        rates = series.rate_bps
        if rates.shape[0] < 2 * period:
            raise NettwinError(f"{rates.shape[0]} intervals of {series.interval_s:g} s are "
                               f"less than two days ({2 * period}): a daily forecast needs "
                               "more history")
        with progress_bar("forecasting demands") as advance:
            fc = forecast_demands(rates, period, period, advance)
        with step("busy-hour outlook"):
            growth = growth_per_day(rates, period)
            busy = int(fc.upper_bps.sum(axis=1).argmax())
            rows = link_outlook(c, fc.upper_bps[busy], growth)
        doc: dict[str, Any] = {"growth_per_day": growth, "busy_step": busy,
                               "interval_s": series.interval_s,
                               "links": [r.__dict__ for r in rows]}
        if evaluate_skill:
            days = rates.shape[0] // period
            if days < 3:
                raise NettwinError(f"--evaluate needs three days (two to train, one to test); "
                                   f"the series has {days}")
            train = (days - 1) * period
            leads = {"1h": max(1, round(3600 / series.interval_s)), "1d": period}
            with step("evaluating"):
                loads = np.stack([route(c, c.arc_up, r).load_bps for r in rates])
                doc["skill"] = {"demands": _skill_rows(rates, period, train, leads),
                                "links": _skill_rows(loads, period, train, leads)}
    except NettwinError as exc:
        raise fail(exc) from None
    table = Table(title=f"Busy-hour outlook (traffic growth {100 * growth:+.2f} %/day)")
    for col in ("link", "busy util", "worst failure util", "worst failure",
                "days left", "days left (failure)"):
        table.add_column(col)

    def in_days(x: float) -> str:
        return "never" if math.isinf(x) else f"{x:.0f}"

    for r in sorted(rows, key=lambda r: r.days_to_exhaustion_failure)[:top]:
        table.add_row(escape(r.link), f"{100 * r.busy_utilisation:.0f} %",
                      f"{100 * r.worst_failure_utilisation:.0f} %", escape(r.worst_failure),
                      in_days(r.days_to_exhaustion), in_days(r.days_to_exhaustion_failure))
    out.print(table)
    for what, per in doc.get("skill", {}).items():
        for h, s in per.items():
            out.print(f"{what} {h}: MASE {s['mase_mean']:.3f} (median {s['mase_median']:.3f})"
                      f" vs seasonal naive {s['naive_mase_mean']:.3f}; better on "
                      f"{100 * s['better_than_naive']:.0f} % of {s['series']} series")
    emit_json(json_out, doc)
