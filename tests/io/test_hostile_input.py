"""Hostile and broken input files: every importer ends in a NettwinError naming the file and
the place, never a traceback, a hang or a memory blow-up.

Two halves: the adversarial corpus in ``tests/corpus`` (one file per attack class, with the
words its error must contain) and a seeded property-based fuzz that mutates the real data
files in ``../shared/data`` byte- and value-wise and asserts "a valid Network or a
NettwinError, nothing else" for every importer.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import tarfile
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nettwin.cli.app import app as cli_app
from nettwin.errors import ImportFormatError, NettwinError, ValidationError
from nettwin.examples import example_path
from nettwin.io import load_network, load_traffic, save_network
from nettwin.io.documents import InputLimits, input_limits, parse_json, parse_yaml
from nettwin.io.gnnet import iter_gnnet_samples, read_routing, read_topology
from nettwin.io.repetita import import_repetita
from nettwin.model import Network
from tests.conftest import data_path

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

# file, format (None: detected), words the error must contain
CORPUS_CASES: list[tuple[str, str | None, tuple[str, ...]]] = [
    ("alias-bomb-top.yaml", None, ("alias-bomb-top.yaml:7", "alias bomb", "100,000")),
    ("alias-bomb-attributes.yaml", None, ("alias-bomb-attributes.yaml:9", "alias bomb")),
    ("alias-bomb-merge.yaml", None, ("alias-bomb-merge.yaml:13", "alias bomb")),
    ("recursive-anchor.yaml", None, ("recursive-anchor.yaml:1", "recursive anchor")),
    ("deep.yaml", None, ("deep.yaml:1", "nested more than 64 levels")),
    ("deep.json", None, ("deep.json", "nested too deeply")),
    ("int-digits.json", None, ("int-digits.json", "integer too long", "plausible value")),
    ("int-digits.yaml", None, ("int-digits.yaml", "4300 digits", "plausible value")),
    ("int-beyond-float.yaml", None, ("links[0].metric_ab", "313 digits", "64 bits")),
    ("inf-weight.yaml", None, ("link 'ab'", "metric_ab", "finite", "Fix:")),
    ("nan-capacity.json", None, ("link 'ab'", "capacity_ab_bps", "finite", "Fix:")),
    ("speed-text.yaml", None, ("link 'ab'", "capacity_ab_bps", "'ten gig'", "Fix:")),
    ("negative-index.graph", None, ("negative-index.graph:10", "edge e1", "'-1'", "0..2")),
    ("inf-delay.graph", None, ("inf-delay.graph:8", "delay", "'inf'", "finite")),
    ("rfc8345-network-not-list.json", "rfc8345", ("ietf-network:networks.network",
                                                 "JSON array")),
    ("rfc8345-node-not-object.json", "rfc8345", ("node[0]", "JSON object", "'a'")),
    ("rfc8345-source-list.json", "rfc8345", ("link[0].source", "JSON object")),
    ("rfc8345-capacity-text.json", "rfc8345", ("link 'l1'", "capacity_ab_bps", "'fast'")),
    ("graphml-speed-text.graphml", None, ("edge A--B", "LinkSpeedRaw", "'fast'")),
    ("xml-entity-bomb.xml", "sndlib-xml", ("xml-entity-bomb.xml:14", "amplification")),
    ("sndlib-redos.txt", "sndlib-native", ("sndlib-redos.txt:7", "link line not understood",
                                           "expected 'ID ( A B )")),
    ("xml-unknown-encoding.xml", "sndlib-xml", ("xml-unknown-encoding.xml",
                                                "unknown encoding: null", "UTF-8")),
    ("xml-unknown-encoding.xml", "graphml", ("xml-unknown-encoding.xml",
                                             "unknown encoding: null")),
]


@pytest.mark.parametrize(("name", "fmt", "words"), CORPUS_CASES)
def test_corpus_file_is_refused_with_a_clear_error(name: str, fmt: str | None,
                                                   words: tuple[str, ...]) -> None:
    with pytest.raises(NettwinError) as info:
        load_network(CORPUS / name, fmt)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    assert len(str(info.value)) < 2000  # a hostile line is quoted short, never whole


@pytest.mark.parametrize(("name", "words"), [
    ("traffic-inf-rate.csv", ("traffic-inf-rate.csv:2", "rate_bps", "'1e400'", "finite")),
    ("traffic-nul.csv", ("traffic-nul.csv:2", "field 'dst'", "'b\\x00'")),
])
def test_corpus_traffic_file_is_refused(name: str, words: tuple[str, ...]) -> None:
    network = load_network(example_path())
    with pytest.raises(NettwinError) as info:
        load_traffic(network, CORPUS / name)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_cli_exits_3_on_an_alias_bomb() -> None:
    result = CliRunner().invoke(cli_app, ["info", str(CORPUS / "alias-bomb-attributes.yaml")])
    assert result.exit_code == 3
    assert "alias bomb" in result.output


def test_alias_bomb_memory_stays_bounded() -> None:
    """Refused while composing: the parser's nodes, not the expansion (387 M elements)."""
    import tracemalloc

    text = (CORPUS / "alias-bomb-top.yaml").read_text()
    tracemalloc.start()
    with pytest.raises(ImportFormatError):
        parse_yaml(text, "bomb")
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 5 * 2**20


