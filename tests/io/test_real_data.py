"""Every real file in ../shared/data loads (or fails precisely), checked against the source."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from nettwin import NettwinError
from nettwin.io import load_network, load_traffic
from nettwin.io.repetita import import_repetita
from tests.conftest import data_path


def _files(folder: str, pattern: str) -> list[Path]:
    return sorted(data_path(*folder.split("/")).glob(pattern))


def test_all_topology_zoo_files_load_like_networkx_reads_them() -> None:
    files = _files("topology_zoo/graphml", "*.graphml")
    assert len(files) == 276
    for path in files:
        g = nx.read_graphml(path)
        net = load_network(path)
        assert len(net.nodes) == g.number_of_nodes(), path.name
        assert len(net.links) == g.number_of_edges() - nx.number_of_selfloops(g), path.name
        no_coords = [n for n, d in g.nodes(data=True) if "Latitude" not in d]
        if no_coords:
            assert any(f"{len(no_coords)} node(s) have no coordinates" in str(n)
                       for n in net.notes), path.name


def test_topology_zoo_link_speeds() -> None:
    net = load_network(data_path("topology_zoo", "graphml", "Geant2012.graphml"))
    g = nx.read_graphml(data_path("topology_zoo", "graphml", "Geant2012.graphml"))
    raw = sorted(float(d["LinkSpeedRaw"]) for *_, d in g.edges(data=True) if "LinkSpeedRaw" in d)
    ours = sorted(lk.capacity_ab_bps for lk in net.links.values()
                  if "LinkSpeedRaw" in str(net.notes))
    assert raw and set(raw) <= set(ours)
    abilene = load_network(data_path("topology_zoo", "graphml", "Abilene.graphml"))
    assert {lk.capacity_ab_bps for lk in abilene.links.values()} == {9953.28e6}  # OC-192


@pytest.mark.parametrize("kind", ["native", "xml"])
def test_all_sndlib_instances_load(kind: str) -> None:
    pattern = "*.txt" if kind == "native" else "*.xml"
    for path in _files(f"sndlib/{kind}", pattern):
        net = load_network(path)
        text = path.read_text(encoding="latin-1")
        if kind == "xml":
            assert len(net.demands) == text.count("<demand ")
            assert len(net.links) == text.count("<link ")
        else:
            demands = text.split("DEMANDS (")[1].split(")\n\n")[0]
            assert len(net.demands) == len(re.findall(r"^\s*\S+ \( \S+ \S+ \)", demands,
                                                      re.MULTILINE))


def test_sndlib_native_and_xml_agree() -> None:
    for name in ("abilene", "geant", "germany50", "nobel-eu"):
        a = load_network(data_path("sndlib", "native", f"{name}.txt"))
        b = load_network(data_path("sndlib", "xml", f"{name}.xml"))
        assert a.links == b.links and a.nodes.keys() == b.nodes.keys()
        np.testing.assert_allclose(a.demands.rate_bps, b.demands.rate_bps)


def test_sndlib_abilene_capacities_in_bits() -> None:
    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    assert net.links["ATLAng_IPLSng"].capacity_ab_bps == 2480e6
    assert net.links["ATLAM5_ATLAng"].capacity_ab_bps == 9920e6


def test_measured_traffic_matrices_load_with_their_totals() -> None:
    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    for folder, topo in (("abilene-zhang-5min", net),
                         ("geant-uhlig-15min", load_network(
                             data_path("sndlib", "xml", "geant.xml"))),
                         ("germany50-dfn-1day", load_network(
                             data_path("sndlib", "xml", "germany50.xml")))):
        for path in _files(f"traffic/{folder}", "*.xml")[::25]:
            values = [float(e.text) for e in ET.parse(path).iter()
                      if e.tag.endswith("demandValue") and e.text]
            loaded = load_traffic(topo, path)
            assert len(loaded.demands) == len(values), path.name
            assert loaded.demands.total_rate_bps == pytest.approx(sum(values) * 1e6), path.name


def test_all_repetita_graphs_load_with_paired_edges() -> None:
    files = _files("repetita", "*/*.graph")
    assert len(files) > 250
    for path in files:
        net = load_network(path)
        edges = int(re.search(r"EDGES (\d+)", path.read_text()).group(1))
        arcs = 2 * len(net.links)
        lonely = sum(int(m) for m in re.findall(r"(\d+) edge\(s\) have no opposite",
                                                " ".join(map(str, net.notes))))
        loops = sum(int(m) for m in re.findall(r"(\d+) self-loop", " ".join(map(str, net.notes))))
        assert arcs - lonely == edges - loops, path.name


def test_repetita_units() -> None:
    folder = data_path("repetita", "2016TopologyZooUCL_inverseCapacity")
    net = import_repetita(folder / "Abilene.graph", folder / "Abilene.0000.demands")
    link = net.links["edge_0"]
    assert link.capacity_ab_bps == 9953280e3 and link.delay_s == pytest.approx(1913e-6)
    assert net.demands.rate_bps[0] == 300632e3


def test_all_rocketfuel_maps_load_with_latencies() -> None:
    for path in _files("rocketfuel", "*/weights.intra"):
        net = load_network(path)
        pairs = {frozenset(line.split()[:2]) for line in path.read_text().splitlines()
                 if line.strip()}
        assert len(net.links) == len({p for p in pairs if len(p) == 2}), path
        assert all(lk.delay_s is not None for lk in net.links.values())


def test_missing_and_unknown_files_fail_precisely(tmp_path: Path) -> None:
    with pytest.raises(NettwinError, match="no such file"):
        load_network(tmp_path / "nope.yaml")
    odd = tmp_path / "topology.dat"
    odd.write_text("hello")
    with pytest.raises(NettwinError, match="cannot tell the network format"):
        load_network(odd)
    broken = tmp_path / "x.graphml"
    broken.write_text("<graphml><graph><node id='a'>")
    with pytest.raises(NettwinError, match=r"x\.graphml"):
        load_network(broken)


def test_traffic_to_unknown_nodes_is_rejected_or_set_aside(tmp_path: Path) -> None:
    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    csv = tmp_path / "tm.csv"
    csv.write_text("src,dst,rate_bps\nATLAng,CHINng,1e9\nATLAng,MARS,5\nCHINng,ATLAng,-1\n")
    with pytest.raises(NettwinError) as info:
        load_traffic(net, csv)
    assert "tm.csv:3, field 'dst': destination node does not exist (got 'MARS')" in str(info.value)
    kept = load_traffic(net, csv, skip_invalid=True)
    assert len(kept.demands) == 1 and kept.demands.total_rate_bps == 1e9
    assert any("2 bad demand record(s) set aside" in str(n) for n in kept.notes)


def test_native_traffic_file_needs_no_topology(tmp_path: Path) -> None:
    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    tm = tmp_path / "tm.yaml"
    tm.write_text("demands:\n  - {src: ATLAng, dst: CHINng, rate_bps: 2e9}\n"
                  "  - {id: peak, src: CHINng, dst: ATLAng, rate_bps: 1e9}\n")
    loaded = load_traffic(net, tm)
    assert loaded.demand_ids == ("ATLAng->CHINng", "peak")
    assert loaded.demands.total_rate_bps == 3e9
    tm.write_text("- {src: ATLAng, dst: CHINng, rate_bps: fast}\n")
    with pytest.raises(NettwinError, match=r"tm.yaml demands\[0\], field 'rate_bps'"):
        load_traffic(net, tm)
