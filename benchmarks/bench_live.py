"""Live twin benchmark: ingestion throughput, event-to-state latency, exactly-once through
NATS JetStream across a SIGKILL, traffic-matrix estimation error on real matrices.

    .venv/bin/python benchmarks/bench_live.py [--skip-nats] [--skip-tm]

Workload: a 200-node, 800-link generated network (1,600 ports), counters as JSON bytes, the
embedded SQLite store. Reference run in the same process: the same samples decoded and
turned into rates one by one in plain Python (no store), the obvious implementation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_engine import make_network
from nettwin import compile_network, simulate
from nettwin.estimate import estimate_tm, estimation_errors, pair_rates, routing_matrix
from nettwin.io import load_network, load_traffic, save_network
from nettwin.live import InProcessSource, LiveTwin, Store
from nettwin.live.observations import InterfaceMap
from nettwin.live.simulated import counter_records

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def reference_rates(payloads: list[bytes], ports: InterfaceMap) -> int:
    """One sample at a time: json, dict lookups, a rate per sample."""
    last: dict[tuple[str, str], tuple[float, float]] = {}
    rates: dict[int, float] = {}
    for p in payloads:
        r = json.loads(p)
        key = (r["device"], r["interface"])
        port = ports.ports[key]
        t, o = float(r["time"]), float(r["out_octets"])
        if key in last and t > last[key][0] and o >= last[key][1]:
            rates[int(ports.port_arc[port])] = 8 * (o - last[key][1]) / (t - last[key][0])
        last[key] = (t, o)
    return len(rates)


def throughput(tmp: Path) -> None:
    net = make_network(200, 800)
    c = compile_network(net)
    rates = np.random.default_rng(1).uniform(1e8, 5e9, c.n_arcs)
    steps = [[json.dumps(r).encode() for r in recs]
             for recs in counter_records(net, rates, start=1.7e9, interval_s=1, steps=150)]
    n = sum(len(s) for s in steps)
    twin = LiveTwin(net, Store(f"sqlite:///{tmp / 'bench.db'}"))

    async def run() -> float:
        src = InProcessSource()
        for s in steps:
            await src.put_many(s)
        await src.end()
        t0 = time.perf_counter()
        await twin.run(src, max_batch=20_000)
        return time.perf_counter() - t0

    elapsed = asyncio.run(run())
    ok = np.allclose(twin.state.arc_rate_bps, rates)
    t0 = time.perf_counter()
    reference_rates([p for s in steps for p in s], twin.state.ports)
    ref = time.perf_counter() - t0
    print(f"ingestion: {n:,} counter samples ({len(steps[0]):,} ports x {len(steps)} steps), "
          f"JSON, embedded SQLite store")
    print(f"  nettwin pipeline (decode, state, commit every rate): {elapsed:.2f} s = "
          f"{n / elapsed:,.0f} samples/s (rates correct: {ok})")
    print(f"  reference, sample by sample in Python, no store:      {ref:.2f} s = "
          f"{n / ref:,.0f} samples/s; ratio {ref / elapsed:.2f}x")


def latency(tmp: Path, rate: float = 10_000.0, seconds: float = 10.0) -> None:
    net = make_network(200, 800)
    twin = LiveTwin(net, Store(f"sqlite:///{tmp / 'lat.db'}"))
    ports = [(d, i) for (d, i) in twin.state.ports.ports if i in twin.state.ports.link_ids]
    lat: list[float] = []
    commit = twin._commit

    def timed_commit(changes, dead, cursor, received):  # type: ignore[no-untyped-def]
        commit(changes, dead, cursor, received)
        done = time.time()
        lat.extend(done - t for t, _a, _r in changes.rates)

    twin._commit = timed_commit  # type: ignore[method-assign]

    async def run() -> None:
        src = InProcessSource()
        task = asyncio.create_task(twin.run(src, max_wait_s=0.005))
        octets = np.zeros(len(ports))
        chunk = int(rate / 100)  # every 10 ms
        sent, start = 0, time.monotonic()
        while time.monotonic() - start < seconds:
            now = time.time()
            batch = []
            for _ in range(chunk):
                k = sent % len(ports)
                octets[k] += 1e6
                batch.append(json.dumps({"kind": "counter", "time": now, "device": ports[k][0],
                                         "interface": ports[k][1],
                                         "out_octets": octets[k]}).encode())
                sent += 1
            await src.put_many(batch)
            await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()))
        await src.end()
        await task

    asyncio.run(run())
    arr = np.array(lat) * 1e3
    print(f"event-to-state latency at {rate:,.0f} samples/s for {seconds:g} s "
          f"({arr.size:,} rates, from observation time to committed state): "
          f"p50 {np.percentile(arr, 50):.1f} ms, p99 {np.percentile(arr, 99):.1f} ms, "
          f"max {arr.max():.1f} ms")


def nats_kill(tmp: Path, samples_per_port: int = 60) -> None:
    import nats

    net = make_network(200, 800)
    net_file = tmp / "bench-network.json"
    save_network(net, net_file)
    stream = f"NTBENCH{os.getpid()}"
    subject = f"ntbench.{os.getpid()}"
    rate = simulate(compile_network(net)).arc_load_bps
    payloads = [json.dumps(r).encode() for recs in counter_records(
        net, rate, start=1.7e9, interval_s=1, steps=samples_per_port - 1) for r in recs]
    store_url = f"sqlite:///{tmp / 'nats.db'}"

    async def publish() -> None:
        nc = await nats.connect("nats://127.0.0.1:4222")
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[subject])
        for i in range(0, len(payloads), 1000):
            await asyncio.gather(*(js.publish(subject, p) for p in payloads[i:i + 1000]))
        await nc.close()

    async def drop() -> None:
        nc = await nats.connect("nats://127.0.0.1:4222")
        await nc.jetstream().delete_stream(stream)
        await nc.close()

    asyncio.run(publish())
    cmd = [sys.executable, "-m", "nettwin.cli", "ingest", f"nats://127.0.0.1:4222/{subject}",
           str(net_file), "--store", store_url, "--stream", stream,
           "--durable", "bench"]
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    store = Store(store_url)
    expected = len(payloads) - 2 * len(net.links)  # the first sample of a port has no rate
    kills = 0
    started = time.monotonic()
    try:
        while store.count(net.name) < expected and time.monotonic() - started < 300:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    env=env)
            if kills < 3:
                target = (kills + 1) * expected // 4
                while store.count(net.name) < target and proc.poll() is None:
                    time.sleep(0.05)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                continue
            while store.count(net.name) < expected and time.monotonic() - started < 300:
                time.sleep(0.2)
            time.sleep(2.0)  # anything extra (a duplicate) would land now
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        asyncio.run(drop())
    with store.engine.connect() as conn:
        from sqlalchemy import text

        total, distinct = conn.execute(text(
            "SELECT count(*), count(DISTINCT arc || '@' || time) FROM rates WHERE network = :n"),
            {"n": net.name}).one()
    print(f"NATS JetStream, {len(payloads):,} counter samples (1,600 ports), the `nettwin "
          f"ingest` process SIGKILLed "
          f"{kills} times mid-stream and restarted: {total:,} rates stored, "
          f"{expected:,} expected -> lost {expected - distinct:,}, duplicated "
          f"{total - distinct:,}; {time.monotonic() - started:.1f} s")


def tm_error() -> None:
    cases = [("Abilene (288 x 5 min, 2004-03-01)", DATA / "sndlib/xml/abilene.xml",
              DATA / "traffic/abilene-zhang-5min", "*20040301-*.xml"),
             ("GEANT (all 15-min matrices)", DATA / "sndlib/xml/geant.xml",
              DATA / "traffic/geant-uhlig-15min", "*.xml")]
    for label, topo, folder, pattern in cases:
        files = sorted(folder.glob(pattern))
        base = load_network(topo)
        rows: dict[str, list[float]] = {"edge": [], "no_edge": [], "gravity_edge": [],
                                        "gravity_no_edge": [], "rmsre": [], "t": []}
        for f in files:
            c = compile_network(load_traffic(base, f))
            rm = routing_matrix(c)
            x = pair_rates(c, rm)
            y = rm.a @ x
            t0 = time.perf_counter()
            e = estimate_tm(rm, y, c.arc_src, c.arc_dst, c.n_nodes,
                            node_out_bps=np.bincount(rm.src, x, c.n_nodes),
                            node_in_bps=np.bincount(rm.dst, x, c.n_nodes))
            rows["t"].append(time.perf_counter() - t0)
            n = estimate_tm(rm, y, c.arc_src, c.arc_dst, c.n_nodes)
            ee, en = estimation_errors(x, e.rate_bps), estimation_errors(x, n.rate_bps)
            rows["edge"].append(ee["weighted_error"])
            rows["rmsre"].append(ee["rmsre_top"])
            rows["no_edge"].append(en["weighted_error"])
            rows["gravity_edge"].append(estimation_errors(x, e.prior_bps)["weighted_error"])
            rows["gravity_no_edge"].append(estimation_errors(x, n.prior_bps)["weighted_error"])

        def q(k: str, rows: dict[str, list[float]] = rows) -> str:
            v = np.array(rows[k])
            return (f"median {100 * np.median(v):.1f} %, p10 {100 * np.percentile(v, 10):.1f} %,"
                    f" p90 {100 * np.percentile(v, 90):.1f} %")

        print(f"TM estimation, {label}: {len(files)} matrices, traffic-weighted |error|")
        print(f"  tomogravity with node totals:  {q('edge')}  (gravity prior alone: "
              f"{q('gravity_edge')})")
        print(f"  RMS rel. error of the flows carrying 75 % of traffic: {q('rmsre')}")
        print(f"  link counters only:            {q('no_edge')}  (gravity prior alone: "
              f"{q('gravity_no_edge')})")
        print(f"  {1e3 * np.median(rows['t']):.1f} ms per estimate (median)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-nats", action="store_true")
    parser.add_argument("--skip-tm", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        throughput(tmp)
        latency(tmp)
        if not args.skip_nats:
            nats_kill(tmp)
    if not args.skip_tm and DATA.exists():
        tm_error()


if __name__ == "__main__":
    main()
