"""``nettwin agent evaluate|train``: policies on the Gymnasium environments of the twin."""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from nettwin.cli.common import (
    FileArg,
    JsonOpt,
    MetricsFileOpt,
    NetworkAliasOpt,
    err,
    fail,
    json_to_stdout,
    load,
    network_file,
    out,
    write_json_file,
)
from nettwin.cli.render import figure, plural
from nettwin.errors import NettwinError, ValidationError
from nettwin.examples import example_path
from nettwin.io import MetricPolicy
from nettwin.model.problems import Problem

agent_app = typer.Typer(help="AI agents in the twin: evaluate policies, train one.",
                        no_args_is_help=True)

EnvOpt = Annotated[str, typer.Option("--env", help="Environment id: nettwin/TrafficEngineering"
                                                   "-v0, nettwin/FailureRecovery-v0 or "
                                                   "nettwin/Energy-v0.")]
SeriesOpt = Annotated[str | None, typer.Option(
    "--traffic", "-t", help="Traffic over time: a folder or glob of matrix files, one per "
                            "interval in name order (e.g. the SNDlib Abilene 5-minute files)."
                            " Default: the network's matrix under a synthetic diurnal day.")]
ScaleOpt = Annotated[float, typer.Option("--traffic-scale", min=0.0,
                                         help="Multiply all traffic (growth what-if).")]
DaysOpt = Annotated[str | None, typer.Option(
    "--days", help="Days of the series episodes are drawn from, e.g. '3,4' (held out).")]
StepsOpt = Annotated[int | None, typer.Option(
    "--episode-steps", min=1, help="Intervals per episode (default: a day; 24 for "
                                   "FailureRecovery).")]
EventsOpt = Annotated[str | None, typer.Option(
    "--events", help="Event mix, comma-separated: fibre_cut, srlg_cut, node_loss, rain_storm,"
                     " surge, cascade (FailureRecovery default: all that apply).")]
StormOpt = Annotated[Path | None, typer.Option(
    "--storm", help="Storm file for rain_storm events (default: a drawn squall cell).")]
ProfilesOpt = Annotated[Path | None, typer.Option(
    "--profiles", help="Extra ACM profiles (vendor-table format) for radio links.")]


def _days(spec: str | None) -> list[int] | None:
    if spec is None:
        return None
    try:
        return [int(x) for x in spec.split(",") if x.strip()]
    except ValueError:
        raise ValidationError([Problem("--days", "expected day numbers", value=spec,
                                       fix="e.g. --days 3,4")]) from None


def env_kwargs(path: Path | None, traffic: str | None, scale: float, days: str | None,
               episode_steps: int | None, events: str | None, storm: Path | None,
               profiles: Path | None, metrics: Path | None = None) -> dict[str, Any]:
    """Keyword arguments of gymnasium.make from the command line (files read here)."""
    from nettwin.io.traffic_series import read_traffic_series, traffic_files
    from nettwin.radio.acm import bundled_profiles, load_acm_profiles
    from nettwin.radio.storm import parse_storm

    network = load(path, None, None, 10e9, MetricPolicy.INVERSE_CAPACITY,
                   metrics=metrics)
    kwargs: dict[str, Any] = {"traffic_scale": scale}
    if traffic is not None:
        network, kwargs["traffic"] = read_traffic_series(network, traffic_files(traffic))
    kwargs["network"] = network
    arrivals = network.demands.arrivals
    bursty = 0 if arrivals is None else int(arrivals.bursty().sum())
    if bursty:
        from nettwin.engine.options import ArrivalModel, SimulationOptions

        kwargs["options"] = SimulationOptions(arrival_model=ArrivalModel.POISSON)
        err.print(f"[dim]note: the sandbox queues every link as Poisson; the bursty arrival "
                  f"processes of {plural(bursty, 'demand')} are left out of its rewards "
                  "(nettwin simulate and whatif model them)[/]")
    if days is not None:
        kwargs["days"] = _days(days)
    if episode_steps is not None:
        kwargs["episode_steps"] = episode_steps
    extra = dict(bundled_profiles())
    bundled = example_path("munich-acm-38ghz").with_suffix(".txt")
    if bundled.exists():
        extra.update(load_acm_profiles(bundled))
    if profiles is not None:
        extra.update(load_acm_profiles(profiles))
    kwargs["radio_profiles"] = extra
    if events:
        from nettwin.gym import Event, EventKind, parse_events

        parsed = list(parse_events([e.strip() for e in events.split(",") if e.strip()]))
        if storm is not None:
            doc = yaml.safe_load(storm.read_text(encoding="utf-8"))
            the_storm = parse_storm(doc, str(storm))
            parsed = [Event(e.kind, e.target, e.at_step, storm=the_storm)
                      if e.kind is EventKind.RAIN_STORM else e for e in parsed]
        kwargs["events"] = parsed
    return kwargs


