"""Every importer's error paths: one bad file per raise site. Each must raise a NettwinError
that names the file, the line (where the format has lines), the offending element or value,
and what was expected; the CLI must print it and exit 3 (bad input).

The files are written here, each differing from a valid one in exactly one place."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nettwin.cli import app
from nettwin.errors import ImportFormatError, NettwinError, ValidationError
from nettwin.examples import example_path
from nettwin.io import load_network, load_traffic
from nettwin.io.gnnet import iter_gnnet_samples, read_topology
from nettwin.io.rfc8345 import import_rfc8345

runner = CliRunner()
EXIT_BAD_INPUT = 3

SNDLIB_NATIVE = """?SNDlib native format; type: network; version: 1.0
META (
  granularity = 6month
  time = 2004
  unit = {unit}
  origin = test
)
NODES (
  N1 ( 1.0 2.0 )
  {node}
  N3 ( 5.0 6.0 )
)
LINKS (
  L1 ( N1 N2 ) 10.0 0.0 0.0 0.0 ( )
  {link}
)
DEMANDS (
  D1 ( N1 N3 ) 1 2.5 UNLIMITED
  {demand}
)
"""
NATIVE_OK = {"unit": "MBITPERSEC", "node": "N2 ( 3.0 4.0 )",
             "link": "L2 ( N2 N3 ) 10.0 0.0 0.0 0.0 ( )",
             "demand": "D2 ( N2 N3 ) 1 1.0 UNLIMITED"}


def sndlib_native(**change: str) -> str:
    return SNDLIB_NATIVE.format(**(NATIVE_OK | change))


SNDLIB_XML = """<?xml version="1.0" encoding="UTF-8"?>
<network xmlns="http://sndlib.zib.de/network" version="1.0">
 <meta><granularity>6month</granularity><time>2004</time><unit>MBITPERSEC</unit></meta>
 <networkStructure>
  <nodes coordinatesType="geographical">
   <node id="N1"><coordinates><x>1.0</x><y>2.0</y></coordinates></node>
   <node id="N2"><coordinates><x>{x}</x><y>4.0</y></coordinates></node>
  </nodes>
  <links>
   <link id="L1"><source>N1</source><target>N2</target>
    <preInstalledModule><capacity>{capacity}</capacity><cost>0</cost></preInstalledModule>
   </link>
  </links>
 </networkStructure>
 <demands>
  <demand id="D1"><source>N1</source><target>{target}</target>
   <demandValue>{value}</demandValue></demand>
 </demands>
