"""The lab's telemetry into the twin without root: ``ingest`` of a lab's export takes the
network from the lab state (the bundled Abilene would dead-letter every record of another
network), and an administratively down link is down in ``state`` without a critical alarm.
A lab state file written by the planner stands in for a running lab."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from nettwin.cli.app import app
from nettwin.lab.frr import Lab, plan_lab
from nettwin.live import LiveTwin, Message, Store
from nettwin.model import Network, build_network

T0 = 1_790_000_000.0


def _ring(admin_down: str | None = None) -> Network:
    names = ["P", "Q", "R", "S"]
    links = [{"id": f"{a}--{b}", "a": a, "b": b, "capacity_bps": 1e9, "metric": 10,
              "admin_up": f"{a}--{b}" != admin_down}
             for a, b in [("P", "Q"), ("Q", "R"), ("R", "S"), ("S", "P")]]
    demands = [{"src": "P", "dst": "R", "rate_bps": 1e8}]
    return build_network("ring", [{"id": n} for n in names], links, demands)


def _export(net: Network, path: Path, steps: int = 4) -> None:
    """Counter records as the lab's exporter writes them (device = router, interface =
    link), every link carrying 100 Mbit/s each way."""
    rows = [{"kind": "counter", "time": T0 + k, "device": end, "interface": lid,
             "out_octets": 12.5e6 * k, "out_drops": 0.0, "oper_status": "up"}
            for k in range(steps) for lid, lk in net.links.items() for end in (lk.a, lk.b)
            if lk.admin_up]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_ingest_of_a_lab_export_mirrors_the_lab(tmp_path: Path) -> None:
    net = _ring()
    Lab(plan_lab(net, "tq"), tmp_path / "lab").save()
    export = tmp_path / "lab.jsonl"
    _export(net, export)
    runner = CliRunner()
    env = {"NETTWIN_DATA_DIR": str(tmp_path)}
    for args in (["--lab", str(tmp_path / "lab")], []):  # explicit, then the running lab
        r = runner.invoke(app, ["ingest", str(export), *args, "--store",
                                f"sqlite:///{tmp_path}/t{len(args)}.db", "--json", "-"],
                          env=env)
        assert r.exit_code == 0, r.output
        doc = json.loads(r.stdout)
        assert doc["summary"]["network"].startswith("lab tq")
        assert doc["summary"]["dead_letters"] == 0
        assert doc["summary"]["samples"] == 4 * 8
    r = runner.invoke(app, ["ingest", str(export), "abilene.yaml", "--lab",
                            str(tmp_path / "lab")], env=env)
    assert r.exit_code == 2 and "not both" in r.output


def test_an_admin_down_link_is_down_in_state_and_raises_no_critical_alarm(
        tmp_path: Path) -> None:
    net = _ring(admin_down="R--S")
    native = tmp_path / "ring.json"
    from nettwin.io import save_network

    save_network(net, native)
    url = f"sqlite:///{tmp_path}/twin.db"
    store = Store(url)
    twin = LiveTwin(net, store)
    export = tmp_path / "obs.jsonl"
    _export(net, export)
    twin.process([Message(line) for line in export.read_text().splitlines()])
    assert "R--S" in twin.state.snapshot()["links_down"]
    assert not [a for a in twin.state.snapshot()["alarms"]
                if a["object"] == "R--S" and a["type"] == "CommunicationsAlarm"]
    store.close()
    r = CliRunner().invoke(app, ["state", str(native), "--store", url])
    assert r.exit_code == 0, r.output
    assert "links down: R--S (admin down)" in r.output
    assert "critical" not in r.output
