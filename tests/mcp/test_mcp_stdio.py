"""`nettwin mcp` launched as a local agent would (a subprocess over stdio, the SDK's stdio
client): the network given with --network, the role given with --role, calls audited."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from mcp.client.stdio import StdioServerParameters

from mcp import Client
from nettwin import compile_network, simulate
from nettwin.examples import example_path
from nettwin.io import load_network
from tests.mcp.conftest import ROOT, answer, error_text, run


def test_stdio_server_serves_the_given_network_as_the_given_role(tmp_path: Path) -> None:
    path = example_path()
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "nettwin.cli", "mcp", str(path), "--role", "viewer",
              "--name", "desk-agent", "--data-dir", str(tmp_path)],
        env={"PYTHONPATH": str(ROOT / "src"), "NETTWIN_DATA_DIR": str(tmp_path),
             "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(tmp_path / "numba"))},
        cwd=str(tmp_path))
    net = load_network(path)
    base = simulate(compile_network(net))

    async def go() -> None:
        async with Client(params) as c:
            names = {t.name for t in (await c.list_tools()).tools}
            assert {"whatif", "sweep_summary", "describe_network"} <= names
            nets = answer(await c.call_tool("list_networks", {}))
            assert [n["id"] for n in nets["networks"]] == [path.stem]
            doc = answer(await c.call_tool("describe_network", {"network_id": path.stem}))
            assert doc["links"] == len(net.links)
            assert doc["baseline_kpis"]["max_utilisation"] == base.kpis()["max_utilisation"]
            refused = error_text(await c.call_tool("whatif", {
                "network_id": path.stem, "changes": [{"fail_node": "Houston"}]}))
            assert "needs role planner" in refused and "desk-agent" in refused
            bad = error_text(await c.call_tool("describe_element", {
                "network_id": path.stem, "kind": "node", "element_id": "Gotham"}))
            assert "Gotham" in bad
    run(go)
    audit = [json.loads(line) for line in
             (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {a["who"] for a in audit} == {"desk-agent"}
    assert [a["status"] for a in audit if "/whatif/" in a["what"]] == [403]
    assert [a["status"] for a in audit if "/describe_element/" in a["what"]] == [404]


def test_stdio_server_refuses_a_bad_network_file(tmp_path: Path) -> None:
    import subprocess

    bad = tmp_path / "broken.yaml"
    bad.write_text("nodes: [{id: a}]\nlinks: [{id: x, a: a, b: nowhere, capacity_bps: 1e9}]\n",
                   encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "nettwin.cli", "mcp", str(bad),
                           "--data-dir", str(tmp_path)], capture_output=True, text=True,
                          env=os.environ | {"PYTHONPATH": str(ROOT / "src")}, timeout=120,
                          stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 3, proc.stderr
    assert "nowhere" in proc.stderr
