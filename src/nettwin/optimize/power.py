"""How many watts each link draws, awake, with carriers asleep or its modulation capped.

A link's power is the sum of its two directions; a direction is one end's router port plus
its transceiver (fibre, Ethernet) or one end's radio carriers (microwave). Operators give
their own figures per link (``power_ab_w`` / ``power_ba_w`` in the model); otherwise the
defaults below apply. Sources (datasheet classes, kept conservative; see docs/energy.md):

* Transceivers: the MSA power classes, which datasheets of compliant modules quote as their
  maximum: SFP (SFF-8472) ~1 W, SFP+ (SFF-8431 power level II) 1.5 W, QSFP+/QSFP28
  (SFF-8636 class 4) 3.5 W, QSFP28 ER4/ZR4 ~4.5-5 W, CFP2-DCO / 400ZR coherent ~20 W
  (OIF 400ZR IA: QSFP-DD/OSFP modules up to ~15-20 W), QSFP-DD 400G-FR4 ~12 W.
* Router port share: the line card's power over its ports. Core line cards of the last
  decade draw roughly 0.1-0.5 W per Gbit/s of port capacity (Van Heddeghem et al.,
  "Power consumption modeling in optical multilayer networks", Photonic Netw. Commun.
  2012, PowerLib); we take the low end with a floor per port.
* Microwave: an all-outdoor or split-mount radio carrier draws 30-60 W per end (Ericsson
  MINI-LINK 6352/6600, Huawei RTN 380/905 datasheets list typical consumption in this
  range); we take 40 W per carrier per end at the top mode. A capped modulation lowers the
  baseband and power-amplifier share only: power = floor + (1 - floor) x (mode capacity /
  top capacity), floor 0.75 of the top mode's (the radio's fixed part stays on).
* Asleep: a sleeping port or carrier draws ``sleep_fraction`` of its awake power (0 by
  default: optics and port powered down, as in GreenTE's line-card model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nettwin.model import Network
from nettwin.model.elements import Link
from nettwin.model.fields import LinkKind

# (up to bit/s, router port share W, short-reach optics W, long-reach optics W) per end
FIBRE_PORT_CLASSES: tuple[tuple[float, float, float, float], ...] = (
    (1.25e9, 2.0, 1.0, 1.5),  # 1G: SFP LX / ZX
    (12.5e9, 5.0, 1.0, 1.5),  # 10G (and OC-192): SFP+ LR / ER-ZR
    (50e9, 12.0, 3.5, 4.5),  # 40G: QSFP+ LR4 / ER4
    (125e9, 15.0, 3.5, 20.0),  # 100G: QSFP28 LR4 / CFP2-DCO coherent
    (500e9, 40.0, 12.0, 20.0),  # 400G: QSFP-DD FR4 / 400ZR
)
WATTS_PER_GBPS_ABOVE = 0.1  # port share beyond the last class, per Gbit/s
LONG_REACH_KM = 40.0  # beyond LR/ER reach: long-reach or coherent optics
RADIO_CARRIER_W = 40.0  # per carrier per end at the top mode
RADIO_MODE_POWER_FLOOR = 0.75  # share of a carrier's power that a modulation cap keeps


def default_direction_w(link: Link, capacity_bps: float) -> tuple[float, str]:
    """One direction's default watts (one end's port and optics, or its radio carriers)
    and where the figure comes from."""
    if link.kind is LinkKind.MICROWAVE:
        carriers = link.radio.carriers if link.radio is not None else 1
        return carriers * RADIO_CARRIER_W, f"default: {carriers} radio carrier(s) x " \
                                           f"{RADIO_CARRIER_W:g} W"
    long_reach = (link.length_km or 0.0) > LONG_REACH_KM
    for limit, port, short, long_ in FIBRE_PORT_CLASSES:
        if capacity_bps <= limit:
            optics = long_ if long_reach else short
            return port + optics, (f"default: {limit / 1e9:g}G class port {port:g} W + "
                                   f"{'long' if long_reach else 'short'}-reach optics "
                                   f"{optics:g} W")
    port = WATTS_PER_GBPS_ABOVE * capacity_bps / 1e9
    optics = FIBRE_PORT_CLASSES[-1][3]
    return port + optics, f"default: port {port:g} W (0.1 W/Gbit/s) + optics {optics:g} W"


@dataclass(frozen=True, eq=False)
class PowerModel:
    """Per link: awake watts and the levels it can step down to.

    Level 0 is fully awake; each further level draws less (``level_power`` x ``awake_w``)
    and carries less (``level_capacity`` x capacity); the last level of each link
    (``n_levels - 1``) is asleep: capacity 0, the link leaves the IGP graph.
    """

    link_ids: tuple[str, ...]
    awake_w: np.ndarray  # float64[links]: both directions, level 0
    level_capacity: np.ndarray  # float64[links, max_levels]: fraction of the link's capacity
    level_power: np.ndarray  # float64[links, max_levels]: fraction of awake_w
    n_levels: np.ndarray  # int64[links]
    level_names: tuple[tuple[str, ...], ...]  # per link, per level
    sources: tuple[str, ...]  # per link: where awake_w comes from
    sleep_fraction: float

    @property
    def total_w(self) -> float:
        return float(self.awake_w.sum())

    def power_w(self, levels: np.ndarray) -> np.ndarray:
        """Watts per link at these levels."""
        rows = np.arange(self.awake_w.size)
        return np.asarray(self.awake_w * self.level_power[rows, levels])

    def asleep(self, levels: np.ndarray) -> np.ndarray:
        """Per link: at its last level (off)."""
        return np.asarray(levels == self.n_levels - 1)


def _radio_levels(link: Link, sleep_fraction: float) -> list[tuple[float, float, str]]:
    """(capacity fraction, power fraction, name) of each awake state of a radio link:
    carriers asleep and modulation caps, Pareto-efficient, most power first."""
    from nettwin.radio.acm import bundled_profiles

    carriers = link.radio.carriers if link.radio is not None else 1
    caps = [1.0]
    names = ["top mode"]
    if link.radio is not None:
        profile = bundled_profiles().get(link.radio.profile)
        if profile is not None and len(profile.modes) > 1:
            top = profile.modes[-1].capacity_bps
            caps = [m.capacity_bps / top for m in reversed(profile.modes)]
            names = [f"cap {m.name}" for m in reversed(profile.modes)]
            names[0] = "top mode"
    states = []
    for c in range(carriers, 0, -1):
        for cap, name in zip(caps, names, strict=True):
            power = RADIO_MODE_POWER_FLOOR + (1 - RADIO_MODE_POWER_FLOOR) * cap
            label = name if carriers == 1 else f"{c}/{carriers} carriers, {name}"
            states.append((c / carriers * cap, c / carriers * power, label))
    states.sort(key=lambda s: (s[1], -s[0]))
    kept: list[tuple[float, float, str]] = []
    for s in states:  # cheapest first: keep a state only if it carries more than all cheaper
        if not kept or s[0] > kept[-1][0] + 1e-12:
            kept.append(s)
    kept.reverse()
    return [s for s in kept if s[1] > sleep_fraction]


def build_power_model(network: Network, *, sleep_fraction: float = 0.0,
                      radio_levels: bool = True) -> PowerModel:
    """Each link's awake watts (given in the model, else the defaults above) and its
    levels: fibre is awake or asleep; a radio link can also sleep carriers and cap its
    modulation (``radio_levels``)."""
    if not 0.0 <= sleep_fraction < 1.0:
        raise ValueError(f"sleep_fraction must be in [0, 1) (got {sleep_fraction})")
    links = list(network.links.values())
    awake = np.zeros(len(links))
    sources: list[str] = []
    per_link: list[list[tuple[float, float, str]]] = []
    for i, link in enumerate(links):
        ab = link.power_ab_w
        ba = link.power_ba_w
        src = "given (power_ab_w/power_ba_w)"
        if ab is None or ba is None:
            d_ab, src_ab = default_direction_w(link, link.capacity_ab_bps)
            d_ba, _ = default_direction_w(link, link.capacity_ba_bps)
            src = src_ab if ab is None and ba is None else "given, other direction " + src_ab
            ab = d_ab if ab is None else ab
            ba = d_ba if ba is None else ba
        awake[i] = ab + ba
        sources.append(src)
        states = [(1.0, 1.0, "awake")]
        if radio_levels and link.kind is LinkKind.MICROWAVE:
            states = _radio_levels(link, sleep_fraction)
            states[0] = (1.0, 1.0, "awake")
        per_link.append([*states, (0.0, sleep_fraction, "asleep")])
    width = max((len(s) for s in per_link), default=2)
    cap = np.zeros((len(links), width))
    power = np.full((len(links), width), sleep_fraction)
    for i, states in enumerate(per_link):
        cap[i, :len(states)] = [s[0] for s in states]
        power[i, :len(states)] = [s[1] for s in states]
    return PowerModel(tuple(network.links), awake, cap, power,
                      np.array([len(s) for s in per_link], np.int64),
                      tuple(tuple(s[2] for s in states) for states in per_link),
                      tuple(sources), float(sleep_fraction))
