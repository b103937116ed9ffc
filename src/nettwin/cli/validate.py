"""``nettwin validate``: a proposed change through the twin before it touches the network.
Exit 0 SAFE, 1 RISKY or UNSAFE (for CI pipelines), 3 bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from nettwin.cli.common import (
    EXIT_SLA_VIOLATED,
    ArrivalsOpt,
    CapacityOpt,
    FormatOpt,
    MetricOpt,
    MetricsFileOpt,
    ModelOpt,
    TrafficOpt,
    err,
    fail,
    json_to_stdout,
    load,
    out,
    simulation_options,
    step,
    write_json_file,
)
from nettwin.cli.render import pct
from nettwin.engine import QueueModel
from nettwin.engine.options import ArrivalModel
from nettwin.errors import NettwinError
from nettwin.io import MetricPolicy
from nettwin.model import Network
from nettwin.validate import ChangeSet, Survive, Verdict, merge_change_sets, validate_change
from nettwin.validate.redteam import Budget

_STYLE = {"SAFE": "bold green", "RISKY": "bold yellow", "UNSAFE": "bold red"}


commands = typer.Typer()

def load_change_sets(paths: list[Path], network: Network, lab_prefix: str) -> ChangeSet:
    """Scenario files (YAML/JSON) and FRR snippets (.conf/.cfg/.frr/.txt), in order."""
    from nettwin.errors import ValidationError
    from nettwin.io.frr_config import is_frr_config, load_frr_config
    from nettwin.io.scenario_files import load_scenarios
    from nettwin.scenarios.apply import apply_scenario
    from nettwin.scenarios.changes import (
        AddLink,
        Change,
        RemoveLink,
        Scenario,
        repeated_failures,
    )

    parts = []
    current = network  # snippets may name links an earlier change file adds
    every: list[tuple[Change, str]] = []  # each scenario change and where it is
    for p in paths:
        if is_frr_config(p):
            parts.append(load_frr_config(p, current, lab_prefix))
            continue
        scenarios = load_scenarios(p)
        changes = tuple(c for s in scenarios for c in s.changes)
        every += [(c, f"{p.name}: {s.name}, changes[{i}]") for s in scenarios
                  for i, c in enumerate(s.changes)]
        name = scenarios[0].name if len(scenarios) == 1 else p.name
        parts.append(ChangeSet(name, Scenario(name, changes), (),
                               tuple(f"{p.name}: {s.name}" for s in scenarios)))
        topology = tuple(c for c in changes if isinstance(c, AddLink | RemoveLink))
        if topology:
            current = apply_scenario(current, None, Scenario(name, topology)).network
    # each file was checked alone; an element failed by two of them (or two scenarios of
    # one) is the same mistake
    problems = repeated_failures([c for c, _ in every], [where for _, where in every])
    if problems:
        raise ValidationError(problems, "the change files")
    return merge_change_sets(parts)


def _tables(v: Verdict) -> None:
    f = v.forwarding
    t = Table(title="Forwarding (every router to every prefix)")
    t.add_column("check")
    t.add_column("found", justify="right")
    t.add_column("example")
    t.add_row("prefixes changed", str(f.probes_changed), f"of {f.probes}")
    t.add_row("reachability lost", str(f.reachability_lost_count),
              " > ".join(f.reachability_lost[0].path_after) if f.reachability_lost else "")
    t.add_row("reachability gained", str(f.reachability_gained_count), "")
    t.add_row("loops (new)", f"{len(f.loops)} ({len(f.new_loops)})",
              " > ".join(f.loops[0].cycle) if f.loops else "")
    t.add_row("blackholes (new)", f"{len(f.blackholes)} ({len(f.new_blackholes)})",
              f"{f.blackholes[0].prefix} at {', '.join(f.blackholes[0].routers[:3])}"
              if f.blackholes else "")
    t.add_row("newly asymmetric pairs", str(f.asymmetric_count),
              f"{' > '.join(f.asymmetric[0].path_ab)} | back {' > '.join(f.asymmetric[0].path_ba)}"
              if f.asymmetric else "")
    t.add_row("inactive static routes", str(len(f.inactive_routes)),
              f.inactive_routes[0] if f.inactive_routes else "")
    out.print(t)
    t = Table(title="Performance")
    for col in ("", "before", "after"):
        t.add_column(col, justify="left" if not col else "right")
    b, a = v.before, v.after
    t.add_row("max utilisation", pct(b.max_utilisation), pct(a.max_utilisation))
    t.add_row("mean delay", f"{1e3 * b.mean_delay_s:.2f} ms", f"{1e3 * a.mean_delay_s:.2f} ms")
    t.add_row("unroutable", f"{b.unroutable_bps / 1e9:.3g} Gb/s",
              f"{a.unroutable_bps / 1e9:.3g} Gb/s")
    t.add_row("queue loss", f"{b.queue_lost_bps / 1e9:.3g} Gb/s",
              f"{a.queue_lost_bps / 1e9:.3g} Gb/s")
    for sb, sa in zip(b.services, a.services, strict=False):
        t.add_row(f"service {sb.service}",
                  f"{1e3 * sb.worst_delay_s:.2f} ms{' VIOLATED' if sb.violated else ''}",
                  f"{1e3 * sa.worst_delay_s:.2f} ms{' VIOLATED' if sa.violated else ''}")
    s = v.survival
    if s.failures:
        t.add_row(f"max utilisation under {s.mode.value}",
                  "-" if s.max_utilisation_before is None else pct(s.max_utilisation_before),
                  pct(s.max_utilisation_after))
    out.print(t)
    if s.made_worse:
        t = Table(title=f"Failures the change makes worse ({len(s.made_worse)} of {s.failures})")
        for col in ("failure", "max util before", "after", "what gets worse"):
            t.add_column(col)
        for x in s.made_worse[:10]:
            t.add_row(x.failure, pct(x.max_utilisation_before), pct(x.max_utilisation_after),
                      "; ".join(x.worse))
        out.print(t)
    if v.guardrails:
        t = Table(title="Guardrails")
        for col in ("rule", "result", "evidence"):
            t.add_column(col)
        for g in v.guardrails:
            t.add_row(g.rule, "[green]passed[/]" if g.passed else "[red]FAILED[/]",
                      escape(g.evidence))
        out.print(t)
    if v.red_team is not None:
        rt = v.red_team
        same = rt.unchanged_same_attack
        out.print(f"red team ({rt.changed.evaluations} evaluations"
                  f"{', exhaustive' if rt.changed.exhaustive else ''}, seed {rt.changed.seed}):"
                  f" worst on the changed network: {rt.changed.worst.attack} -> harm "
                  f"{rt.changed.worst.harm:.3f}"
                  + (f" (same attack unchanged: {same.harm:.3f})" if same else "")
                  + f"; worst on the unchanged network {rt.unchanged.worst.harm:.3f} "
                    f"({rt.unchanged.worst.attack})", highlight=False)


def _html(v: Verdict, path: Path, doc: dict[str, Any]) -> None:
    from nettwin.report.html import table_html, write_report

    def rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: " > ".join(x) if isinstance(x, list | tuple) and k.startswith(
            ("path", "cycle", "example")) else x for k, x in item.items()} for item in items]

    import html

    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in doc["reasons"]) or (
        "<li>nothing found</li>")
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in doc["notes"])
    css = "ok" if v.passed else "bad"
    sections = [
        ("Verdict", f"<p class='{css}'>{html.escape(doc['summary'])}</p><ul>{reasons}</ul>"
                    + notes),
        ("Reachability lost", table_html(rows(doc["reachability_lost"]))),
        ("Forwarding loops", table_html(rows(doc["loops"]))),
        ("Blackholes", table_html(rows(doc["blackholes"]))),
        ("Newly asymmetric paths", table_html(rows(doc["asymmetric"]))),
        ("Performance", table_html([{"": k, "before": doc["performance"]["before"][k],
                                     "after": doc["performance"]["after"][k]}
                                    for k in ("max_utilisation", "mean_delay_s",
                                              "unroutable_bps", "queue_lost_bps")])),
        (f"Failures the change makes worse ({doc['survival']['note']})",
         table_html(rows(doc["survival"]["made_worse"]))),
        ("Guardrails", table_html([{"rule": k} | g for k, g in doc["guardrails"].items()])),
    ]
    if doc["red_team"]:
        rt = doc["red_team"]
        sections.append(("Red team", table_html(
            [{"network": "changed"} | rt["worst"], {"network": "unchanged"}
             | rt["unchanged_worst"]]
            + ([{"network": "unchanged, same attack"} | rt["unchanged_same_attack"]]
               if rt["unchanged_same_attack"] else []))))
    write_report(path, f"nettwin validate: {v.change}", sections)


@commands.command("validate")
def validate_cmd(
    network_file: Annotated[Path, typer.Argument(
        help="Network file (any supported format).", metavar="NET")],
    change_files: Annotated[list[Path], typer.Argument(
        help="Change files, applied in order: scenario YAML/JSON, or FRR snippets "
             "(.conf/.cfg/.frr/.txt; '! router NAME' or 'hostname NAME' names the router, "
             "else the file name).", metavar="CHANGE...")],
    traffic: TrafficOpt = None,
    policy: Annotated[Path | None, typer.Option(
        "--policy", help="Guardrails file (YAML/JSON 'rules:').")] = None,
    survive: Annotated[Survive, typer.Option(
        "--survive", help="Failures the changed network is checked under.")] = Survive.N1,
    red_team: Annotated[int, typer.Option(
        "--red-team", min=0, help="Evaluations of the adversarial search (0: off).")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the red team.")] = 0,
    max_failures: Annotated[int, typer.Option(
        "--max-failures", min=0, max=4, help="Red-team budget: links failed at once.")] = 2,
    max_surge: Annotated[float, typer.Option(
        "--max-surge", min=1.0, help="Red-team budget: traffic factor on one source.")] = 2.0,
    running: Annotated[list[Path] | None, typer.Option(
        "--running", help="Running configuration snippets: the static routes in place "
                          "before the change (repeatable).")] = None,
    lab_prefix: Annotated[str, typer.Option(
        "--lab-prefix", help="Interface names ntlN of the FRR lab use this prefix.")] = "ntl",
    json_out: Annotated[Path | None, typer.Option(
        "--json", metavar="PATH|-", show_default=False,
        help="Write the verdict as JSON to PATH; '-' (or --json alone) prints it on stdout "
             "instead of the tables.")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write an HTML report.")]
        = None,
    fmt: FormatOpt = None,
    model: ModelOpt = QueueModel.MM1,
    arrivals: ArrivalsOpt = ArrivalModel.BURSTY,
    default_capacity: CapacityOpt = 10e9,
    metric_policy: MetricOpt = MetricPolicy.INVERSE_CAPACITY,
    metrics_file: MetricsFileOpt = None,
) -> None:
    """Validate a change before it reaches the network: forwarding (loops, blackholes,
    reachability, asymmetry per prefix), performance now and under every failure, guardrails,
    red team. One verdict: SAFE (exit 0), RISKY or UNSAFE (exit 1)."""
    from nettwin.io.frr_config import load_static_routes
    from nettwin.io.guardrails import load_guardrails

    try:
        network = load(network_file, fmt, traffic, default_capacity, metric_policy,
                       metrics=metrics_file)
        change = load_change_sets(change_files, network, lab_prefix)
        rules = load_guardrails(policy) if policy is not None else ()
        routes = load_static_routes(running or [], network, lab_prefix)
        with step("validating the change"):
            verdict = validate_change(
                network, change, running_routes=routes,
                options=simulation_options(model, None, None, 1000, arrivals), rules=rules,
                survive=survive, red_team=red_team, seed=seed,
                budget=Budget(max_failures, max_surge))
    except NettwinError as exc:
        raise fail(exc) from None
    doc = verdict.document()
    to_stdout = json_out is not None and str(json_out) == "-"
    if to_stdout:
        from nettwin.report import json_safe

        print(json.dumps(json_safe(doc), allow_nan=False))
    else:
        _tables(verdict)
    for note in verdict.notes:
        err.print(f"[dim]note:[/] {escape(note)}", highlight=False)
    err.print(f"[{_STYLE[verdict.grade.value]}]{escape(verdict.summary)}[/]", highlight=False,
              soft_wrap=True)
    err.print(f"[dim]validated in {1e3 * verdict.timings_s['total_s']:.0f} ms[/]")
    if json_out is not None and not to_stdout:
        write_json_file(json_out, doc)
    if html_out is not None:
        _html(verdict, html_out, doc)
        err.print(f"wrote {html_out}")
    if not verdict.passed:
        raise typer.Exit(EXIT_SLA_VIOLATED)


@commands.command("apply")
def apply_cmd(
    change_files: Annotated[list[Path], typer.Argument(
        help="Change files, as for 'nettwin validate' (costs, shutdown, max-metric, static "
             "routes: what routers are configured with).", metavar="CHANGE...")],
    lab_dir: Annotated[Path | None, typer.Option(
        "--lab", help="The FRR lab's state folder (default: NETTWIN_DATA_DIR/lab).")] = None,
    policy: Annotated[Path | None, typer.Option(
        "--policy", help="Guardrails file the change must pass.")] = None,
    survive: Annotated[Survive, typer.Option("--survive")] = Survive.N1,
    force: Annotated[bool, typer.Option(
        "--force", help="Apply even without a SAFE verdict (audited as an override).")]
        = False,
    timeout_s: Annotated[float, typer.Option(
        "--timeout", min=1.0, help="Seconds for the kernels to match the prediction.")] = 30.0,
    json_out: Annotated[Path | None, typer.Option(
        "--json", metavar="PATH|-", show_default=False,
        help="Write the report as JSON to PATH; '-' (or --json alone) prints it on stdout "
             "instead of the summary.")] = None,
) -> None:
    """Validate a change against the lab's twin, push it to the FRR routers (vtysh) only if
    SAFE, check every kernel forwarding table against the prediction, roll back on mismatch.
    Exit 0 applied and verified, 1 refused or rolled back, 3 bad input."""
    import dataclasses

    from nettwin.cli.lab import _lab_dir
    from nettwin.io.guardrails import load_guardrails
    from nettwin.lab.apply import ApplyRefusedError, addresses_of, apply_change, network_of
    from nettwin.lab.frr import Lab

    json_to_stdout(json_out)
    try:
        lab = Lab.load(_lab_dir(lab_dir))
        twin = network_of(lab.plan)
        change = load_change_sets(change_files, twin, lab.plan.prefix)
        rules = load_guardrails(policy) if policy is not None else ()
        with step("validating the change against the lab's twin"):
            verdict = validate_change(twin, change, rules=rules, survive=survive,
                                      addresses=addresses_of(lab.plan))
        err.print(f"[{_STYLE[verdict.grade.value]}]{escape(verdict.summary)}[/]",
                  highlight=False, soft_wrap=True)
        with step("pushing, then waiting for the kernels to match the twin"):
            report = apply_change(lab, change, verdict, force=force, timeout_s=timeout_s)
    except ApplyRefusedError as exc:
        err.print(f"[bold red]refused:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_SLA_VIOLATED) from None
    except NettwinError as exc:
        raise fail(exc) from None
    rates = report.rates
    if rates is not None:
        out.print(f"measured rates on {rates.arcs} busy arcs: median error "
                  f"{100 * rates.median_error:.1f} %, worst {100 * rates.max_error:.1f} % "
                  f"({rates.worst_arc})")
    if report.verified:
        out.print(f"[green]applied and verified[/]: {len(report.commands)} router "
                  f"configuration(s); the kernels matched the twin after "
                  f"{report.converged_s:.1f} s")
    elif not report.mismatches:
        out.print("[red]rolled back[/]: the tables matched the twin but the measured rates "
                  "did not")
    else:
        out.print(f"[red]rolled back[/]: {len(report.mismatches)} forwarding entries differed "
                  "from the prediction, e.g.")
        for m in report.mismatches[:5]:
            out.print(f"  {m.router} -> {m.destination}: twin {m.predicted}, kernel {m.kernel}")
    for note in report.notes:
        err.print(f"[yellow]{escape(note)}[/]")
    err.print(f"[dim]audit: {report.audit}[/]")
    if json_out is not None:
        write_json_file(json_out, dataclasses.asdict(report))
    if not report.verified:
        raise typer.Exit(EXIT_SLA_VIOLATED)
