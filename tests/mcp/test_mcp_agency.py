"""diagnose and propose_change over the real streamable-HTTP round trip: the diagnosis
equals the library's ranking on the same records and names the injected fault; a proposal
is judged like the REST route judges it, recorded, and never applied; roles refused."""

from __future__ import annotations

import httpx

from nettwin.api import Role
from nettwin.cli.synth import radio_arrays
from nettwin.diagnose import Diagnoser, observe
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.synth import SynthConfig, Synthesizer
from tests.mcp.conftest import Served, answer, call_tool, error_text

LOOP = [{"router": "New-York", "text": "ip route 10.255.0.2/32 New-York--Chicago"},
        {"router": "Chicago", "text": "ip route 10.255.0.2/32 10.1.0.1"}]


def test_diagnose_ranks_as_the_library_and_names_the_cut(served: Served) -> None:
    path = example_path("abilene")
    net = load_network(path)
    ep = Synthesizer(net, SynthConfig(steps=24), radio_arrays(net, path, None),
                     11).episode("fibre_cut_peak")
    doc = answer(call_tool(served, Role.PLANNER, "diagnose",
                       {"network_id": "example", "observations": ep.records, "top_n": 3}))
    library = Diagnoser(net).diagnose(observe(net, ep.records), top=3)
    assert [(c["kind"], c["element"]) for c in doc["causes"]] == [
        (c.kind.value, c.element) for c in library.causes]
    best = doc["causes"][0]
    assert (best["kind"], best["element"]) == (ep.label.kind.value, ep.label.element)
    assert best["explains_count"] == len(library.causes[0].explains)
    assert len(best["explains"]) <= 5 and doc["resource"].startswith("nettwin://results/")
    refused = call_tool(served, Role.VIEWER, "diagnose", {"network_id": "example",
                                                      "observations": ep.records})
    assert refused.is_error and "planner" in error_text(refused)


def test_proposals_are_judged_recorded_and_never_applied(served: Served) -> None:
    h = served.headers(Role.VIEWER)
    before = httpx.get(f"{served.base}/api/v1/networks/example/export", headers=h).text
    got = answer(call_tool(served, Role.OPERATOR, "propose_change",
                       {"network_id": "example", "snippets": LOOP, "agent": "mcp-agent"}))
    assert got["verdict"] == "UNSAFE" and got["applied"] is False
    after = httpx.get(f"{served.base}/api/v1/networks/example/export", headers=h).text
    assert after == before  # nothing applied
    listed = httpx.get(f"{served.base}/api/v1/networks/example/proposals?agent=mcp-agent",
                       headers=h, timeout=60).json()["proposals"]
    assert got["id"] in {p["id"] for p in listed}
    rec = next(p for p in listed if p["id"] == got["id"])
    assert rec["verdict"] == got["verdict"] and rec["reasons"] == got["reasons"]
    refused = call_tool(served, Role.PLANNER, "propose_change",
                    {"network_id": "example", "snippets": LOOP})
    assert refused.is_error and "operator" in error_text(refused)
