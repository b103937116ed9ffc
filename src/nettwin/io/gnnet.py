"""Graph Neural Networking Challenge 2020 samples (OMNeT++ ground truth) — own parser.

A sample is one line of each of ``input_files.txt`` (graph and routing file names),
``traffic.txt`` and ``simulationResults.txt`` inside a dataset tarball, plus the GML graph
(``graphs/``: per-node scheduling policy, weights, queue sizes; per-edge bandwidth and output
port) and the routing file (``routings/``: for node u and destination d, the output port u
forwards on). Units are the simulator's: bits, bits/s, seconds.

Traffic entry per pair: time distribution (0 = Poisson: EqLambda, AvgPktsLambda,
ExpMaxFactor), size distribution (2 = binomial: AvgPktSize, PktSize1, PktSize2, equally
likely), ToS last. Result entry per pair: AvgBw, PktsGen, PktsDrop, AvgDelay, AvgLnDelay,
p10, p20, p50, p80, p90, Jitter.
"""

from __future__ import annotations

import math
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from nettwin.engine.qos import PathDemands, Scheduler, simulate_paths
from nettwin.errors import ImportFormatError
from nettwin.io.text import check_file_size, read_text


@dataclass(frozen=True, eq=False)
class GnnetTopology:
    """Ports as arcs: arc i leaves ``src[i]`` on its port toward ``dst[i]``."""

    name: str
    n_nodes: int
    src: np.ndarray
    dst: np.ndarray
    bandwidth_bps: np.ndarray
    policy: tuple[str, ...]  # per node: FIFO, SP, WFQ or DRR
    weights: np.ndarray  # [nodes, classes], fractions summing to 1 (WFQ/DRR)
    queue_packets: np.ndarray  # [nodes, classes]
    port_arc: dict[tuple[int, int], int]  # (node, port) -> arc


@dataclass(frozen=True, eq=False)
class GnnetSample:
    """One simulated scenario: topology, explicit paths, offered traffic and ground truth."""

    source: str
    topology: GnnetTopology
    src: np.ndarray  # per flow
    dst: np.ndarray
    tos: np.ndarray
    rate_bps: np.ndarray
    packets_per_s: np.ndarray
    size_mean_bits: np.ndarray
    size_second_moment: np.ndarray
    path_ptr: np.ndarray  # arcs of flow f: path_arc[path_ptr[f]:path_ptr[f+1]]
    path_arc: np.ndarray
    delay_s: np.ndarray  # measured mean delay per flow
    jitter_s: np.ndarray
    drop_fraction: np.ndarray
    max_avg_lambda: float

    @property
    def n_flows(self) -> int:
        return int(self.src.size)


def _fail(where: str, message: str) -> ImportFormatError:
    return ImportFormatError(where, message)


@cache
def read_topology(path: Path) -> GnnetTopology:
    """A GNNet GML graph: scheduling per node, bandwidth and port per edge."""
    check_file_size(path)
    try:
        return _topology(path, nx.read_gml(path, label="id"))
    except (nx.NetworkXError, ValueError, OSError, KeyError, TypeError, IndexError,
            OverflowError, ZeroDivisionError) as exc:
        raise _fail(str(path), f"not a readable GNNet GML graph ({type(exc).__name__}: "
                               f"{str(exc)[:200]}); nodes 0..n-1 need levelsQoS/"
                               "schedulingWeights/queueSizes, edges port and bandwidth") from exc


def _topology(path: Path, g: Any) -> GnnetTopology:
    n = g.number_of_nodes()
    if set(g.nodes) != set(range(n)):
        raise ValueError("node ids must be 0..n-1")
    classes = max((int(d.get("levelsQoS", 1)) for _, d in g.nodes(data=True)), default=1)
    if not 1 <= classes <= 16:
        raise ValueError(f"levelsQoS {classes} outside 1..16")
    policy, weights, queues = [], np.zeros((n, classes)), np.zeros((n, classes))
    for v in range(n):
        d = g.nodes[v]
        policy.append(str(d.get("schedulingPolicy", "FIFO")).upper())
        w = [float(x) for x in str(d.get("schedulingWeights", "")).split(",") if x.strip()]
        q = [float(x) for x in str(d.get("queueSizes", "32")).split(",") if x.strip()]
        if not all(math.isfinite(x) and x >= 0 for x in w + q) or (w and sum(w) <= 0):
            raise ValueError(f"node {v}: schedulingWeights/queueSizes must be finite >= 0")
        weights[v] = (np.array(w) / sum(w)) if len(w) == classes else 1.0 / classes
        queues[v] = q if len(q) == classes else q[0]
    src: list[int] = []
    dst: list[int] = []
    bw: list[float] = []
    port_arc: dict[tuple[int, int], int] = {}
    for u, v, _, d in g.edges(keys=True, data=True):
        port_arc[(int(u), int(d["port"]))] = len(src)
        src.append(int(u))
        dst.append(int(v))
        bw.append(float(d["bandwidth"]))
        if not (math.isfinite(bw[-1]) and bw[-1] > 0):
            raise ValueError(f"edge {u}->{v}: bandwidth {d['bandwidth']!r} must be > 0")
    return GnnetTopology(path.stem, n, np.array(src), np.array(dst), np.array(bw),
                         tuple(policy), weights, queues, port_arc)


