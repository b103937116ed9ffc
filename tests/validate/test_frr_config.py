"""FRR snippets as change sets: every modelled command, every unknown line reported with
its line number, OSPF's cost range, the router conventions; the address plan equals the
lab's."""

from __future__ import annotations

from pathlib import Path

import pytest

from nettwin.errors import ValidationError
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.io.frr_config import load_frr_config, parse_frr_config
from nettwin.io.guardrails import load_guardrails
from nettwin.lab.frr import plan_lab
from nettwin.scenarios.changes import Direction, DrainNode, SetMetric
from nettwin.validate import Prefix, plan_addresses
from nettwin.validate.addressing import format_address
from nettwin.validate.changeset import AddStaticRoute, RemoveStaticRoute, SetLinkAdmin
from nettwin.validate.guardrails import MaxDelay, MaxUtilisation, NeverIsolate, Under

NET = load_network(example_path())


def test_every_modelled_command() -> None:
    text = """! router Chicago
interface New-York--Chicago
 description to NY
 ip ospf cost 40
 shutdown
!
interface Indianapolis
 no shutdown
router ospf
 max-metric router-lsa administrative
exit
ip route 10.255.0.2/32 10.1.0.1
ip route 10.9.0.0/16 Null0 250
no ip route 10.255.0.5/32 Chicago--Indianapolis
hostname New-York
interface ntll0
 ip ospf cost 7
"""
    cs = parse_frr_config(text, NET, "c.conf")
    links = list(NET.links)
    assert cs.scenario.changes == (
        SetMetric("New-York--Chicago", 40, Direction.BA),  # Chicago is end b
        DrainNode("Chicago"),
        SetMetric(links[0], 7, Direction.AB))  # the lab's interface ntll0 is link 0
    admin = [c for c in cs.config if isinstance(c, SetLinkAdmin)]
    assert admin == [SetLinkAdmin("New-York--Chicago", "Chicago", False),
                     SetLinkAdmin("Chicago--Indianapolis", "Chicago", True)]
    added = [c.route for c in cs.config if isinstance(c, AddStaticRoute)]
    assert [(r.router, str(r.prefix), r.via_address, r.discard, r.distance) for r in added] == [
        ("Chicago", "10.255.0.2/32", 0x0A010001, False, 1),
        ("Chicago", "10.9.0.0/16", None, True, 250)]
    removed = [c.route for c in cs.config if isinstance(c, RemoveStaticRoute)]
    assert removed[0].via_link == "Chicago--Indianapolis"
    assert len(cs.origins) == 8 and cs.origins[0].startswith("c.conf:4: Chicago:")


def test_unknown_lines_are_all_reported_with_line_numbers() -> None:
    text = """! router Denver
interface Denver--Kansas-City
 ip ospf hello-interval 1
 ip ospf cost 70000
router bgp 65000
ip route 10.0.0.0 255.0.0.0 10.1.0.1
interface Nowhere
 ip ospf cost 5
! router Atlantis
"""
    with pytest.raises(ValidationError) as info:
        parse_frr_config(text, NET, "d.conf")
    where = [(p.element, p.value) for p in info.value.problems]
    assert where == [("d.conf:3", "ip ospf hello-interval 1"),
                     ("d.conf:4", "ip ospf cost 70000"),
                     ("d.conf:5", "router bgp 65000"),
                     ("d.conf:6", "ip route 10.0.0.0 255.0.0.0 10.1.0.1"),
                     ("d.conf:7", "interface Nowhere"),
                     ("d.conf:9", "! router Atlantis")]
    assert "65535" in str(info.value)


@pytest.mark.parametrize("cost", ["0", "65536", "70000", "-1", "1.5"])
def test_costs_outside_ospf_range_are_refused(cost: str) -> None:
    with pytest.raises(ValidationError, match="1-65535"):
        parse_frr_config(f"hostname Denver\ninterface Kansas-City\n ip ospf cost {cost}\n", NET)


def test_a_line_before_any_router_is_an_error_and_the_file_name_names_the_router(
        tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="which router"):
        parse_frr_config("ip route 10.0.0.0/8 Null0\n", NET)
    path = tmp_path / "Denver.conf"
    path.write_text("interface Kansas-City\n ip ospf cost 3\n")
    cs = load_frr_config(path, NET)
    assert cs.scenario.changes == (SetMetric("Denver--Kansas-City", 3, Direction.AB),)


def test_address_plan_equals_the_labs() -> None:
    plan = plan_addresses(NET)
    lab = plan_lab(NET)
    for i, node in enumerate(lab.nodes):
        assert plan.owner_prefixes[i] == (i, Prefix.parse(f"{node.loopback}/32"))
    for lk in lab.links:
        a, b = plan.link_end_address[lk.id]
        assert (format_address(a), format_address(b)) == (lk.addr_a, lk.addr_b)


def test_attached_prefixes_and_nesting() -> None:
    from nettwin.model import build_network

    nodes = [{"id": "a", "attributes": {"prefixes": ["192.0.2.0/24"]}}, {"id": "b"}]
    net = build_network("t", nodes, [{"id": "l", "a": "a", "b": "b", "capacity_bps": 1e9}])
    assert (0, Prefix.parse("192.0.2.0/24")) in plan_addresses(net).owner_prefixes
    nodes[1]["attributes"] = {"prefixes": ["10.0.0.0/8"]}  # holds every loopback
    net = build_network("t", nodes, [{"id": "l", "a": "a", "b": "b", "capacity_bps": 1e9}])
    with pytest.raises(ValidationError, match="must not nest"):
        plan_addresses(net)


def test_guardrail_file(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text("rules:\n  - max_utilisation: {limit: 0.8}\n"
                    "  - max_delay: {service: s, limit_ms: 30, under: any-failure}\n"
                    "  - never_isolate: [A, B]\n")
    assert load_guardrails(path) == (MaxUtilisation(0.8, Under.ANY_FAILURE),
                                     MaxDelay("s", 30.0, Under.ANY_FAILURE),
                                     NeverIsolate("A"), NeverIsolate("B"))
    path.write_text("rules:\n  - max_utilisation: {limit: high}\n  - be_nice: true\n"
                    "  - max_delay: {service: s, limit_ms: 3, under: sometimes}\n")
    with pytest.raises(ValidationError) as info:
        load_guardrails(path)
    assert [p.element for p in info.value.problems] == [
        "g.yaml rule #1", "g.yaml rule #2", "g.yaml rule #3"]
