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


def _graphml_edges(path: Path) -> tuple[list[tuple[str, str, float | None]], bool]:
    """Edges of a GraphML file read with ElementTree (not networkx): (label a, label b,
    LinkSpeedRaw or None), and whether some node labels repeat (then ids carry '#id')."""
    root = ET.parse(path).getroot()

    def tag(el: ET.Element) -> str:
        return el.tag.rsplit("}", 1)[-1]

    keys = {(k.get("for"), k.get("attr.name")): k.get("id") for k in root.iter()
            if tag(k) == "key"}
    label_key, raw_key = keys[("node", "label")], keys.get(("edge", "LinkSpeedRaw"))
    label = {n.get("id"): next((d.text or "").strip() for d in n
                               if tag(d) == "data" and d.get("key") == label_key)
             for n in root.iter() if tag(n) == "node"}
    edges = []
    for e in root.iter():
        if tag(e) == "edge":
            raw = next((float(d.text) for d in e if tag(d) == "data"
                        and d.get("key") == raw_key and d.text), None)
            edges.append((label[e.get("source")], label[e.get("target")], raw))
    return edges, len(set(label.values())) < len(label)


def test_topology_zoo_link_speeds_per_edge() -> None:
    """Every edge with a LinkSpeedRaw becomes a link of exactly that capacity, between the
    same two nodes (parallel edges compared as sorted lists)."""
    checked = 0
    for path in _files("topology_zoo/graphml", "*.graphml"):
        edges, repeated_labels = _graphml_edges(path)
        if repeated_labels or not any(raw for *_, raw in edges):
            continue
        net = load_network(path)
        by_pair: dict[tuple[str, str], list[float]] = {}
        for lk in net.links.values():
            by_pair.setdefault((lk.a, lk.b), []).append(lk.capacity_ab_bps)
        want: dict[tuple[str, str], list[float | None]] = {}
        for a, b, raw in edges:
            if a != b:
                want.setdefault((a, b), []).append(raw)
        for pair, raws in want.items():
            if all(r is not None and r > 0 for r in raws):
                assert sorted(by_pair[pair]) == sorted(raws), (path.name, pair)  # type: ignore[type-var]
                checked += len(raws)
    assert checked > 1000  # not vacuous: about 1,500 edges carry a LinkSpeedRaw
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
    """Each link's delay is its latencies.intra entry in ms / 1e3 (the last line naming the
    router pair, in either direction, wins, as for weights)."""
    paths = _files("rocketfuel", "*/weights.intra")
    assert len(paths) == 6
    for path in paths:
        net = load_network(path)
        pairs = {frozenset(line.split()[:2]) for line in path.read_text().splitlines()
                 if line.strip()}
        assert len(net.links) == len({p for p in pairs if len(p) == 2}), path
        latency_ms: dict[frozenset[str], float] = {}
        for line in path.with_name("latencies.intra").read_text().splitlines():
            if line.strip():
                a, b, ms = line.split()
                latency_ms[frozenset((a, b))] = float(ms)
        for lk in net.links.values():
            assert lk.delay_s == pytest.approx(latency_ms[frozenset((lk.a, lk.b))] / 1e3,
                                               rel=1e-12), (path, lk.id)


def test_rocketfuel_latency_in_either_direction(tmp_path: Path) -> None:
    """The real maps list latencies in the weights' direction; a reversed line counts too."""
    (tmp_path / "weights.intra").write_text("r1 r2 3\nr2 r3 1.6\n")
    (tmp_path / "latencies.intra").write_text("r2 r1 4.5\nr2 r3 0.25\n")
    net = load_network(tmp_path / "weights.intra")
    assert net.links["r1--r2"].delay_s == pytest.approx(4.5e-3, rel=1e-12)
    assert net.links["r2--r3"].delay_s == pytest.approx(0.25e-3, rel=1e-12)
    assert net.links["r2--r3"].metric_ab == 2  # fractional weights rounded
    assert any("fractional weights rounded" in str(n) for n in net.notes)


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


def test_a_misspelt_node_in_a_matrix_gets_the_closest_ids(tmp_path: Path) -> None:
    """As every other unknown id: the closest node ids of the network (oracle: difflib over
    the SNDlib file's own node ids); names with nothing close keep the plain fix."""
    import difflib

    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    csv = tmp_path / "tm.csv"
    csv.write_text("src,dst,rate_bps\nATLAng,CHINnq,1e9\nDNVRnq,ATLAng,5\nATLAng,MARS,1\n")
    with pytest.raises(NettwinError) as info:
        load_traffic(net, csv)
    text = str(info.value)
    for typo in ("CHINnq", "DNVRnq"):
        best = difflib.get_close_matches(typo.lower(), [n.lower() for n in net.nodes], n=1)[0]
        real = next(n for n in net.nodes if n.lower() == best)
        assert f"(got '{typo}'). Fix: did you mean '{real}'" in text
    assert "(got 'MARS'). Fix: add the node or correct the demand's target" in text


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