def test_aliases_within_the_budget_still_load() -> None:
    """safe_dump writes anchors for shared objects: a document using a few stays valid."""
    doc = parse_yaml("x: &a {k: 1}\ny: *a\nz: [*a, *a]\n", "ok")
    assert doc == {"x": {"k": 1}, "y": {"k": 1}, "z": [{"k": 1}, {"k": 1}]}


def test_limits_are_configurable_and_name_the_place() -> None:
    small = InputLimits(max_depth=3, max_elements=10)
    with pytest.raises(ImportFormatError, match=r"nested more than 3 levels"):
        parse_json('{"a": {"b": {"c": {"d": 1}}}}', "x.json", small)
    with pytest.raises(ImportFormatError, match=r"more than 10 elements"):
        parse_yaml("[" + ", ".join(["1"] * 20) + "]", "x.yaml", small)
    with input_limits(InputLimits(max_bytes=1024)), pytest.raises(
            ImportFormatError, match=r"more than 1,024"):
        load_network(example_path())
    with pytest.raises(ImportFormatError, match=r"nodes\[1\]\.attributes\.x: integer"):
        parse_json('{"nodes": [{}, {"attributes": {"x": 1%s}}]}' % ("0" * 30), "x.json")


def test_repetita_index_minus_one_is_no_longer_the_last_node(tmp_path: Path) -> None:
    """Oracle: the same file with the valid index loads, and names node c at index 2."""
    text = (CORPUS / "negative-index.graph").read_text()
    good = tmp_path / "good.graph"
    good.write_text(text.replace("e1 -1 0", "e1 2 0"))
    net = import_repetita(good)
    assert {(lk.a, lk.b) for lk in net.links.values()} == {("a", "b"), ("c", "a")}
    with pytest.raises(ImportFormatError, match="src '-1' is not a node number"):
        import_repetita(CORPUS / "negative-index.graph")


# --------------------------------------------------------------------------- the fuzz
HOSTILE_TOKENS = [b"(" * 20_000, b"-1", b"0", b"1e400", b"-1e400", b"nan", b"NaN", b"inf", b"-inf",
                  b"Infinity", b"9" * 5000, b"18446744073709551616", b"", b"\x00", b"\xff\xfe",
                  b"&a", b"*a", b"[[[[[[[[", b"{", b"}", b'"', b"<", b"</", b"<!ENTITY",
                  b"(", b")", b"\n", b"null", b"true", b"- ", b"1.5", b"\t", "é".encode(),
                  b":", b",", b";", b"|", b"x" * 300]
HOSTILE_VALUES: list[Any] = [None, -1, 0, 1.5, 10**30, 10**400, float("inf"), float("nan"),
                             "", "x", "1e400", True, [], {}, [1, 2], {"a": 1},
                             json.loads("[" * 100 + "]" * 100)]
_TOKEN = re.compile(rb"[^\s,;:()\[\]{}<>\"=/]+")


