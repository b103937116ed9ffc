"""Decoding: every kind, gNMI notifications, and bad records that never cost good ones."""

from __future__ import annotations

import json

import pytest

from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live import Decoder, InterfaceMap, decode_gnmi
from nettwin.live.observations import parse_time

NET = load_network(example_path())
DECODER = Decoder(InterfaceMap(NET))


def test_parse_time_accepts_epoch_ns_and_iso() -> None:
    assert parse_time(1700000000) == 1700000000.0
    assert parse_time(1700000000123456789) == pytest.approx(1700000000.123456789)
    assert parse_time("2023-11-14T22:13:20Z") == 1700000000.0
    with pytest.raises(ValueError, match="neither epoch seconds nor ISO 8601"):
        parse_time("yesterday")


def test_bad_records_go_to_dead_letters_and_the_good_ones_stay() -> None:
    good = {"kind": "counter", "time": 10.0, "device": "Denver",
            "interface": "Denver--Kansas-City", "out_octets": 1000}
    payloads = [
        json.dumps(good).encode(),
        b"{not json",
        json.dumps(good | {"device": "Atlantis"}),
        json.dumps(good | {"out_octets": -5}),
        json.dumps(good | {"time": "yesterday"}),
        json.dumps({"kind": "event", "time": 11, "object": "Nowhere--Else",
                    "event": "link_down"}),
        json.dumps({"kind": "teleport", "time": 11}),
        json.dumps([good | {"time": 20.0}, {"kind": "radio", "time": 12, "link": "x"}]),
        json.dumps({"kind": "event", "time": 13, "object": "New-York--Chicago",
                    "event": "link_down"}),
    ]
    batch = DECODER.decode(payloads, "test")
    assert batch.n_counters == 2 and len(batch.events) == 1
    reasons = [d.reason for d in batch.dead]
    assert len(reasons) == 7
    assert any("radio reading on unknown link 'x'" in r for r in reasons)
    assert any(r.startswith("not JSON") for r in reasons)
    assert any("unknown port device='Atlantis'" in r for r in reasons)
    assert any("out_octets -5" in r for r in reasons)
    assert any("'yesterday'" in r for r in reasons)
    assert any("unknown link 'Nowhere--Else'" in r for r in reasons)
    assert any("kind 'teleport'" in r for r in reasons)
    assert all(d.source == "test" for d in batch.dead)


def test_interface_names_from_link_attributes() -> None:
    import dataclasses

    link = NET.links["Denver--Kansas-City"]
    net = dataclasses.replace(NET, links={**NET.links, link.id: dataclasses.replace(
        link, attributes={"interface_a": "ge-0/0/1", "interface_b": "xe-1/0/0"})})
    ports = InterfaceMap(net)
    i = list(net.links).index(link.id)
    assert ports.port_arc[ports.ports[(link.a, "ge-0/0/1")]] == 2 * i
    assert ports.port_arc[ports.ports[(link.b, "xe-1/0/0")]] == 2 * i + 1
    assert ports.port_arc[ports.ports[(link.a, link.id)]] == 2 * i


def test_gnmi_notifications_become_counters() -> None:
    elems = [{"name": "interfaces"}, {"name": "interface", "key": {"name": "Denver--Kansas-City"}},
             {"name": "state"}]
    msg = {"update": {"timestamp": 1700000000000000000, "prefix": {"target": "Denver"},
                      "update": [
                          {"path": {"elem": [*elems, {"name": "counters"},
                                             {"name": "out-octets"}]},
                           "val": {"uintVal": "123456"}},
                          {"path": {"elem": [*elems, {"name": "oper-status"}]},
                           "val": {"stringVal": "UP"}},
                          {"path": "interfaces/interface[name=Denver--Seattle]/state/counters/"
                                   "out-discards", "val": {"uintVal": 7}}]}}
    recs = {r["interface"]: r for r in decode_gnmi(msg)}
    assert recs["Denver--Kansas-City"] == {
        "kind": "counter", "time": 1700000000.0, "device": "Denver",
        "interface": "Denver--Kansas-City", "out_octets": 123456.0, "oper_status": "up",
        "counter_bits": 64}
    assert recs["Denver--Seattle"]["out_drops"] == 7.0
    batch = DECODER.decode([json.dumps(msg)])
    assert batch.n_counters == 1 and len(batch.dead) == 1  # Denver--Seattle is no link
    assert "unknown port device='Denver' interface='Denver--Seattle'" in batch.dead[0].reason