def resolve_policy(spec: str) -> tuple[str, Any]:
    """A policy from its name: a baseline, a saved model (.npz) or module:callable."""
    from nettwin.gym.agents import BASELINES, load_policy

    if spec in BASELINES:
        return spec, BASELINES[spec]()
    if spec.endswith(".npz") or Path(spec).exists():
        return Path(spec).stem, load_policy(spec)
    if ":" in spec:
        module, _, attr = spec.partition(":")
        try:
            obj = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ValidationError([Problem(f"policy {spec!r}", "cannot import it",
                                           value=str(exc), fix="give module:callable on the "
                                                               "Python path")]) from None
        return attr, obj() if isinstance(obj, type) else obj
    raise ValidationError([Problem("policy", "unknown policy", value=spec,
                                   fix="noop, random, greedy, optimizer, a saved model .npz "
                                       "or module:callable")])


def _report_html(path: Path, env_id: str, summary: dict[str, Any],
                 records: list[dict[str, Any]], settings: dict[str, Any]) -> None:
    from nettwin.report.html import table_html, write_report

    rows = [{"policy": name} | row for name, row in summary.items()]
    write_report(path, f"nettwin agent evaluation: {env_id}", [
        ("Settings", table_html([settings])),
        ("Per policy (same seeded episodes)", table_html(rows)),
        ("Per episode", table_html(records, limit=500)),
    ])
    err.print(f"wrote {path}")


def _summary_table(title: str, summary: dict[str, dict[str, Any]]) -> Table:
    """One row per policy. A column is never narrower than its widest figure, and folds
    rather than cuts: at 80 columns rich had shortened the mean reward to '-123.0…'."""
    rows = []
    for name, row in summary.items():
        energy = row.get("energy_kwh")
        rows.append([name, figure(row["mean_reward"]),
                     f"{figure(100 * row['sla_kept_share'])} %",
                     f"{row['sla_minutes_lost']:.0f}", figure(row["mean_max_utilisation"]),
                     figure(row["peak_max_utilisation"]), str(row["changes"]),
                     "-" if energy is None else f"{energy:.1f}"])
    table = Table(title=title)
    for i, col in enumerate(("policy", "mean reward", "SLA kept", "SLA-min lost", "mean MLU",
                             "peak MLU", "changes", "energy kWh")):
        table.add_column(col, justify="left" if i == 0 else "right", overflow="fold",
                         min_width=max((len(r[i]) for r in rows), default=1))
    for cells in rows:
        table.add_row(*cells)
    return table