@st.composite
def byte_mutations(draw: st.DrawFn, original: bytes) -> bytes:
    """1-4 edits: a token replaced by a hostile one, a span deleted, duplicated or cut."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["token", "token", "token", "insert", "delete", "dup",
                                   "truncate"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "token":
            tokens = list(_TOKEN.finditer(bytes(data), pos)) or list(_TOKEN.finditer(data))
            if tokens:
                m = tokens[draw(st.integers(0, min(len(tokens), 40) - 1))]
                data[m.start():m.end()] = draw(st.sampled_from(HOSTILE_TOKENS))
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from(HOSTILE_TOKENS))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 200))]
        elif op == "dup":
            end = pos + draw(st.integers(1, 400))
            data[end:end] = data[pos:end]
        else:
            del data[pos:]
    return bytes(data)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:30]):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def value_mutations(draw: st.DrawFn, doc: Any) -> Any:
    """The document with 1-3 values (or whole branches) replaced by hostile ones."""
    doc = json.loads(json.dumps(doc))
    paths = _paths(doc)
    for _ in range(draw(st.integers(1, 3))):
        path = paths[draw(st.integers(0, len(paths) - 1))]
        value = copy.deepcopy(draw(st.sampled_from(HOSTILE_VALUES)))  # never share them
        if not path:
            return value
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    return doc


# Seeded and small for CI (a few seconds per importer); NETTWIN_FUZZ_EXAMPLES=2000 digs deeper
FUZZ = settings(max_examples=int(os.environ.get("NETTWIN_FUZZ_EXAMPLES", "40")),
                derandomize=True, deadline=timedelta(seconds=20),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example],
                database=None)


def _network_or_error(load: Callable[[], Any]) -> None:
    """The property: a valid Network (or importer result) or a NettwinError, nothing else."""
    try:
        result = load()
    except NettwinError as exc:
        assert str(exc)  # names something
        return
    if isinstance(result, Network):
        assert len(result.nodes) >= 0 and all(lk.a in result.nodes and lk.b in result.nodes
                                              for lk in result.links.values())


def _write(data: bytes, name: str) -> tuple[tempfile.TemporaryDirectory[str], Path]:
    tmp = tempfile.TemporaryDirectory()
    path = Path(tmp.name) / name
    path.write_bytes(data)
    return tmp, path


def _fuzz_bytes(original: Path, fmt: str | None, name: str | None = None,
                extra: dict[str, bytes] | None = None) -> Callable[[], None]:
    source = original.read_bytes()

    @FUZZ
    @given(data=byte_mutations(source))
    def run(data: bytes) -> None:
        tmp, path = _write(data, name or original.name)
        with tmp:
            for other, content in (extra or {}).items():
                (path.parent / other).write_bytes(content)
            _network_or_error(lambda: load_network(path, fmt))

    return run


@pytest.mark.parametrize(("parts", "fmt", "name"), [
    (("sndlib", "native", "abilene.txt"), "sndlib-native", None),
    (("sndlib", "xml", "abilene.xml"), "sndlib-xml", None),
    (("topology_zoo", "graphml", "Arpanet196912.graphml"), "graphml", None),
    (("repetita", "2016TopologyZooUCL_inverseCapacity", "Abilene.graph"), "repetita", None),
    (("rocketfuel", "3967", "weights.intra"), "rocketfuel", None),
])
def test_fuzz_real_files_bytewise(parts: tuple[str, ...], fmt: str, name: str | None) -> None:
    _fuzz_bytes(data_path(*parts), fmt, name)()


def test_fuzz_native_yaml_bytewise() -> None:
    _fuzz_bytes(example_path(), "native")()


def _fuzz_document(doc: Any, name: str, fmt: str) -> None:
    @FUZZ
    @given(mutated=value_mutations(doc))
    def run(mutated: Any) -> None:
        text = json.dumps(mutated) if name.endswith(".json") else yaml.safe_dump(mutated)
        tmp, path = _write(text.encode(), name)
        with tmp:
            _network_or_error(lambda: load_network(path, fmt))

    run()


@pytest.mark.parametrize(("name", "fmt"), [("net.json", "native"), ("net.yaml", "native"),
                                           ("rfc.json", "rfc8345")])
def test_fuzz_structured_documents_valuewise(tmp_path: Path, name: str, fmt: str) -> None:
    network = load_network(data_path("sndlib", "native", "abilene.txt"))
    path = tmp_path / name
    save_network(network, path, fmt)
    doc = json.loads(path.read_text()) if name.endswith(".json") else yaml.safe_load(
        path.read_text())
    _fuzz_document(doc, name, fmt)


def test_fuzz_rfc8345_bytewise(tmp_path: Path) -> None:
    path = tmp_path / "rfc.json"
    save_network(load_network(example_path()), path, "rfc8345")
    _fuzz_bytes(path, "rfc8345")()


def test_fuzz_traffic_files() -> None:
    network = load_network(data_path("sndlib", "xml", "abilene.xml"))
    demands = data_path("repetita", "2016TopologyZooUCL_inverseCapacity",
                        "Abilene.0000.demands")
    graph = import_repetita(demands.with_name("Abilene.graph"))
    rows = ["src,dst,rate_bps"] + [f"{d.src},{d.dst},{d.rate_bps}"
                                   for d in list(load_network(example_path())
                                                 .iter_demands())[:40]]
    csv_bytes = ("\n".join(rows) + "\n").encode()
    abilene = load_network(example_path())
    xml = sorted(data_path("traffic", "abilene-zhang-5min").glob("*.xml"))[0]
    for original, net in ((xml, network), (demands, graph)):
        _fuzz_traffic(original.read_bytes(), original.name, net)

    _fuzz_traffic(csv_bytes, "traffic.csv", abilene)
    native = {"demands": [{"src": d.src, "dst": d.dst, "rate_bps": d.rate_bps}
                          for d in list(abilene.iter_demands())[:30]]}
    _fuzz_traffic(yaml.safe_dump(native).encode(), "traffic.yaml", abilene)

    @FUZZ
    @given(doc=value_mutations(native))
    def run_native(doc: Any) -> None:
        tmp, path = _write(json.dumps(doc).encode(), "traffic.json")
        with tmp:
            _network_or_error(lambda: load_traffic(abilene, path))

    run_native()


def _fuzz_traffic(source: bytes, name: str, network: Network) -> None:
    @FUZZ
    @given(data=byte_mutations(source))
    def run(data: bytes) -> None:
        tmp, path = _write(data, name)
        with tmp:
            _network_or_error(lambda: load_traffic(network, path))

    run()


@pytest.fixture(scope="module")
def gnnet_sample() -> dict[str, bytes]:
    """The first sample of the first GNNet tarball: its three lines, graph and routing."""
    tarball = data_path("gnnet2020", "train", "gnnet_data_set_0_99.tar.gz")
    out: dict[str, bytes] = {}
    with tarfile.open(tarball) as tar:
        for m in tar.getmembers():
            name = Path(m.name).name
            if m.isfile() and name in ("input_files.txt", "traffic.txt",
                                       "simulationResults.txt"):
                handle = tar.extractfile(m)
                assert handle is not None
                out[name] = handle.readline()
    graph, routing = out["input_files.txt"].decode().strip().split(";")[1:]
    folder = tarball.parent
    out["graph"] = (folder / "graphs" / graph).read_bytes()
    out["routing"] = (folder / "routings" / routing).read_bytes()
    out["graph_name"], out["routing_name"] = graph.encode(), routing.encode()
    return out


def _gnnet_tarball(folder: Path, lines: dict[str, bytes]) -> Path:
    path = folder / "sample.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name in ("input_files.txt", "traffic.txt", "simulationResults.txt"):
            info = tarfile.TarInfo(f"s/{name}")
            info.size = len(lines[name])
            tar.addfile(info, io.BytesIO(lines[name]))
    return path


def test_gnnet_unmutated_sample_parses(gnnet_sample: dict[str, bytes], tmp_path: Path) -> None:
    """The oracle for the fuzz below: the real sample through the same harness parses."""
    (tmp_path / "graphs").mkdir()
    (tmp_path / "routings").mkdir()
    (tmp_path / "graphs" / gnnet_sample["graph_name"].decode()).write_bytes(
        gnnet_sample["graph"])
    (tmp_path / "routings" / gnnet_sample["routing_name"].decode()).write_bytes(
        gnnet_sample["routing"])
    samples = list(iter_gnnet_samples(_gnnet_tarball(tmp_path, gnnet_sample)))
    n = samples[0].topology.n_nodes
    assert len(samples) == 1 and samples[0].n_flows == n * (n - 1)


@pytest.mark.parametrize("part", ["traffic.txt", "simulationResults.txt", "input_files.txt",
                                  "graph", "routing"])
def test_fuzz_gnnet(gnnet_sample: dict[str, bytes], part: str) -> None:
    @FUZZ
    @given(data=byte_mutations(gnnet_sample[part]))
    def run(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            (folder / "graphs").mkdir()
            (folder / "routings").mkdir()
            files = dict(gnnet_sample) | {part: data}
            (folder / "graphs" / gnnet_sample["graph_name"].decode()).write_bytes(
                files["graph"])
            (folder / "routings" / gnnet_sample["routing_name"].decode()).write_bytes(
                files["routing"])
            tarball = _gnnet_tarball(folder, files)

            def load() -> list[Any]:
                read_topology.cache_clear()
                read_routing.cache_clear()
                return list(iter_gnnet_samples(tarball))

            _network_or_error(load)

    run()


def test_fuzz_loaders_never_raise_outside_the_tree_on_random_bytes() -> None:
    """Whatever the bytes, every detected format answers with a NettwinError."""
    @FUZZ
    @given(data=st.binary(max_size=400), suffix=st.sampled_from(
        [".yaml", ".json", ".graphml", ".graph", ".xml", ".txt", ".intra"]))
    def run(data: bytes, suffix: str) -> None:
        name = "weights.intra" if suffix == ".intra" else f"f{suffix}"
        tmp, path = _write(data, name)
        with tmp:
            _network_or_error(lambda: load_network(path))

    run()


def test_validation_error_lists_every_hostile_field(tmp_path: Path) -> None:
    """Several bad fields in one file: one error naming each (not only the first)."""
    path = tmp_path / "bad.yaml"
    path.write_text("nodes: [{id: a, latitude: .nan}, {id: b, longitude: 1e400}]\n"
                    "links: [{id: ab, a: a, b: b, capacity_ab_bps: -1, metric_ab: 1.5}]\n")
    with pytest.raises(ValidationError) as info:
        load_network(path)
    fields = {(p.element.rsplit(": ", 1)[-1], p.field) for p in info.value.problems}
    assert fields == {("node 'a'", "latitude"), ("node 'b'", "longitude"),
                      ("link 'ab'", "capacity_ab_bps"), ("link 'ab'", "metric_ab")}


def test_storm_file_alias_bomb_exits_3(tmp_path: Path) -> None:
    """Every YAML the CLI reads goes through the bounded reader, storm files included."""
    bomb = tmp_path / "storm.yaml"
    bomb.write_text((CORPUS / "alias-bomb-top.yaml").read_text())
    result = CliRunner().invoke(cli_app, ["radio", "storm", "--storm", str(bomb)])
    assert result.exit_code == 3, result.output
    assert "alias bomb" in result.output


def test_fuzz_qos_policy_and_pinned_paths_documents() -> None:
    """The QoS policy and explicit-path files (pydantic-validated) under value mutations:
    a policy/path bundle or a NettwinError; non-finite weights and sizes are refused."""
    from nettwin import compile_network
    from nettwin.io.explicit_paths import build_paths
    from nettwin.io.qos_policy import build_policy

    net = load_network(example_path())
    c = compile_network(net)
    policy = {"classes": ["best-effort"],
              "default": {"scheduler": "wfq", "weights": [1], "buffer_packets": 500},
              "packets": {"mean_bytes": [1000], "size_scv": [1.0]},
              "nodes": {"Chicago": {"scheduler": "sp", "buffer_packets": [50]}},
              "ports": {"Atlanta->Houston": {"scheduler": "drr", "weights": [2]}}}
    paths = {"paths": [{"demand": "New-York->Chicago",
                        "via": ["New-York", "Washington-DC", "Atlanta", "Indianapolis",
                                "Chicago"]}]}
    build_policy(policy, c)  # the oracle: both documents are valid unmutated
    build_paths(paths, net, c)

    @FUZZ
    @given(doc=value_mutations(policy))
    def run_policy(doc: Any) -> None:
        try:
            built = build_policy(doc, c)
        except NettwinError:
            return
        assert np.isfinite(built.weights).all() and np.isfinite(built.buffer_packets).all()
        assert np.isfinite(built.mean_packet_bits).all()

    @FUZZ
    @given(doc=value_mutations(paths))
    def run_paths(doc: Any) -> None:
        _network_or_error(lambda: build_paths(doc, net, c))

    run_policy()
    run_paths()


def test_gnnet_non_finite_value_names_the_pair(gnnet_sample: dict[str, bytes],
                                               tmp_path: Path) -> None:
    """Found by the deep fuzz: a 'nan' in the traffic line became a garbage ToS class."""
    (tmp_path / "graphs").mkdir()
    (tmp_path / "routings").mkdir()
    (tmp_path / "graphs" / gnnet_sample["graph_name"].decode()).write_bytes(
        gnnet_sample["graph"])
    (tmp_path / "routings" / gnnet_sample["routing_name"].decode()).write_bytes(
        gnnet_sample["routing"])
    head, _, body = gnnet_sample["traffic.txt"].decode().partition("|")
    entries = body.split(";")
    fields = entries[1].split(",")
    fields[-1] = "nan"  # pair 0->1: its ToS
    entries[1] = ",".join(fields)
    lines = dict(gnnet_sample) | {"traffic.txt": f"{head}|{';'.join(entries)}".encode()}
    with pytest.raises(ImportFormatError, match=r"pair 0->1: a value is not a finite number"):
        list(iter_gnnet_samples(_gnnet_tarball(tmp_path, lines)))
