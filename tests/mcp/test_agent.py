"""A scripted agent (no LLM) that, through MCP only, finds the worst single link failure,
proposes a metric change that relieves it and checks it with a what-if; every number it
reads equals the library's (run_sweep, run_whatif)."""

from __future__ import annotations

from typing import Any

import pytest

from mcp import Client
from nettwin.api import Role
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.scenarios import parse_scenario, run_sweep, run_whatif
from tests.mcp.conftest import Served, answer, mcp_session, run


async def relieve_worst_failure(c: Client, nid: str) -> dict[str, Any]:
    """The agent, on the plan (the library's oracle has no live state): the worst failures
    in criticality order; under each, raise the metric of one of the three most loaded
    links (+1, x2, x4); stop at the first failure that such a change relieves, keeping the
    change that lowers the worst utilisation most."""
    sweep = answer(await c.call_tool("sweep_summary", {"network_id": nid, "top_n": 5,
                                                       "basis": "plan"}))
    tried: list[dict[str, Any]] = []
    for worst in sweep["worst_failures"]:
        failure = [{"fail_link": worst["failure"]}]
        under = answer(await c.call_tool("whatif", {"network_id": nid, "changes": failure,
                                                     "basis": "plan"}))
        hot: list[str] = []
        for arc in under["most_loaded_arcs_after"]:
            link = arc["arc"].split(" (")[0]  # 'LINK (A->B)'
            if link not in hot:
                hot.append(link)
        best: dict[str, Any] | None = None
        for link in hot[:3]:
            attributes = answer(await c.call_tool("describe_element", {
                "network_id": nid, "kind": "link", "element_id": link}))["attributes"]
            metric = attributes["metric_ab"]
            for new in (metric + 1, metric * 2, metric * 4):
                change = {"set_metric": {"link": link, "metric": new}}
                after = answer(await c.call_tool("whatif", {
                    "network_id": nid, "changes": [*failure, change], "basis": "plan"}))
                tried.append({"changes": [*failure, change],
                              "after": after["max_utilisation_after"]})
                if best is None or after["max_utilisation_after"] < best["after"]:
                    best = {"change": change, "after": after["max_utilisation_after"]}
        if best is not None and best["after"] < under["max_utilisation_after"]:
            return {"sweep": sweep, "failure": failure, "under": under, "best": best,
                    "tried": tried}
    raise AssertionError("no single metric change relieves any of the worst failures")


def test_scripted_agent_relieves_the_worst_failure(served: Served) -> None:
    async def go() -> dict[str, Any]:
        async with mcp_session(served.mcp_url, served.tokens[Role.PLANNER]) as c:
            return await relieve_worst_failure(c, "example")
    found = run(go)

    net = load_network(example_path())
    sweep = run_sweep(net)
    rows = sweep.failure_rows()
    got = found["sweep"]["worst_failures"]
    assert [r["failure"] for r in got] == [r["failure"] for r in rows[:5]]
    for mine, ref in zip(got, rows, strict=False):
        assert mine["max_utilisation"] == pytest.approx(ref["max_utilisation"], abs=1e-9)
        assert mine["lost_bps"] == pytest.approx(ref["lost_bps"], abs=1e-9)
    assert found["sweep"]["failures_count"] == len(rows)

    def library(changes: list[dict[str, Any]]) -> Any:
        return run_whatif(net, parse_scenario({"name": "ref", "changes": changes}, "t")).diff

    under = library(found["failure"])
    assert found["under"]["max_utilisation_after"] == pytest.approx(
        under.max_utilisation_after, abs=1e-9)
    # the failure's max utilisation is the sweep's, seen by two different paths
    ref = next(r for r in rows if r["failure"] == found["failure"][0]["fail_link"])
    assert under.max_utilisation_after == pytest.approx(ref["max_utilisation"], abs=1e-9)
    for attempt in found["tried"]:  # every number the agent read, relieving or not
        assert attempt["after"] == pytest.approx(
            library(attempt["changes"]).max_utilisation_after, abs=1e-9)
    fixed = library([*found["failure"], found["best"]["change"]])
    assert found["best"]["after"] == pytest.approx(fixed.max_utilisation_after, abs=1e-9)
    assert fixed.max_utilisation_after < under.max_utilisation_after  # it does relieve