@cache
def read_routing(path: Path) -> np.ndarray:
    """Output port per (node, destination); -1 on the diagonal."""
    try:
        rows = [[int(x) for x in line.strip().rstrip(",").split(",")]
                for line in read_text(path).splitlines() if line.strip()]
    except ValueError as exc:
        raise _fail(str(path), f"routing rows are comma-separated port numbers: {exc}") from exc
    if not rows or any(len(r) != len(rows) for r in rows):
        raise _fail(str(path), f"routing must be a square table of ports, one row per node; "
                               f"got {len(rows)} row(s) of {sorted({len(r) for r in rows})}")
    return np.array(rows)


def _paths(topo: GnnetTopology, ports: np.ndarray, src: np.ndarray, dst: np.ndarray,
           where: str) -> tuple[np.ndarray, np.ndarray]:
    ptr = [0]
    arcs: list[int] = []
    for s, d in zip(src.tolist(), dst.tolist(), strict=True):
        u, hops = s, 0
        while u != d:
            arc = topo.port_arc.get((u, int(ports[u, d])))
            if arc is None or hops > topo.n_nodes:
                raise _fail(where, f"routing from {s} to {d} breaks at node {u}")
            arcs.append(arc)
            u = int(topo.dst[arc])
            hops += 1
        ptr.append(len(arcs))
    return np.array(ptr), np.array(arcs, dtype=np.int64)


def _parse_sample(where: str, topo: GnnetTopology, ports: np.ndarray, traffic: str,
                  results: str) -> GnnetSample:
    try:
        return _sample(where, topo, ports, traffic, results)
    except (ValueError, IndexError, OverflowError) as exc:
        raise _fail(where, f"traffic/result line not understood ({type(exc).__name__}: "
                           f"{str(exc)[:200]})") from exc


def _sample(where: str, topo: GnnetTopology, ports: np.ndarray, traffic: str,
            results: str) -> GnnetSample:
    n = topo.n_nodes
    if ports.shape != (n, n):
        raise _fail(where, f"routing table is {ports.shape}, the topology has {n} nodes")
    head, _, body = traffic.partition("|")
    t_entries = [e for e in body.strip().split(";") if e]
    _, _, rbody = results.partition("|")
    r_entries = [e for e in rbody.strip().split(";") if e]
    if len(t_entries) < n * n or len(r_entries) < n * n:
        raise _fail(where, f"expected {n * n} pair entries for {n} nodes, got "
                           f"{len(t_entries)} traffic and {len(r_entries)} result entries")
    rows = []
    for k in range(n * n):
        s, d = divmod(k, n)
        if s == d:
            continue
        t = [float(x) for x in t_entries[k].split(":")[0].split(",")]
        r = [float(x) for x in r_entries[k].split(",")]
        if t[0] != 0 or t[4] != 2:
            raise _fail(where, f"pair {s}->{d}: only Poisson arrivals with binomial sizes "
                               f"are read (time dist {t[0]:g}, size dist {t[4]:g})")
        mean, s1, s2 = t[5], t[6], t[7]
        gen = r[1]
        rows.append((s, d, t[-1], t[1], t[2], mean, (s1 * s1 + s2 * s2) / 2, r[3], r[10],
                     r[2] / gen if gen > 0 else 0.0))
    a = np.array(rows)
    if not np.isfinite(a).all():
        bad = int(np.flatnonzero(~np.isfinite(a).all(axis=1))[0])
        raise _fail(where, f"pair {int(a[bad, 0])}->{int(a[bad, 1])}: a value is not a "
                           "finite number (nan/inf in traffic.txt or simulationResults.txt)")
    src, dst = a[:, 0].astype(int), a[:, 1].astype(int)
    ptr, arcs = _paths(topo, ports, src, dst, where)
    return GnnetSample(where, topo, src, dst, a[:, 2].astype(int), a[:, 3], a[:, 4], a[:, 5],
                       a[:, 6], ptr, arcs, a[:, 7], a[:, 8], a[:, 9], float(head))


