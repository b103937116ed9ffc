"""The sample files in examples/ that the README's commands use, run through their loaders
and checked against the networkx reference; the example notebooks executed end to end."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

import nettwin
from nettwin.engine import compile_network
from nettwin.io.explicit_paths import load_paths
from nettwin.io.scenario_files import load_scenarios
from nettwin.live import LiveTwin, Message
from nettwin.reference import reference_ecmp
from nettwin.scenarios import run_whatif

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def test_every_example_file_the_readme_names_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w/])examples/[\w./-]+\.\w+", readme))
    assert {"examples/cuts.yaml", "examples/observations.jsonl", "examples/sr.yaml"} <= named
    for rel in named:
        assert (ROOT / rel).exists(), rel


def test_cuts_yaml_scenarios_match_the_reference() -> None:
    net = nettwin.examples.abilene()
    scenarios = load_scenarios(EXAMPLES / "cuts.yaml")
    assert len(scenarios) == 4
    by_name = {s.name: s for s in scenarios}
    result = run_whatif(net, by_name["Houston PoP lost"])
    up = np.array([not ({lk.a, lk.b} & {"Houston"}) for lk in net.links.values()
                   for _ in (0, 1)])
    ref = reference_ecmp(net, up)
    np.testing.assert_allclose(result.result.arc_load_bps, np.where(up, ref.arc_load_bps, 0.0),
                               rtol=1e-9, atol=1e-3)
    for s in scenarios:  # every scenario of the file applies to the network it was made for
        assert run_whatif(net, s).diff.verdict()


def test_observations_jsonl_replays_the_cut_at_the_planned_level() -> None:
    net = nettwin.examples.abilene()
    twin = LiveTwin(net)
    records = [json.loads(line) for line in
               (EXAMPLES / "observations.jsonl").read_text(encoding="utf-8").splitlines()]
    for t in sorted({r["time"] for r in records}):
        twin.process([Message(r) for r in records if r["time"] == t], "file")
    assert twin.dead == 0
    down = [lid for lid, ok in zip(twin.state.link_ids, twin.state.link_up, strict=True)
            if not ok]
    assert down == ["Denver--Kansas-City"]
    up = twin.state.arc_up()
    ref = reference_ecmp(net, up, net.demands.rate_bps * 0.8).arc_load_bps
    measured = twin.state.arc_rate_bps
    ok = up & (ref > 0)
    # counters made at 0.8 x plan with 1 % noise on the last 30 s interval
    np.testing.assert_allclose(measured[ok], ref[ok], rtol=0.05)


def test_sr_yaml_pins_the_demands_on_their_paths() -> None:
    net = nettwin.examples.abilene()
    compiled = compile_network(net)
    pinned = load_paths(EXAMPLES / "sr.yaml", net, compiled)
    ids = list(net.demand_ids)
    nodes = compiled.node_ids
    for i, d in enumerate(pinned.demand.tolist()):
        arcs = pinned.arc[pinned.ptr[i]:pinned.ptr[i + 1]]
        walk = [nodes[compiled.arc_src[arcs[0]]]] + [nodes[compiled.arc_dst[a]] for a in arcs]
        src, dst = ids[d].split("->")
        assert walk[0] == src and walk[-1] == dst and len(walk) == len(set(walk))


@pytest.mark.parametrize("notebook", sorted((EXAMPLES / "notebooks").glob("*.ipynb")),
                         ids=lambda p: p.stem)
def test_notebook_runs(notebook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("pandas")
    src = str(Path(nettwin.__file__).resolve().parents[1])  # this checkout's nettwin
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [src, *filter(None, [os.environ.get("PYTHONPATH")])]))
    nb = nbformat.read(notebook, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