</network>
"""
XML_OK = {"x": "3.0", "capacity": "10.0", "target": "N2", "value": "2.5"}


def sndlib_xml(**change: str) -> str:
    return SNDLIB_XML.format(**(XML_OK | change))


def repetita_graph(nodes: str = "NODES 3\nlabel x y\nA 1 1\nB 2 2\nC 3 3\n",
                   edges: str = "EDGES 2\nlabel src dest weight bw delay\n"
                                "e0 0 1 1 1000 10\ne1 1 0 1 1000 10\n") -> str:
    return nodes + "\n" + edges


@dataclass(frozen=True)
class Case:
    """A bad file, where it goes, and what the error must say."""

    id: str
    name: str  # file name (the suffix drives format detection)
    text: str
    says: tuple[str, ...]  # substrings of the message: element, value, what was expected
    line: int | None = None  # the line the error must point at
    traffic: bool = False  # a traffic file for the bundled example, not a network
    fmt: str | None = None  # --format, where detection cannot apply to a broken file
    error: type[NettwinError] = ImportFormatError


CASES = [
    # --- SNDlib native
    Case("sndlib-native-unit", "net.txt", sndlib_native(unit="FURLONGS"),
         ("unknown META unit 'FURLONGS'", "expected one of", "MBITPERSEC")),
    Case("sndlib-native-no-nodes", "net.txt", "?SNDlib native format\nLINKS (\n)\n",
         ("no NODES section", "not an SNDlib native file"), fmt="sndlib-native"),
    Case("sndlib-native-node-line", "net.txt", sndlib_native(node="N2 ( 3.0 4.0 5.0 )"),
         ("node line not understood", "'N2 ( 3.0 4.0 5.0 )'"), line=10),
    Case("sndlib-native-longitude", "net.txt", sndlib_native(node="N2 ( east 4.0 )"),
         ("longitude", "expected a number", "'east'"), line=10),
    Case("sndlib-native-link-line", "net.txt", sndlib_native(link="L2 ( N2 N3 ) 10.0"),
         ("link line not understood", "'L2 ( N2 N3 ) 10.0'",
          "expected 'ID ( A B ) cap cap_cost routing_cost setup_cost ( modules )'"), line=15),
    Case("sndlib-native-capacity", "net.txt",
         sndlib_native(link="L2 ( N2 N3 ) ten 0.0 0.0 0.0 ( )"),
         ("pre-installed capacity", "expected a number", "'ten'"), line=15),
    Case("sndlib-native-module", "net.txt",
         sndlib_native(link="L2 ( N2 N3 ) 0.0 0.0 0.0 0.0 ( big 1.0 )"),
         ("module capacity", "expected a number", "'big'"), line=15),
    Case("sndlib-native-demand-line", "net.txt", sndlib_native(demand="D2 N2 N3 1.0"),
         ("demand line not understood", "'D2 N2 N3 1.0'"), line=19),
    Case("sndlib-native-demand-value", "net.txt",
         sndlib_native(demand="D2 ( N2 N3 ) 1 lots UNLIMITED"),
         ("demand value", "expected a number", "'lots'"), line=19),
    Case("sndlib-native-demand-node", "net.txt",
         sndlib_native(demand="D2 ( N2 N9 ) 1 1.0 UNLIMITED"),
         ("net.txt:19 demand 'D2'", "N9"), error=ValidationError),
    # --- SNDlib XML (network and measured traffic matrices)
    Case("sndlib-xml-root", "net.xml", "<?xml version='1.0'?>\n<network2/>\n",
         ("root element is <network2>", "expected SNDlib <network>"), fmt="sndlib-xml"),
    Case("sndlib-xml-syntax", "net.xml", sndlib_xml().replace("</links>", "</link>"),
         ("not well-formed XML",), line=13),
    Case("sndlib-xml-coordinate", "net.xml", sndlib_xml(x="far"),
         ("node N2 x", "expected a number", "'far'")),
    Case("sndlib-xml-capacity", "net.xml", sndlib_xml(capacity="1O"),
         ("link L1 capacity", "expected a number", "'1O'")),
    Case("sndlib-xml-demand-value", "net.xml", sndlib_xml(value="-"),
         ("demand D1 demandValue", "expected a number", "'-'")),
    Case("sndlib-xml-demand-node", "net.xml", sndlib_xml(target="N7"),
         ("demand 'D1'", "N7"), error=ValidationError),
    Case("sndlib-traffic-value", "tm.xml", sndlib_xml(value="NaN?"),
         ("demand D1 demandValue", "expected a number", "'NaN?'"), traffic=True),
    Case("sndlib-traffic-node", "tm.xml", sndlib_xml(target="N2"),
         ("demand 'D1'", "N1"), traffic=True, error=ValidationError),
    # --- REPETITA
    Case("repetita-nodes-head", "net.graph", "NODE 3\nlabel x y\n",
         ("expected 'NODES <count>'",), line=1),
    Case("repetita-nodes-count", "net.graph",
         repetita_graph(nodes="NODES 4\nlabel x y\nA 1 1\nB 2 2\nC 3 3\n", edges=""),
         ("NODES announces 4 rows, found 3",), line=6),
    Case("repetita-node-row", "net.graph",
         repetita_graph(nodes="NODES 3\nlabel x y\nA 1 1\nB 2\nC 3 3\n"),
         ("node row needs 'label x y'",), line=4),
    Case("repetita-coordinate", "net.graph",
         repetita_graph(nodes="NODES 3\nlabel x y\nA 1 1\nB 2 north\nC 3 3\n"),
         ("coordinate", "expected a number", "'north'"), line=4),
    Case("repetita-edges-head", "net.graph", repetita_graph(edges="LINKS 2\n"),
         ("expected 'EDGES <count>'",), line=7),
    Case("repetita-edge-row", "net.graph",
         repetita_graph(edges="EDGES 1\nlabel src dest weight bw delay\ne0 0 1 1 1000\n"),
         ("edge row needs 'label src dest weight bw delay'",), line=9),
    Case("repetita-edge-node", "net.graph",
         repetita_graph(edges="EDGES 1\nlabel src dest weight bw delay\ne0 0 3 1 1000 10\n"),
         ("edge e0", "dest '3' is not a node number", "use 0..2"), line=9),
    Case("repetita-edge-weight", "net.graph",
         repetita_graph(edges="EDGES 1\nlabel src dest weight bw delay\ne0 0 1 w 1000 10\n"),
         ("weight", "expected a number", "'w'"), line=9),
    Case("repetita-demands-head", "tm.demands", "DEMAND 1\nlabel src dest bw\nd0 0 1 5\n",
         ("expected 'DEMANDS <count>'",), line=1, traffic=True),
    Case("repetita-demand-row", "tm.demands", "DEMANDS 1\nlabel src dest bw\nd0 0 1\n",
         ("demand row needs 'label src dest bw'",), line=3, traffic=True),
    Case("repetita-demand-node", "tm.demands", "DEMANDS 1\nlabel src dest bw\nd0 0 99 5\n",
         ("demand d0", "dest '99' is not a node number", "use 0..10"), line=3, traffic=True),
    Case("repetita-demand-bw", "tm.demands", "DEMANDS 1\nlabel src dest bw\nd0 0 1 5k\n",
         ("bw", "expected a number", "'5k'"), line=3, traffic=True),
    # --- Rocketfuel
    Case("rocketfuel-weights-row", "weights.intra", "a b 1\nb c\n",
         ("expected 'router_a router_b value'", "'b c'"), line=2),
    Case("rocketfuel-weight", "weights.intra", "a b 1\nb c heavy\n",
         ("value", "expected a number", "'heavy'"), line=2),
    # --- CSV traffic
    Case("csv-header", "tm.csv", "src,dst,rate\nNew-York,Chicago,1e9\n",
         ("CSV header ['src', 'dst', 'rate'] lacks one of ['src', 'dst', 'rate_bps']",),
         line=1, traffic=True),
    Case("csv-columns", "tm.csv", "src,dst,rate_bps\nNew-York,Chicago,1e9\nNew-York,2e9\n",
         ("2 column(s), header has 3",), line=3, traffic=True),
    Case("csv-rate", "tm.csv", "src,dst,rate_bps\nNew-York,Chicago,1 Gbit/s\n",
         ("rate_bps", "expected a number", "'1 Gbit/s'"), line=2, traffic=True),
    Case("csv-node", "tm.csv", "src,dst,rate_bps\nNew-York,Gotham,1e9\n",
         ("tm.csv:2", "Gotham"), traffic=True, error=ValidationError),
    Case("csv-negative", "tm.csv", "src,dst,rate_bps\nNew-York,Chicago,-5\n",
         ("tm.csv:2", "-5"), traffic=True, error=ValidationError),
    # --- YAML traffic
    Case("yaml-traffic-shape", "tm.yaml", "demands: {src: a}\n",
         ("expected a list of demands",), traffic=True),
    Case("yaml-traffic-row", "tm.yaml", "- [New-York, Chicago, 1e9]\n",
         ("tm.yaml demands[0]", "expected a mapping", "write {src: ..., dst: ..., rate_bps"),
         traffic=True, error=ValidationError),
    # --- RFC 8345
    Case("rfc8345-json", "net.json", '{"ietf-network:networks": {"network": [\n}\n',
         ("invalid JSON",), line=2),
    Case("rfc8345-no-networks", "net.json", '{"networks": {}}\n',
         ("missing 'ietf-network:networks'",), fmt="rfc8345"),
    Case("rfc8345-no-network-key", "net.json", '{"ietf-network:networks": {}}\n',
         ("missing 'network'",)),
    Case("rfc8345-empty", "net.json", '{"ietf-network:networks": {"network": []}}\n',
         ("no network in 'ietf-network:networks'",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_file_names_element_value_and_line(case: Case, tmp_path: Path) -> None:
    path = tmp_path / case.name
    path.write_text(case.text)
    base = load_network(example_path())
    with pytest.raises(case.error) as info:
        if case.traffic:
            load_traffic(base, path)
        else:
            load_network(path, case.fmt)
    exc = info.value
    message = str(exc)
    for part in case.says:
        assert part in message, (part, message)
    if isinstance(exc, ImportFormatError):
        assert exc.path == str(path) and exc.line == case.line, message
        assert message.startswith(f"{path}:{case.line}: " if case.line else f"{path}: ")
    else:
        assert isinstance(exc, ValidationError) and exc.problems
    # the command line: the same message, and exit 3 for bad input
    args = (["info", "--traffic", str(path)] if case.traffic
            else ["info", str(path), *(["--format", case.fmt] if case.fmt else [])])
    res = runner.invoke(app, args)
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    assert "invalid input" in res.output
    flat = " ".join(res.output.split())
    for part in case.says:
        assert " ".join(part.split()) in flat, (part, res.output)


def test_rocketfuel_bad_latency_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "weights.intra").write_text("a b 1\nb a 1\n")
    (tmp_path / "latencies.intra").write_text("a b 2.5\na b\n")
    with pytest.raises(ImportFormatError) as info:
        load_network(tmp_path / "weights.intra")
    assert info.value.path == str(tmp_path / "latencies.intra") and info.value.line == 2
    assert "expected 'router_a router_b value', got 'a b'" in str(info.value)
    res = runner.invoke(app, ["info", str(tmp_path / "weights.intra")])
    assert res.exit_code == EXIT_BAD_INPUT and "latencies.intra:2" in res.output


def test_rfc8345_unknown_network_id_lists_those_present(tmp_path: Path) -> None:
    path = tmp_path / "net.json"
    path.write_text(json.dumps({"ietf-network:networks": {"network": [
        {"network-id": "core", "node": []}, {"network-id": "edge", "node": []}]}}))
    with pytest.raises(ImportFormatError) as info:
        import_rfc8345(path, network_id="metro")
    assert "no network 'metro'; the file has ['core', 'edge']" in str(info.value)


# --------------------------------------------------------------------------- GNNet
GML = """graph [
  directed 1
  multigraph 1
  node [ id 0 label "0" schedulingPolicy "FIFO" ]
  node [ id 1 label "1" schedulingPolicy "FIFO" ]
  edge [ source 0 target 1 key 0 port 0 bandwidth 10000 ]
  edge [ source 1 target 0 key 0 port 0 bandwidth 10000 ]
]
"""
# traffic: time distribution 0 (Poisson), size distribution 2 (binomial), class 0
PAIR = "0,100.0,0.1,0,2,1000,500,1500,0:1"
RESULT = ",".join(["0.0"] * 11)
DIAG = ",".join(["0.0"] * 9)


def _gnnet(tmp_path: Path, *, routing: str = "-1,0\n0,-1\n",
           traffic: str | None = None, inputs: str = "0;g.txt;r.txt",
           members: tuple[str, ...] = ("input_files.txt", "traffic.txt",
                                       "simulationResults.txt")) -> Path:
    (tmp_path / "graphs").mkdir()
    (tmp_path / "routings").mkdir()
    (tmp_path / "graphs" / "g.txt").write_text(GML)
    (tmp_path / "routings" / "r.txt").write_text(routing)
    entries = [DIAG, PAIR, PAIR, DIAG]
    texts = {"input_files.txt": inputs + "\n",
             "traffic.txt": traffic or "100.0|" + ";".join(entries) + ";\n",
             "simulationResults.txt": "0|" + ";".join([RESULT] * 4) + ";\n"}
    tarball = tmp_path / "set.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name in members:
            data = texts[name].encode()
            info = tarfile.TarInfo(f"set/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return tarball


def test_gnnet_valid_sample_reads(tmp_path: Path) -> None:
    """The baseline the error cases below each break in one place."""
    (sample,) = list(iter_gnnet_samples(_gnnet(tmp_path)))
    assert sample.n_flows == 2 and sample.max_avg_lambda == 100.0


@pytest.mark.parametrize(("build", "says"), [
    (lambda p: _gnnet(p, routing="-1,5\n0,-1\n"), "routing from 0 to 1 breaks at node 0"),
    (lambda p: _gnnet(p, traffic="100.0|" + ";".join([PAIR] * 3) + ";\n"),
     "expected 4 pair entries for 2 nodes, got 3 traffic and 4 result entries"),
    (lambda p: _gnnet(p, traffic="100.0|" + ";".join(
        [DIAG, PAIR.replace("0,100.0", "1,100.0", 1), PAIR, DIAG]) + ";\n"),
     "pair 0->1: only Poisson arrivals with binomial sizes are read (time dist 1, size dist 2)"),
    (lambda p: _gnnet(p, inputs="0;g.txt"), "input_files line not understood: '0;g.txt'"),
    (lambda p: _gnnet(p, members=("input_files.txt", "traffic.txt")),
     "missing ['simulationResults.txt'] in the tarball"),
], ids=["routing-loop", "pair-count", "arrivals", "input-line", "missing-member"])
def test_gnnet_bad_sample_is_named(tmp_path: Path, build, says: str) -> None:  # type: ignore[no-untyped-def]
    tarball = build(tmp_path)
    with pytest.raises(ImportFormatError) as info:
        list(iter_gnnet_samples(tarball))
    assert says in str(info.value)
    # a sample's error names the tarball and the sample; a tarball's error, its path
    assert info.value.path in (f"{tarball.name} sample 0", str(tarball))
    assert (info.value.path == str(tarball)) == ("tarball" in says)


def test_gnnet_unreadable_tarball_and_graph(tmp_path: Path) -> None:
    bad = tmp_path / "set.tar.gz"
    bad.write_bytes(b"not a tarball")
    with pytest.raises(ImportFormatError) as info:
        list(iter_gnnet_samples(bad))
    assert info.value.path == str(bad) and "not a readable tarball" in str(info.value)
    graph = tmp_path / "g.txt"
    graph.write_text("graph [ node [ id 0 ] edge [ source 0 ")
    with pytest.raises(ImportFormatError) as info:
        read_topology(graph)
    assert info.value.path == str(graph) and "not a readable GNNet GML graph" in str(info.value)


def test_gnnet_errors_from_the_command_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    res = runner.invoke(app, ["qos-validate", "--data", str(empty)])
    assert res.exit_code == EXIT_BAD_INPUT and "no GNNet tarballs here; pass --data" in res.output
    folder = tmp_path / "set"
    folder.mkdir()
    tarball = _gnnet(folder, inputs="0;g.txt")
    res = runner.invoke(app, ["qos-validate", "--data", str(folder)])
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    assert f"{tarball.name} sample 0: input_files line not understood: '0;g.txt'" in " ".join(
        res.output.split())