def iter_gnnet_samples(tarball: str | Path, graphs: str | Path | None = None,
                       routings: str | Path | None = None) -> Iterator[GnnetSample]:
    """Every sample of one dataset tarball (graphs/ and routings/ default to its folder)."""
    tarball = Path(tarball)
    graphs = Path(graphs) if graphs else tarball.parent / "graphs"
    routings = Path(routings) if routings else tarball.parent / "routings"
    try:
        tar = tarfile.open(tarball)  # noqa: SIM115 - closed by the with block below
    except (tarfile.TarError, OSError) as exc:
        raise _fail(str(tarball), f"not a readable tarball: {exc}") from exc
    with tar:
        files = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
        need = ("input_files.txt", "traffic.txt", "simulationResults.txt")
        missing = [f for f in need if f not in files]
        if missing:
            raise _fail(str(tarball), f"missing {missing} in the tarball")

        def lines(name: str) -> list[str]:
            handle = tar.extractfile(files[name])
            assert handle is not None
            try:
                return handle.read().decode().splitlines()
            except UnicodeDecodeError as exc:
                raise _fail(f"{tarball} {name}", f"not UTF-8 text: {exc}") from None

        inputs, traffic, results = (lines(f) for f in need)
    for i, (inp, t, r) in enumerate(zip(inputs, traffic, results, strict=False)):
        parts = inp.strip().split(";")
        where = f"{tarball.name} sample {parts[0] if parts else i}"
        if len(parts) != 3:
            raise _fail(where, f"input_files line not understood: {inp[:120]!r}")
        if any(not p or Path(p).name != p or p in (".", "..") or not p.isprintable()
               for p in parts[1:]):
            raise _fail(where, f"graph and routing must be plain file names, got {parts[1:]}")
        topo = read_topology(graphs / parts[1])
        ports = read_routing(routings / parts[2])
        yield _parse_sample(where, topo, ports, t, r)


