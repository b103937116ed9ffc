"""Rebuild the bundled example ``src/nettwin/examples/abilene.yaml``.

Topology: Internet Topology Zoo, Abilene (CC BY 4.0), read from ../shared/data. Traffic: a
gravity matrix weighted by each city's metropolitan population (US Census 2010, rounded),
scaled to 30 Gbit/s in total. Metrics: OSPF auto-cost with a 100 Gbit/s reference, but a few
links raised the way operators steer traffic, so the example has ECMP and asymmetry.
Run: ``python tools/build_abilene_example.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nettwin.io import load_network, save_network
from nettwin.model import build_network
from nettwin.model.gravity import gravity_demands

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT.parent / "shared" / "data" / "topology_zoo" / "graphml" / "Abilene.graphml"
METRO_POPULATION_M = {
    "New York": 18.9, "Chicago": 9.5, "Washington DC": 5.6, "Seattle": 3.4,
    "Sunnyvale": 1.8, "Los Angeles": 12.8, "Denver": 2.5, "Kansas City": 2.0,
    "Houston": 5.9, "Atlanta": 5.3, "Indianapolis": 1.8,
}
METRIC_OVERRIDES = {("Denver", "Kansas City"): 20}  # a planned detour: east-west via Houston


def main() -> None:
    zoo = load_network(ZOO)
    ids = {n.id: n.name.replace(" ", "-") for n in zoo.nodes.values()}  # type: ignore[union-attr]
    nodes = [{"id": ids[n.id], "name": n.name, "latitude": round(n.latitude, 5),
              "longitude": round(n.longitude, 5)} for n in zoo.nodes.values()]
    links = []
    for link in zoo.links.values():
        a, b = zoo.nodes[link.a].name, zoo.nodes[link.b].name
        metric = METRIC_OVERRIDES.get((a, b)) or METRIC_OVERRIDES.get((b, a)) or link.metric_ab
        links.append({"id": f"{ids[link.a]}--{ids[link.b]}", "a": ids[link.a], "b": ids[link.b],
                      "capacity_bps": link.capacity_ab_bps, "metric": metric,
                      "length_km": round(link.length_km or 0.0, 1),
                      "srlgs": ["duct-Indianapolis"] if "Indianapolis" in (a, b)
                      and "Kansas City" not in (a, b) else []})
    weights = np.array([METRO_POPULATION_M[n["name"]] for n in nodes])
    table = gravity_demands(weights, 30e9)
    names = [n["id"] for n in nodes]
    demands = [{"src": names[s], "dst": names[d], "rate_bps": round(float(r))}
               for s, d, r in zip(table.src, table.dst, table.rate_bps, strict=True)]
    services = [
        {"id": "voice-coast-to-coast", "name": "VoIP trunk New York <-> Los Angeles",
         "demands": ["New-York->Los-Angeles", "Los-Angeles->New-York"],
         "max_delay_s": 0.030, "max_loss": 1e-4, "min_availability": 0.9999},
        {"id": "research-seattle-chicago", "name": "Research VPN Seattle <-> Chicago",
         "demands": ["Seattle->Chicago", "Chicago->Seattle"], "max_delay_s": 0.025,
         "max_loss": 1e-3},
        {"id": "video-atlanta-hub", "name": "Video distribution from Atlanta",
         "demands": [f"Atlanta->{x}" for x in ("Houston", "Washington-DC", "Indianapolis")],
         "max_delay_s": 0.015, "max_loss": 1e-3},
    ]
    net = build_network("abilene", nodes, links, demands, services, source="Abilene example")
    out = ROOT / "src" / "nettwin" / "examples" / "abilene.yaml"
    save_network(net, out)
    header = ("# Abilene (Internet2), 2005. Topology: The Internet Topology Zoo, Knight et al.,\n"
              "# IEEE JSAC 2011, CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/).\n"
              "# Changes: ids from city names, OC-192 capacities, lengths from coordinates,\n"
              "# OSPF auto-cost metrics (one raised), a synthetic gravity traffic matrix\n"
              "# (metro populations, 30 Gbit/s in total) and three example services.\n"
              "# Regenerate with tools/build_abilene_example.py.\n")
    out.write_text(header + out.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"wrote {out}: {net.summary()}")


if __name__ == "__main__":
    main()