@agent_app.command("evaluate")
def evaluate_cmd(
    policy: Annotated[str, typer.Argument(
        help="noop | random | greedy | optimizer | a saved model (.npz) | module:callable; "
             "several, comma-separated, are compared on the same episodes.")],
    file: FileArg = None,
    env_id: EnvOpt = "nettwin/TrafficEngineering-v0",
    episodes: Annotated[int, typer.Option("--episodes", min=1)] = 5,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    network_alias: NetworkAliasOpt = None,
    metrics: MetricsFileOpt = None,
    traffic: SeriesOpt = None,
    traffic_scale: ScaleOpt = 1.0,
    days: DaysOpt = None,
    episode_steps: StepsOpt = None,
    events: EventsOpt = None,
    storm: StormOpt = None,
    profiles: ProfilesOpt = None,
    json_out: JsonOpt = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write a report.")] = None,
) -> None:
    """Run policies over the same seeded episodes: SLA-minutes, MLU, energy, changes."""
    import gymnasium

    import nettwin.gym
    from nettwin.gym.evaluate import aggregate, evaluate_policy, records_as_dicts

    json_to_stdout(json_out)
    try:
        kwargs = env_kwargs(network_file(file, network_alias), traffic, traffic_scale, days,
                            episode_steps, events, storm, profiles, metrics)
        if env_id not in nettwin.gym.ENV_IDS:
            raise ValidationError([Problem("--env", "unknown environment", value=env_id,
                                           fix=f"use {', '.join(nettwin.gym.ENV_IDS)}")])
        policies = [resolve_policy(p.strip()) for p in policy.split(",") if p.strip()]
        records = []
        for name, pol in policies:
            t0 = time.perf_counter()
            records += evaluate_policy(lambda **o: gymnasium.make(env_id, **(kwargs | o)), pol,
                                       name=name, episodes=episodes, seed=seed)
            err.print(f"[dim]{name}: {plural(episodes, 'episode')} in "
                      f"{time.perf_counter() - t0:.1f} s")
    except NettwinError as exc:
        raise fail(exc) from None
    summary = aggregate(records)
    out.print(_summary_table(f"{env_id}: {plural(episodes, 'episode')}, seed {seed}", summary))
    settings = {"env": env_id, "episodes": episodes, "seed": seed,
                "network": kwargs["network"].name, "traffic": traffic or "synthetic diurnal",
                "traffic_scale": traffic_scale, "days": days or "all",
                "events": events or "default"}
    rows = records_as_dicts(records)
    if json_out is not None:
        write_json_file(json_out, {"settings": settings, "policies": summary,
                                   "episodes": rows})
    if html_out is not None:
        _report_html(html_out, env_id, summary, rows, settings)


@agent_app.command("train")
def train_cmd(
    out_path: Annotated[Path, typer.Option("--out", help="Where to save the policy (.npz).")],
    file: FileArg = None,
    network_alias: NetworkAliasOpt = None,
    metrics: MetricsFileOpt = None,
    traffic: SeriesOpt = None,
    traffic_scale: ScaleOpt = 1.0,
    days: DaysOpt = None,
    episode_steps: StepsOpt = None,
    generations: Annotated[int, typer.Option("--generations", min=1)] = 25,
    population: Annotated[int, typer.Option("--population", min=4)] = 32,
    episodes: Annotated[int, typer.Option("--episodes", min=1,
                                          help="Episodes per candidate.")] = 4,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    kind: Annotated[str, typer.Option(
        "--kind", help="link-score (discrete: one metric move per step) or link-level "
                       "(continuous: every link's level each step).")] = "link-score",
) -> None:
    """Train a link-score or link-level policy on TrafficEngineering-v0 (cross-entropy
    search, numpy only, all candidates stepped in one vector environment) on the given
    training days."""
    from nettwin.gym.evaluate import train_link_score

    try:
        kwargs = env_kwargs(network_file(file, network_alias), traffic, traffic_scale, days,
                            episode_steps, None, None, None, metrics)
        kwargs.pop("radio_profiles")
        t0 = time.perf_counter()
        policy, _ = train_link_score(
            kwargs, generations=generations, population=population, episodes=episodes,
            seed=seed, kind=kind, progress=lambda e: err.print(
                f"[dim]generation {e.generation}: mean {e.mean_return:.3f}, elite "
                f"{e.elite_return:.3f}, best {e.best_return:.3f}"))
    except NettwinError as exc:
        raise fail(exc) from None
    policy.save(out_path)
    err.print(f"trained in {time.perf_counter() - t0:.1f} s; wrote {out_path}")
