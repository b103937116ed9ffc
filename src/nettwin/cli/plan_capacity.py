"""``nettwin optimize capacity``: the cheapest capacity modules (and new links) so that no
link exceeds the threshold, normally and under every failure, year by year."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from nettwin.cli.common import (
    EXIT_BAD_INPUT,
    CapacityOpt,
    FileArg,
    FormatOpt,
    JsonOpt,
    MetricOpt,
    MetricsFileOpt,
    alert,
    emit_json,
    err,
    fail,
    json_to_stdout,
    load,
    out,
    progress_bar,
    step,
)
from nettwin.cli.render import pct
from nettwin.errors import NettwinError
from nettwin.io import MetricPolicy, NetworkFormat, detect_network_format, save_network
from nettwin.optimize.capacity import (
    Candidate,
    CapacityPlan,
    InfeasiblePlanError,
    ModuleCatalogue,
    Resilience,
    apply_capacity_plan,
    plan_capacity,
)

EXIT_INFEASIBLE = 1  # the question had an answer: no plan exists (as an SLA check's 1)


def _catalogue(network_file: Path | None, fmt: NetworkFormat | None, modules: Path | None,
               network: Any) -> ModuleCatalogue:
    from nettwin.io.capacity_files import catalogue_from_sndlib, read_module_catalogue

    if modules is not None:
        return read_module_catalogue(modules, network)
    kind = None if network_file is None else (fmt or detect_network_format(network_file))
    if kind in (NetworkFormat.SNDLIB_NATIVE, NetworkFormat.SNDLIB_XML):
        assert network_file is not None
        return catalogue_from_sndlib(network_file, network)
    raise typer.BadParameter("the network file carries no module list (only SNDlib files "
                             "do): give --modules modules.yaml (see 'nettwin optimize "
                             "capacity --help')", param_hint="--modules")


def _gbps(bps: float) -> str:
    return f"{bps / 1e9:,.3g}G" if bps >= 1e8 else f"{bps / 1e6:,.3g}M"


def _summary(plan: CapacityPlan, title: str) -> Table:
    t = Table(title=title)
    t.add_column("")
    t.add_column("value", justify="right")
    rows = [("cost (all years)", f"{plan.cost:,.0f}")]
    if len(plan.years) > 1:
        rows.append(("cost, present value", f"{plan.cost_discounted:,.0f}"))
    rows += [
        ("best bound (HiGHS)", "-" if plan.best_bound is None else f"{plan.best_bound:,.0f}"),
        ("optimality gap", "-" if plan.gap is None else f"{100 * plan.gap:.3f} %"),
        ("LP relaxation bound", "-" if plan.lp_bound is None else f"{plan.lp_bound:,.0f}"),
        ("gap to the LP bound", "-" if plan.lp_gap is None else f"{100 * plan.lp_gap:.2f} %"),
        ("links upgraded", str(len(plan.upgrades))),
        ("new links", str(len(plan.new_links))),
        ("worst utilisation, normal", pct(plan.worst_utilisation_normal)),
    ]
    if plan.worst_utilisation_failure is not None:
        rows += [(f"worst utilisation, {plan.failures_checked} failures",
                  pct(plan.worst_utilisation_failure)),
                 ("worst failure", str(plan.worst_failure))]
    rows += [("iterations (MILP solves)", str(plan.iterations)),
             ("seconds", f"{plan.seconds:.1f} ({plan.status})")]
    for k, v in rows:
        t.add_row(k, v)
    return t


def _upgrades_table(plan: CapacityPlan, top: int) -> Table:
    t = Table(title=f"Upgrades ({len(plan.upgrades)}, costliest first)")
    for col in ("link", "modules", "capacity before", "after", "cost"):
        t.add_column(col, justify="left" if col in ("link", "modules") else "right")
    for u in sorted(plan.upgrades, key=lambda u: -u["cost"])[:top]:
        t.add_row(escape(u["link"]), ", ".join(f"{m['count']} x {m['module']}"
                                               for m in u["modules"]),
                  _gbps(u["capacity_bps_before"]), _gbps(u["capacity_bps_after"]),
                  f"{u['cost']:,.0f}")
    for n in plan.new_links:
        t.add_row(escape(f"NEW {n['link']} ({n['a']}-{n['b']})"),
                  ", ".join(f"{m['count']} x {m['module']}" for m in n["modules"]),
                  "-", _gbps(n["capacity_bps_after"]), f"{n['cost']:,.0f}")
    return t


def _years_table(plan: CapacityPlan) -> Table:
    t = Table(title="What to add when")
    for col in ("year", "traffic", "links upgraded", "new links", "cost", "worst failure util"):
        t.add_column(col, justify="right")
    for y in plan.years:
        t.add_row(str(y.year), f"x{y.traffic_factor:.3g}", str(len(y.upgrades)),
                  str(len(y.new_links)), f"{y.cost:,.0f}",
                  "-" if y.worst_utilisation_failure is None
                  else pct(y.worst_utilisation_failure))
    return t


def capacity_cmd(
    file: FileArg = None,
    fmt: FormatOpt = None,
    traffic: Annotated[Path | None, typer.Option(
        "--traffic", "-t", help="Traffic matrix file, or a folder/glob of measured matrices "
                                "(planned for the peak of each demand over them).")] = None,
    growth: Annotated[float, typer.Option(
        "--growth", min=0.01, help="Traffic factor per year (1.3 = +30 %/year); year k "
                                   "carries today's traffic x growth**k.")] = 1.0,
    years: Annotated[int, typer.Option("--years", min=1, max=30,
                                       help="Years to plan, year by year.")] = 1,
    threshold: Annotated[float, typer.Option(
        "--threshold", min=0.01, max=1.0, help="Utilisation no link may exceed.")] = 0.8,
    survive: Annotated[Resilience, typer.Option(
        "--survive", help="none; n-1: every single link failure; srlg: also every "
                          "shared-risk group.")] = Resilience.N1,
    modules: Annotated[Path | None, typer.Option(
        "--modules", help="modules.yaml (default: the SNDlib file's own module lists).")]
        = None,
    candidates: Annotated[Path | None, typer.Option(
        "--candidates", help="new_links.yaml: links that may be built (they change "
                             "routing).")] = None,
    discount_rate: Annotated[float, typer.Option(
        "--discount-rate", min=0.0, max=1.0, help="Yearly discount of later spending "
                                                  "(0: minimise the plain total).")] = 0.0,
    time_limit: Annotated[float, typer.Option(
        "--time-limit", min=1.0, help="Seconds for the MILP loop (then the best plan found "
                                      "and its gap).")] = 300.0,
    json_out: JsonOpt = None,
    apply_to: Annotated[Path | None, typer.Option(
        "--apply-to", help="Write the upgraded network (native YAML/JSON).")] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Upgrades shown.")] = 20,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
) -> None:
    """Cheapest capacity modules (and new links) keeping every link under the threshold,
    normally and under every failure; MILP (HiGHS) with failures added lazily."""
    from nettwin.io.capacity_files import load_plan_traffic, read_candidates

    to_stdout = json_to_stdout(json_out)
    if apply_to is not None and apply_to.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise typer.BadParameter(f"{apply_to}: the network is written in the native "
                                 "format; use a .yaml, .yml or .json name",
                                 param_hint="--apply-to")
    for p in (apply_to, None if to_stdout or json_out is None else Path(json_out)):
        if p is not None and not p.resolve().parent.is_dir():
            raise typer.BadParameter(f"cannot write {p}: the folder {p.resolve().parent} "
                                     "does not exist", param_hint="--json/--apply-to")
    try:
        network = load(file, fmt, None, default_capacity, metric_policy, metrics=metrics_file)
        used = "traffic of the network file"
        if traffic is not None:
            with step("reading traffic"):
                network, used = load_plan_traffic(network, traffic)
        if not len(network.demands):
            alert.print("[bold red]invalid input:[/] the network has no traffic to plan for. "
                        "Fix: give --traffic.")
            raise typer.Exit(EXIT_BAD_INPUT)
        catalogue = _catalogue(file, fmt, modules, network)
        cands: list[Candidate] = []
        if candidates is not None:
            cands, catalogue = read_candidates(candidates, network, catalogue)
        with progress_bar("planning", counted=False) as bar:
            plan = plan_capacity(network, catalogue, threshold=threshold, resilience=survive,
                                 candidates=cands, growth=growth, years=years,
                                 discount_rate=discount_rate, time_limit_s=time_limit,
                                 progress=bar.share)
    except InfeasiblePlanError as exc:
        alert.print(f"[bold red]no plan:[/] {escape(str(exc))}", highlight=False,
                    soft_wrap=True)
        emit_json(json_out, {"feasible": False, "explanation": str(exc),
                             "binding": exc.binding})
        raise typer.Exit(EXIT_INFEASIBLE) from None
    except NettwinError as exc:
        raise fail(exc) from None
    doc = plan.to_document()
    doc["traffic"] = used
    if not to_stdout:
        title = (f"optimize capacity: {network.name} (threshold {threshold:g}, survive "
                 f"{survive.value}{f', {years} years x{growth:g}' if years > 1 else ''})")
        out.print(_summary(plan, title))
        if (plan.upgrades or plan.new_links) and top:
            out.print(_upgrades_table(plan, top))
        if len(plan.years) > 1:
            out.print(_years_table(plan))
        err.print(f"[dim]{used}[/]")
    emit_json(json_out, doc)
    if apply_to is not None:
        save_network(apply_capacity_plan(network, plan), apply_to, NetworkFormat.NATIVE)
        err.print(f"wrote {apply_to}")
