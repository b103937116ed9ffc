"""Rebuild the bundled microwave backhaul example around Munich and its storm.

Sites: towns around Munich at their public coordinates; three fibre points of presence
(Munich core, Freising, Starnberg); microwave rings and spurs whose band follows the hop
length (18 GHz beyond 12 km, 23 GHz from 6 km, 38 GHz from 3 km, 80 GHz E-band below), with
Ericsson MINI-LINK ladders (bundled) and one user-defined 38 GHz ladder
(munich-acm-38ghz.txt). R0.01 and dN1 come from the ITU-R maps (P.837-7, P.453-14, needs
`pip install itur`) and are written into the file, so the example runs without the maps.
Traffic: mobile backhaul from every site to the core and back. Run:
``python tools/build_microwave_example.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from nettwin.io import save_network
from nettwin.model import build_network
from nettwin.model.geo import haversine_km
from nettwin.radio.acm import bundled_profiles, load_acm_profiles
from nettwin.radio.climate import rain_rate_r001, refractivity_gradient_dn1

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "nettwin" / "examples"

SITES = {  # id: (latitude, longitude, ground altitude m, downlink Mbit/s)
    "Munich-Core": (48.1374, 11.5755, 519, 0), "Freising-PoP": (48.4029, 11.7488, 448, 0),
    "Starnberg-PoP": (47.9990, 11.3400, 587, 0),
    "Munich-North": (48.1800, 11.5900, 510, 140), "Munich-West": (48.1450, 11.4900, 530, 120),
    "Munich-East": (48.1300, 11.6400, 525, 130), "Garching": (48.2490, 11.6510, 482, 110),
    "Unterschleissheim": (48.2800, 11.5770, 474, 80), "Neufahrn": (48.3150, 11.6650, 463, 60),
    "Ismaning": (48.2280, 11.6720, 490, 70), "Erding": (48.3064, 11.9076, 462, 90),
    "Moosburg": (48.4700, 11.9370, 421, 50), "Dachau": (48.2600, 11.4342, 505, 100),
    "Olching": (48.2000, 11.3300, 503, 60), "Fuerstenfeldbruck": (48.1790, 11.2551, 528, 90),
    "Germering": (48.1330, 11.3730, 532, 80), "Graefelfing": (48.1190, 11.4290, 543, 50),
    "Pullach": (48.0550, 11.5230, 582, 50), "Wolfratshausen": (47.9130, 11.4280, 577, 60),
    "Holzkirchen": (47.8850, 11.6980, 667, 60), "Unterhaching": (48.0660, 11.6160, 556, 70),
    "Ottobrunn": (48.0640, 11.6650, 556, 80), "Haar": (48.1080, 11.7280, 536, 70),
    "Markt-Schwaben": (48.1900, 11.8680, 511, 60), "Ebersberg": (48.0770, 11.9700, 558, 50),
}
FIBRE = [("Munich-Core", "Freising-PoP"), ("Munich-Core", "Starnberg-PoP")]
MICROWAVE = [
    ("Munich-Core", "Munich-North"), ("Munich-North", "Garching"), ("Garching", "Neufahrn"),
    ("Neufahrn", "Freising-PoP"), ("Garching", "Ismaning"), ("Ismaning", "Munich-East"),
    ("Munich-North", "Unterschleissheim"), ("Unterschleissheim", "Neufahrn"),
    ("Freising-PoP", "Moosburg"), ("Freising-PoP", "Erding"), ("Erding", "Markt-Schwaben"),
    ("Markt-Schwaben", "Ebersberg"), ("Ebersberg", "Haar"), ("Haar", "Munich-East"),
    ("Munich-East", "Munich-Core"), ("Haar", "Ottobrunn"), ("Ottobrunn", "Unterhaching"),
    ("Unterhaching", "Pullach"), ("Pullach", "Starnberg-PoP"), ("Holzkirchen", "Ottobrunn"),
    ("Wolfratshausen", "Starnberg-PoP"), ("Wolfratshausen", "Holzkirchen"),
    ("Pullach", "Munich-Core"), ("Munich-Core", "Munich-West"),
    ("Munich-West", "Graefelfing"), ("Graefelfing", "Germering"),
    ("Germering", "Fuerstenfeldbruck"), ("Fuerstenfeldbruck", "Olching"),
    ("Olching", "Dachau"), ("Dachau", "Unterschleissheim"), ("Germering", "Starnberg-PoP"),
    ("Munich-West", "Dachau"), ("Moosburg", "Erding"),
]


def radio_for(length_km: float) -> dict[str, object]:
    """Band, profile and dish by hop length, as a planner would pick them."""
    if length_km > 12:
        return {"frequency_ghz": 18.0, "profile": "MINI-LINK_6600/18GHz/56MHz",
                "dish_diameter_m": 1.2 if length_km > 17 else 0.9, "tx_power_dbm": 20.0}
    if length_km > 6:
        return {"frequency_ghz": 23.0, "profile": "MINI-LINK_6600/23GHz/56MHz",
                "dish_diameter_m": 0.6, "tx_power_dbm": 18.0}
    if length_km > 3:
        return {"frequency_ghz": 38.0, "profile": "Example-38GHz/38GHz/56MHz",
                "dish_diameter_m": 0.6, "tx_power_dbm": 15.0}
    return {"frequency_ghz": 80.0, "profile": "MINI-LINK_6352/80GHz/500MHz",
            "dish_diameter_m": 0.3, "tx_power_dbm": 10.0}


def main() -> None:
    profiles = {**bundled_profiles(), **load_acm_profiles(OUT / "munich-acm-38ghz.txt")}
    nodes = [{"id": s, "kind": "site" if s.endswith(("PoP", "Core")) else "radio",
              "latitude": lat, "longitude": lon} for s, (lat, lon, _, _) in SITES.items()]
    links = []
    for a, b in FIBRE:
        links.append({"id": f"{a}--{b}", "a": a, "b": b, "kind": "fiber",
                      "capacity_bps": 10e9, "metric": 5})
    for a, b in MICROWAVE:
        (la, oa, ha, _), (lb, ob, hb, _) = SITES[a], SITES[b]
        d = haversine_km(la, oa, lb, ob)
        radio = radio_for(d)
        mid = (la + lb) / 2, (oa + ob) / 2
        radio |= {"polarization": "vertical", "losses_db": 1.0,
                  "altitude_a_m": ha + 30.0, "altitude_b_m": hb + 30.0,
                  "rain_rate_r001_mm_h": round(float(rain_rate_r001(*mid)), 2),
                  "dn1": round(float(refractivity_gradient_dn1(*mid)), 2)}
        top = profiles[str(radio["profile"])].modes[-1].capacity_bps
        links.append({"id": f"{a}--{b}", "a": a, "b": b, "kind": "microwave",
                      "capacity_bps": top, "metric": 10, "length_km": round(d, 2),
                      "radio": radio})
    demands = []
    for s, (_, _, _, dl) in SITES.items():
        if dl:
            demands.append({"src": "Munich-Core", "dst": s, "rate_bps": dl * 1e6})
            demands.append({"src": s, "dst": "Munich-Core", "rate_bps": dl * 0.25e6})
    services = [
        {"id": "urllc-garching", "name": "5G URLLC slice Garching",
         "demands": ["Munich-Core->Garching", "Garching->Munich-Core"], "max_delay_s": 0.002,
         "max_loss": 1e-5, "min_availability": 0.99999},
        {"id": "enterprise-erding", "name": "Enterprise VPN Erding",
         "demands": ["Munich-Core->Erding", "Erding->Munich-Core"], "max_delay_s": 0.005,
         "max_loss": 1e-4, "min_availability": 0.9999},
        {"id": "cctv-dachau", "name": "CCTV backhaul Dachau", "demands": ["Dachau->Munich-Core"],
         "max_delay_s": 0.01, "max_loss": 1e-3, "min_availability": 0.999},
    ]
    net = build_network("munich-backhaul", nodes, links, demands, services,
                        source="microwave example")
    out = OUT / "munich-backhaul.yaml"
    save_network(net, out)
    header = ("# Microwave backhaul around Munich (synthetic plan on real town coordinates).\n"
              "# Radio ladders: Ericsson MINI-LINK (vendors' public data) and a user-defined\n"
              "# 38 GHz ladder in munich-acm-38ghz.txt. R0.01 and dN1 from ITU-R P.837-7 and\n"
              "# P.453-14 maps. Regenerate with tools/build_microwave_example.py.\n")
    out.write_text(header + out.read_text(encoding="utf-8"), encoding="utf-8")
    storm = {
        "name": "summer squall line crossing Munich from the south-west",
        "duration_min": 120, "step_min": 2,
        "cells": [
            {"latitude": 47.95, "longitude": 11.20, "peak_mm_h": 110, "radius_km": 3.0,
             "speed_kmh": 30, "heading_deg": 50, "growth_per_h": 0.2},
            {"latitude": 48.02, "longitude": 11.12, "peak_mm_h": 80, "radius_km": 4.0,
             "speed_kmh": 30, "heading_deg": 55, "start_min": 10},
            {"latitude": 47.90, "longitude": 11.35, "peak_mm_h": 60, "radius_km": 5.0,
             "speed_kmh": 25, "heading_deg": 40, "start_min": 20, "growth_per_h": -0.3},
        ],
    }
    (OUT / "munich-storm.yaml").write_text(
        "# A squall line of three EXCELL rain cells moving north-east over the backhaul.\n"
        + yaml.safe_dump(storm, sort_keys=False), encoding="utf-8")
    print(f"wrote {out} and munich-storm.yaml: {net.summary()}")
    radios = [lk for lk in net.links.values() if lk.radio is not None]
    lengths = [lk.length_km or 0.0 for lk in radios]
    rain = np.mean([lk.radio.rain_rate_r001_mm_h for lk in radios])  # type: ignore[union-attr]
    print(f"{len(radios)} radio hops, {min(lengths):.1f}-{max(lengths):.1f} km, bands "
          f"{sorted({lk.radio.frequency_ghz for lk in radios})}, mean R0.01 {rain:.1f} mm/h")  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