# No mean delay in the data set exceeds 20 s (the largest is exactly 20.000, 35 pairs sit at
# 19.99-20 s, all with more than half their packets dropped): the simulator observes delays up
# to 20 s. A starved class (served only when the classes before it leave the port empty) has
# a model delay of hours; compared with what the simulator could see, it is 20 s. A starved
# pair can also report far less: in the 51st sample of gnnet_data_set_100_199 (id 150 in its
# input_files.txt, as the tools name it; GEANT2, the 73rd GEANT2 sample, even-numbered: the
# choice set) pair 237 (ToS 2, behind an SP port at
# offered load 1.87) lost 99.976 % of its packets and reports 0.46 s with a jitter of 0:
# the sample's smallest loss fractions (one packet each) put the run at about 30,000 s, so
# about 13 of this pair's 53,000 packets came through, likely at the start before the port's
# queues filled. A data anomaly (a few packets, not a steady-state delay), not a model bug;
# the model's 20 s is +4,200 % there, 3.3 % of that set's summed error (0.076 points of its
# 2.310 % MAPE); kept in the scores.
DELAY_HORIZON_S = 20.0
# The simulator's DRR quantum grows with the link rate: against the model with a fixed quantum
# (one largest packet) the one-hop DRR pairs at port loads 0.5-0.95 are off by 5 % on 10 kbit/s
# links, 7-10 % on 25, 13 % on 40 and 20 % on 100 kbit/s, in both topologies (the error is
# classes too far apart: coarser turns are closer to FIFO). Taken as a fixed time of the
# link's rate, the largest packet (1,700 bits) on the slowest links; chosen on NSFNET and the
# even-numbered GEANT2 samples, the odd ones held out (engine.qos, "Choices"). Its WFQ
# separates the classes less on faster links too: the same turn sets WFQ's blend toward FIFO
# (engine.wfq.coarse_turns).
DRR_QUANTUM_S = 0.17
# Where a class is saturated the others wait out its whole turns, and at GEANT2's hot 40 kbit/s
# DRR ports GNNet's one-hop waits are longer than packet DRR's with DRR_QUANTUM_S (bias -13.6 %,
# ``tools/drr_split_vs_packets.py --one-hop``). How the simulator maps weights to quanta is not
# public: its README (BNN-UPC/NetworkModelingDatasets, datasets_v2) gives the weight profiles
# only, the later BNNetSimulator's glossary says DRR "cycles through the queues, dedicating
# time to each queue proportional to its weight" (weights summing to 100); its source is not
# published (a Docker image). Packet DRR variants against those one-hop waits (the 81 hot
# pairs of NSFNET and GEANT2 even, Poisson arrivals at the offered rates; bias / mean |error|,
# two draws): the quantum DRR_QUANTUM_S of the rate for the heaviest weight -0.4 / 10.8 % and
# +0.3 / 11.7 %; twice that +8.1 / 10.8 %; a time per weight point (0.17 / 0.34 / 0.5 s x
# the weight) -3.5 / 11.9, +0.6 / 10.9, +6.0 / 11.2 %; 1,700 or 3,400 bits for the heaviest
# whatever the rate -3.4 / 13.5, +1.3 / 13.2 %; scaled up from the lightest weight +13 to +36
# / 18-38 %; the deficit kept when a queue empties -11.7 / 14.9 %; a turn that runs while any
# deficit is left (overdraft) -8.4 / 16.3 %; equal quanta +552 %. Most rules are alike over
# all 81 (the 25 kbit/s pairs are 45-70 % slow in every one: Poisson arrivals at offered rates
# are a poor stand-in there); the 40 kbit/s ones (17) want a longer turn. What fits them is a
# turn growing faster than the rate, DRR_QUANTUM_S x C x sqrt(C / 10 kbit/s) (1, 1.6, 2 and
# 3.2 times the linear quantum at 10, 25, 40 and 100 kbit/s): packet DRR +5.2 / 10.9 % (the
# second draw, from +0.3 / 11.7 %), unequal weights 8.1 -> 7.4 %, 40 kbit/s -13.6 / 20.0 ->
# +5.0 / 15.1 % (10 kbit/s unchanged; 25 kbit/s, 5 pairs, +47 -> +63 %): a fit on 17 pairs
# that packet DRR bears out, not a documented rule of the simulator. Below saturation the same
# longer quantum is not taken (the blend toward FIFO there is fitted on k = DRR_QUANTUM_S x C,
# engine.drr; the longer one there too scores NSFNET / GEANT2 even 1.762 / 2.345 %, with WFQ's
# turns too 1.758 / 2.414 %, from 1.765 / 2.310 %), so the longer turn is the saturated
# class's only (``saturated_quantum_bits``; the model follows packet DRR there at 1-10
# largest packets, tests/engine/test_qos.py). Its exponent, on the choice set: 0.3 / 0.5 /
# 0.7 give 2.272 / 2.259 / 2.260 % (saturated turns a flat 1.5 / 2 times longer 2.273 /
# 2.263 %), NSFNET 1.765 % throughout; 100 kbit/s is an extrapolation (the factor held at
# 40 kbit/s's 2 above it: the same 2.259 %). GEANT2 odd (held out, one look): 2.345 -> 2.248 %.
# What is left at hot DRR ports (GEANT2 even, pairs that lose nothing): where the hot port is
# the path's last hop ToS 0 / 1 bias -0.6 / +2.3 % (mean |error| 13.6 / 9.2 %), where it is
# not -8.5 / -3.2 % (13.4 / 9.6 %): the shortfall now lies downstream of the hot port (a
# polled class leaves it in turn-sized bursts), the lead for the next step.
# Not borne out: against packets (``tools/drr_tandem.py``: a 40 kbit/s DRR port past
# capacity with a saturated class, its quantum as above, feeding a FIFO / WFQ / DRR port of
# 10-100 kbit/s with Poisson local traffic; 177 class waits over four draws) the next port
# waits 5-16 % less than for Poisson arrivals at the same rates (26-30 % less in the test's
# case, tests/engine/test_qos.py), not more: a turn is sent at the link rate, which the next
# port matches, so the model's QNA smoothing (6-8 % below its Poisson waits) has the right
# sign and the on-off departure model was not built. Nor is the last hop the split (538
# pairs of a class not saturated at such a port, split by the model's wait there): below
# 0.2 s GNNet is slower by 14-27 ms whether the hot port is the last hop or not (+5 to +7 %
# of the delay), from 0.2 s faster (-6 / -19 % at 0.2-0.4 / 0.4+ s as last hop, -2 / -6 %
# not); the last-hop pairs have more of their delay in long hot waits, hence their bias.
# Packet DRR at GEANT2's hot ports agrees with the model's short waits (-1.5 ms) and is 7-13 %
# below its long ones (equal weights: a light class +20 %): the long ones are engine.drr's
# (its notes: the join as a setup time), the short ones GNNet's own (not packet DRR's).
DRR_SATURATED_RATE_BPS = 10e3
DRR_SATURATED_EXPONENT = 0.5