async def optimise_and_check(c: Client, nid: str) -> dict[str, Any]:
    """The agent, on the plan: the worst single failure (sweep), metrics that survive n-1
    (optimize_weights, a short search), the optimiser's claims checked with what-ifs (no
    failure, its worst failure, the sweep's worst failure), then the change validated."""
    sweep = answer(await c.call_tool("sweep_summary", {"network_id": nid, "top_n": 3,
                                                       "basis": "plan"}))
    worst = sweep["worst_failures"][0]["failure"]
    opt = answer(await c.call_tool("optimize_weights", {
        "network_id": nid, "survive": "n-1", "time_limit_s": 2, "seed": 1}))
    assert opt["whatif"] is not None, "the optimiser found nothing to change"
    changes = opt["whatif"]["changes"]
    now = answer(await c.call_tool("whatif", opt["whatif"]))
    under_its_worst = answer(await c.call_tool("whatif", opt["whatif"] | {
        "changes": [{"fail_link": opt["worst_failure"]}, *changes]}))
    under_sweeps_worst = answer(await c.call_tool("whatif", opt["whatif"] | {
        "changes": [{"fail_link": worst}, *changes]}))
    verdict = answer(await c.call_tool("validate_change", {
        "network_id": nid, "changes": changes, "survive": "n-1"}))
    return {"sweep_worst": worst, "opt": opt, "now": now, "under_its_worst": under_its_worst,
            "under_sweeps_worst": under_sweeps_worst, "verdict": verdict}


def test_scripted_agent_optimises_checks_and_validates(served: Served) -> None:
    from nettwin.validate import ChangeSet, validate_change

    async def go() -> dict[str, Any]:
        async with mcp_session(served.mcp_url, served.tokens[Role.PLANNER]) as c:
            return await optimise_and_check(c, "example")
    found = run(go)
    opt = found["opt"]

    net = load_network(example_path())
    assert found["sweep_worst"] == run_sweep(net).failure_rows()[0]["failure"]

    def library(changes: list[dict[str, Any]]) -> Any:
        return run_whatif(net, parse_scenario({"name": "ref", "changes": changes}, "t")).diff

    changes = opt["whatif"]["changes"]
    # the optimiser's claims, checked by what-ifs that equal the library's
    assert found["now"]["max_utilisation_after"] == pytest.approx(opt["mlu"], abs=1e-9)
    assert found["under_its_worst"]["max_utilisation_after"] == pytest.approx(
        opt["worst_mlu"], abs=1e-9)
    assert opt["worst_mlu"] <= opt["worst_mlu_before"] + 1e-9
    assert opt["mlu_lower_bound"] <= opt["worst_mlu"] + 1e-9
    for key, failure in (("now", []), ("under_its_worst", [{"fail_link": opt["worst_failure"]}]),
                         ("under_sweeps_worst", [{"fail_link": found["sweep_worst"]}])):
        assert found[key]["max_utilisation_after"] == pytest.approx(
            library([*failure, *changes]).max_utilisation_after, abs=1e-9)
    # n-1: no single failure is worse than the claimed worst, the sweep's included
    assert found["under_sweeps_worst"]["max_utilisation_after"] <= opt["worst_mlu"] + 1e-9

    ref = validate_change(net, ChangeSet("changes", parse_scenario(changes, "t")))
    got = found["verdict"]
    assert got["verdict"] == ref.grade.value and got["reasons"] == list(ref.reasons)
    assert got["survival"]["max_utilisation_after"] == pytest.approx(
        ref.survival.max_utilisation_after, abs=1e-12)
    assert got["performance"]["after"]["max_utilisation"] == pytest.approx(opt["mlu"],
                                                                           abs=1e-9)
