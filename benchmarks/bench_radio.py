"""Radio benchmark: fade, modulation and capacity of 10,000 microwave links per time step,
and a 100-step storm over a 1,000-link network with the IP simulation of every step.

Reference in the same run: the same per-step work with a plain numpy path integration
(vectorised over links x samples x cells) instead of the numba kernel.
Run: ``make bench-radio`` or ``python benchmarks/bench_radio.py``.
"""

from __future__ import annotations

import time

import numpy as np

from nettwin.engine import compile_network, simulate
from nettwin.model import build_network
from nettwin.model.gravity import gravity_demands
from nettwin.radio.acm import select_modes
from nettwin.radio.budget import compile_radio
from nettwin.radio.storm import MIN_RAIN_MM_H, RainCell, Storm, StormField, run_storm

PROFILES = [("MINI-LINK_6600/18GHz/56MHz", 18.0, 1.2), ("MINI-LINK_6600/23GHz/56MHz", 23.0, 0.6),
            ("MINI-LINK_6352/80GHz/500MHz", 80.0, 0.3)]


def radio_network(n_nodes: int, n_links: int, seed: int = 3, demands: bool = False):  # type: ignore[no-untyped-def]
    """Sites scattered over ~200 x 200 km around 48N 11E, each linked to near neighbours."""
    rng = np.random.default_rng(seed)
    lat = 48.0 + rng.uniform(-0.9, 0.9, n_nodes)
    lon = 11.0 + rng.uniform(-1.3, 1.3, n_nodes)
    xy = np.c_[lon * 74.4, lat * 111.2]
    pairs: set[tuple[int, int]] = {(i, i + 1) for i in range(n_nodes - 1)}
    while len(pairs) < n_links:
        a = int(rng.integers(n_nodes))
        near = np.argsort(np.hypot(*(xy - xy[a]).T))[1:6]
        b = int(rng.choice(near))
        pairs.add((min(a, b), max(a, b)))
    nodes = [{"id": f"s{i}", "latitude": float(lat[i]), "longitude": float(lon[i])}
             for i in range(n_nodes)]
    links = []
    for k, (a, b) in enumerate(sorted(pairs)[:n_links]):
        pid, f, dish = PROFILES[k % 3]
        links.append({"id": f"r{k}", "a": f"s{a}", "b": f"s{b}", "kind": "microwave",
                      "capacity_bps": 5e8, "metric": 10,
                      "radio": {"frequency_ghz": f, "profile": pid, "dish_diameter_m": dish,
                                "tx_power_dbm": 18.0, "rain_rate_r001_mm_h": 35.0,
                                "dn1": -250.0}})
    table = gravity_demands(rng.lognormal(0, 1, n_nodes), 2e9 * n_nodes / 100) if demands \
        else ()
    return build_network("radio-bench", nodes, links, table)


def numpy_attenuation(field: StormField, t: float) -> np.ndarray:
    """Reference: the same integral in plain numpy."""
    cx, cy, peak, r0 = field.cells_at(t)
    s = (np.arange(field.samples) + 0.5) / field.samples
    px = field.ax[:, None] + (field.bx - field.ax)[:, None] * s
    py = field.ay[:, None] + (field.by - field.ay)[:, None] * s
    dist = np.hypot(px[..., None] - cx, py[..., None] - cy)
    rate = (peak * np.exp(-dist / r0)).max(axis=-1)
    seg = np.hypot(field.bx - field.ax, field.by - field.ay) / field.samples
    rad = field.radio
    spec = np.where(rate >= MIN_RAIN_MM_H, rad.k[:, None] * rate ** rad.alpha[:, None], 0.0)
    return np.asarray(spec.sum(axis=1) * seg)


def storm_for(n_cells: int, seed: int = 5) -> Storm:
    rng = np.random.default_rng(seed)
    cells = tuple(RainCell(48.0 + rng.uniform(-0.8, 0.8), 11.0 + rng.uniform(-1.2, 1.2),
                           float(rng.uniform(40, 120)), float(rng.uniform(2, 6)),
                           float(rng.uniform(10, 50)), float(rng.uniform(0, 360)))
                  for _ in range(n_cells))
    return Storm("bench", cells, 99.0, 1.0)


def per_step(n_links: int, cells: int) -> None:
    net = radio_network(n_links // 2, n_links)
    radio = compile_radio(net)
    field = StormField(radio, storm_for(cells))
    rsl = radio.rsl_clear_dbm()
    mode = np.full(radio.n, radio.threshold_dbm.shape[1] - 1)
    field.attenuation(0.0)

    def step(t: float, fade) -> None:  # type: ignore[no-untyped-def]
        nonlocal mode
        a = fade(t)
        mode = select_modes(rsl - a[:, None], radio.threshold_dbm, mode, radio.hysteresis_db)
        np.take_along_axis(radio.capacity_bps, np.maximum(mode, 0)[:, None], axis=1)

    times = []
    for t in range(50):
        t0 = time.perf_counter()
        step(float(t), field.attenuation)
        times.append(time.perf_counter() - t0)
    ref = []
    for t in range(5):
        t0 = time.perf_counter()
        step(float(t), lambda tt: numpy_attenuation(field, tt))
        ref.append(time.perf_counter() - t0)
    np.testing.assert_allclose(field.attenuation(7.0), numpy_attenuation(field, 7.0),
                               rtol=1e-9, atol=1e-12)
    med, ref_med = float(np.median(times)), float(np.median(ref))
    print(f"{radio.n} links, {cells} rain cells, {field.samples} samples per path: fade + "
          f"modulation + capacity per step {1e3 * med:.2f} ms (median of 50); numpy "
          f"reference {1e3 * ref_med:.1f} ms -> {ref_med / med:.0f}x")


def storm_with_ip(n_links: int, steps: int) -> None:
    net = radio_network(n_links // 2, n_links, demands=True)
    radio = compile_radio(net)
    compiled = compile_network(net)
    storm = Storm("bench", storm_for(8).cells, float(steps - 1), 1.0)
    simulate(compiled)
    t0 = time.perf_counter()
    result = run_storm(net, radio, storm, compiled=compiled)
    el = time.perf_counter() - t0
    one = min(_time(lambda: simulate(compiled)) for _ in range(3))
    s = result.summary()
    print(f"{steps}-step storm over {radio.n} radio links / {len(net.nodes)} nodes / "
          f"{compiled.n_demands:,} demands, IP simulation every step: {el:.2f} s "
          f"({1e3 * el / steps:.1f} ms per step; one IP run alone {1e3 * one:.1f} ms); "
          f"{s['links_ever_down']} links went down, peak utilisation "
          f"{s['peak_max_utilisation']:.2f}")


def _time(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    per_step(10_000, 8)
    per_step(10_000, 30)
    storm_with_ip(1000, 100)


if __name__ == "__main__":
    main()