def saturated_quantum_bits(bandwidth_bps: np.ndarray) -> np.ndarray:
    """The DRR quantum of the heaviest weight at ports with a saturated class (see above)."""
    bw = np.asarray(bandwidth_bps, dtype=np.float64)
    out: np.ndarray = DRR_QUANTUM_S * bw * np.maximum(
        bw / DRR_SATURATED_RATE_BPS, 1.0) ** DRR_SATURATED_EXPONENT
    return out


@dataclass(frozen=True, eq=False)
class Prediction:
    """The twin's answer for every pair of a sample."""

    delay_s: np.ndarray
    delay_var_s2: np.ndarray  # jitter as the data set gives it: variance of the delay
    loss: np.ndarray
    path_utilisation: np.ndarray  # highest offered utilisation of a port on the path


def observed_delay_sd(delay_s: np.ndarray, delay_var_s2: np.ndarray,
                      horizon_s: float = DELAY_HORIZON_S) -> np.ndarray:
    """Standard deviation of the delay that a run seeing delays up to ``horizon_s`` measures:
    the model's delay taken as lognormal (positive; mean ``delay_s``, variance
    ``delay_var_s2``: s^2 = ln(1 + V / D^2), mu = ln D - s^2 / 2) and conditioned on being
    below the horizon H, E[X^k | X < H] = e^(k mu + k^2 s^2 / 2) Phi(z - k s) / Phi(z),
    z = (ln H - mu) / s. A path far past its capacity, whose mean delay lies beyond the
    horizon, is seen only through its fastest packets, bunched below H."""
    from scipy.special import log_ndtr

    d = np.maximum(np.asarray(delay_s, dtype=np.float64), 1e-300)
    v = np.maximum(np.asarray(delay_var_s2, dtype=np.float64), 0.0)
    s2 = np.log1p(v / d ** 2)
    s = np.sqrt(np.maximum(s2, 1e-300))
    mu = np.log(d) - s2 / 2
    z = (math.log(horizon_s) - mu) / s
    base = log_ndtr(z)
    m1 = np.exp(mu + s2 / 2 + log_ndtr(z - s) - base)
    m2 = np.exp(2 * mu + 2 * s2 + log_ndtr(z - 2 * s) - base)
    out: np.ndarray = np.where(v > 0, np.sqrt(np.maximum(m2 - m1 ** 2, 0.0)), 0.0)
    return out


def predict(sample: GnnetSample, scheduling_aware: bool = True,
            delay_horizon_s: float | None = None, smooth_arrivals: bool = True) -> Prediction:
    """Predicted per-pair delay, jitter and loss (``scheduling_aware=False``: one FIFO queue
    per port, what a single M/G/1 per link sees; ``smooth_arrivals=False``: Poisson arrivals
    everywhere); ``delay_horizon_s`` caps the mean delay at what the measurement can observe
    (``DELAY_HORIZON_S`` for this data set)."""
    t = sample.topology
    if scheduling_aware:
        sched = np.array([Scheduler[p] for p in t.policy])[t.src]
    else:
        sched = np.full(t.src.size, Scheduler.FIFO)
    # the data set's sizes: two equally likely, mean -+ sd, so E[L^3] = m^3 + 3 m sd^2
    m = sample.size_mean_bits
    third = m ** 3 + 3.0 * m * np.maximum(sample.size_second_moment - m * m, 0.0)
    demands = PathDemands(sample.path_ptr, sample.path_arc, sample.tos, sample.packets_per_s,
                          m, sample.size_second_moment, third)
    result = simulate_paths(demands, t.bandwidth_bps, sched, t.weights[t.src],
                            t.queue_packets[t.src], smooth_arrivals=smooth_arrivals,
                            drr_quantum_bits=DRR_QUANTUM_S * t.bandwidth_bps,
                            drr_saturated_quantum_bits=saturated_quantum_bits(t.bandwidth_bps))
    lengths = np.diff(sample.path_ptr)
    owner = np.repeat(np.arange(lengths.size), lengths)
    util = np.zeros(lengths.size)
    np.maximum.at(util, owner, result.queues.utilisation[sample.path_arc])
    delay = result.delay_s if delay_horizon_s is None else np.minimum(result.delay_s,
                                                                       delay_horizon_s)
    return Prediction(delay, result.delay_var_s2, result.loss, util)
