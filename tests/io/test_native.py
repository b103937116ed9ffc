"""Native YAML/JSON and RFC 8345: exact round trips, schema, precise errors."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from nettwin import ImportFormatError, ValidationError
from nettwin.examples import example_path
from nettwin.io import load_network, save_network
from nettwin.model import build_network
from nettwin.model.schema import export_json_schema
from tests.conftest import random_network


def _rich_network():
    return build_network(
        "rich",
        [{"id": "A", "name": "Alpha", "latitude": 48.1, "longitude": 11.5,
          "attributes": {"pop": "MUC"}}, {"id": "B", "kind": "switch"}, {"id": "C"}],
        [{"id": "ab", "a": "A", "b": "B", "capacity_ab_bps": 1e9, "capacity_ba_bps": 2.5e9,
          "metric_ab": 10, "metric_ba": 20, "kind": "microwave", "length_km": 12.5,
          "srlgs": ["tower-1"], "buffer_packets": 64},
         {"id": "bc", "a": "B", "b": "C", "capacity_bps": 1e10, "delay_s": 0.003,
          "admin_up": False}],
        [{"src": "A", "dst": "C", "rate_bps": 1.5e6, "traffic_class": "voice"},
         {"id": "bulk", "src": "C", "dst": "A", "rate_bps": 0.1}],
        [{"id": "s1", "demands": ["A->C:voice", "bulk"], "max_delay_s": 0.02,
          "max_loss": 0.001, "min_availability": 0.9999}])


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_native_round_trip_is_exact(tmp_path: Path, suffix: str) -> None:
    for net in (_rich_network(), random_network(5, 12, 30), load_network(example_path()),
                load_network(example_path("munich-backhaul"))):
        path = tmp_path / f"net{suffix}"
        save_network(net, path)
        assert load_network(path) == net


def test_rfc8345_round_trip_keeps_the_topology(tmp_path: Path) -> None:
    net = _rich_network()
    path = tmp_path / "net.json"
    save_network(net, path, "rfc8345")
    doc = json.loads(path.read_text())
    assert len(doc["ietf-network:networks"]["network"][0]["ietf-network-topology:link"]) == 4
    back = load_network(path)
    assert back.nodes == net.nodes
    assert back.links == net.links
    radio = load_network(example_path("munich-backhaul"))
    save_network(radio, path, "rfc8345")
    back = load_network(path)
    assert back.links == radio.links and back.nodes == radio.nodes


def test_rfc8345_without_nettwin_extensions_reports_defaults(tmp_path: Path) -> None:
    doc = {"ietf-network:networks": {"network": [{
        "network-id": "plain",
        "node": [{"node-id": "R1"}, {"node-id": "R2"}],
        "ietf-network-topology:link": [
            {"link-id": "R1-R2", "source": {"source-node": "R1", "source-tp": "e0"},
             "destination": {"dest-node": "R2", "dest-tp": "e0"},
             "ietf-l3-unicast-topology:l3-link-attributes": {"metric1": 7}},
            {"link-id": "R2-R1", "source": {"source-node": "R2", "source-tp": "e0"},
             "destination": {"dest-node": "R1", "dest-tp": "e0"}}]}]}}
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(doc))
    net = load_network(path)
    (link,) = net.links.values()
    assert (link.a, link.b, link.metric_ab, link.metric_ba) == ("R1", "R2", 7, 10)
    assert link.capacity_ab_bps == 10e9
    text = " ".join(str(n) for n in net.notes)
    assert "2 link direction(s) carry no capacity" in text and "lack RFC 8346 metric1" in text


def test_bundled_example_validates_against_exported_json_schema() -> None:
    schema = export_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    doc = yaml.safe_load(example_path().read_text())
    jsonschema.validate(doc, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc | {"links": [{"id": "x", "a": "A", "b": "B", "wat": 1}]}, schema)


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("nodes:\n  - id: A\n  - id: [B\n")
    with pytest.raises(ImportFormatError, match=r"bad.yaml:\d+: invalid YAML"):
        load_network(path)


def test_bad_records_name_file_element_field_value_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"nodes": [{"id": "A"}, {"id": "B"}], "links": [
        {"id": "ab", "a": "A", "b": "B", "capacity_bps": "fast"},
        {"id": "bz", "a": "B", "b": "Z", "capacity_bps": 1e9}]}))
    with pytest.raises(ValidationError) as info:
        load_network(path)
    message = str(info.value)
    assert f"in {path}" in message
    assert "link 'ab', field 'capacity_ab_bps': expected a number (got 'fast')" in message
    assert "link 'bz', field 'b': endpoint node does not exist (got 'Z')" in message
    assert len(info.value.problems) == 3


def test_unknown_section_and_version_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text("nettwin: 9\nnodes: []\nlinks: []\n")
    with pytest.raises(ImportFormatError, match="format version 9 is not supported"):
        load_network(path)
    path.write_text("nodes: []\nlinks: []\nrouters: []\n")
    with pytest.raises(ImportFormatError, match=r"unknown section\(s\) \['routers'\]"):
        load_network(path)
