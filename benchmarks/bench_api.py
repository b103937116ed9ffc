"""API benchmark on loopback: the server in its own process (uvicorn, one worker), the clients
in this one.

- Concurrent readers of a 1,000-node network's live state (8,000 arcs): 50 and 200 at once
  (targets: p99 <= 100 ms and <= 500 ms), every answer checked (status and size).
- /healthz while a heavy job (a failure sweep of that network) runs (target p99 <= 50 ms).
- Single-failure what-ifs under 50 concurrent clients (targets: p50 <= 50 ms, p99 <= 250
  ms), sent at once over keep-alive connections opened beforehand: all the same failure,
  then each client another link (``--rounds`` times, new links each round; answered by the
  incremental engine from the basis's kept state); and, as the reference in the same run,
  what-ifs the full engine answers (the same failure plus a traffic factor of 1: the same
  answer). Server CPU per request is printed beside each: on shared cores it is the figure
  that does not move with the other processes' load. It counts the server's what-if worker
  processes (``api.processes``), waited for before the bursts, and says how much of it is the
  server's own process. ``--whatif-processes 0`` measures the server answering alone.
Reference: /healthz through the same stack when idle; latencies are also printed as ratios to
its p50. The machine's load average is printed: on shared cores the figures move with it.

Run: ``make bench-api`` or ``python benchmarks/bench_api.py [--nodes N --links M
--readers 50,200 --per-reader K]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import uvicorn

from nettwin.api import Role, Settings, TokenStore, create_app

sys.path.insert(0, str(Path(__file__).parent))
from bench_engine import make_network


class Tally:
    """Latencies of the answers that were right, and a count of those that were not."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.server_cpu_s = float("nan")  # server CPU per request, set by _run

    def line(self, name: str, wall_s: float, floor_s: float | None) -> str:
        lat = np.array(self.latencies) if self.latencies else np.array([np.nan])
        p50, p99 = np.percentile(lat, [50, 99])
        ratio = f" ({p50 / floor_s:.0f}x the idle health-check p50)" if floor_s else ""
        n = len(self.latencies) + self.errors
        return (f"{name}: {n} requests in {wall_s:.1f} s ({n / wall_s:.0f}/s), "
                f"p50 {1e3 * p50:.1f} ms, p99 {1e3 * p99:.1f} ms, max {1e3 * lat.max():.1f} ms,"
                f" errors {self.errors}{ratio}")


async def _raw_get(base: str, path: str, headers: dict[str, str], clients: int,
                   per_client: int, min_bytes: int = 1) -> Tally:
    """GETs over keep-alive HTTP/1.1 connections (opened by a first request, not timed)
    with a minimal client (asyncio streams):
    on shared cores a full client library would spend more CPU than the server it
    measures. Content-Length answers only (the server sends no chunked ones here)."""
    host, port = base.removeprefix("http://").split(":")
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()
    tally = Tally()

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for i in range(per_client + 1):  # the first (connecting) one is not counted
                t = time.perf_counter()
                try:
                    writer.write(request)
                    head = await reader.readuntil(b"\r\n\r\n")
                    fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:]
                                  if b":" in line)
                    size = int(fields[next(k for k in fields if k.lower() == b"content-length")])
                    body = await reader.readexactly(size)
                    ok = head[9:12] == b"200" and len(body) >= min_bytes
                except (OSError, ValueError, StopIteration, asyncio.IncompleteReadError):
                    ok = False
                if not ok:
                    tally.errors += 1
                elif i > 0:
                    tally.latencies.append(time.perf_counter() - t)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(clients)))
    return tally


async def _raw_post(base: str, path: str, headers: dict[str, str],
                    bodies: list[object]) -> Tally:
    """One POST per client (JSON ``bodies[i]``), all sent at once over keep-alive
    connections opened (and used for an untimed /healthz) beforehand: the latency of the
    server, not of 50 TCP handshakes and a client library sharing the same cores."""
    host, port = base.removeprefix("http://").split(":")
    head = (f"Host: {host}:{port}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()))
    tally = Tally()
    connected, go = asyncio.Semaphore(0), asyncio.Event()

    async def answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
        top = await reader.readuntil(b"\r\n\r\n")
        fields = dict(line.split(b":", 1) for line in top.split(b"\r\n")[1:] if b":" in line)
        size = int(fields[next(k for k in fields if k.lower() == b"content-length")])
        return top, await reader.readexactly(size)

    async def worker(body: object) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        data = json.dumps(body).encode()
        try:
            writer.write(f"GET /healthz HTTP/1.1\r\n{head}\r\n".encode())
            await answer(reader)
            connected.release()
            await go.wait()
            t = time.perf_counter()
            try:
                writer.write(f"POST {path} HTTP/1.1\r\n{head}Content-Type: application/json"
                             f"\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
                top, _ = await answer(reader)
                ok = top[9:12] == b"200"
            except (OSError, ValueError, StopIteration, asyncio.IncompleteReadError):
                ok = False
            if ok:
                tally.latencies.append(time.perf_counter() - t)
            else:
                tally.errors += 1
        finally:
            writer.close()

    async def start() -> None:
        for _ in bodies:
            await connected.acquire()
        go.set()

    await asyncio.gather(start(), *(worker(b) for b in bodies))
    return tally


def _serve(data_dir: str, port: int, nodes: int, links: int, ready: object,
           processes: int | None) -> None:
    settings = Settings(data_dir=Path(data_dir), load_example=False,
                        whatif_processes=processes)
    app = create_app(settings)
    app.state.twin.networks["bench"] = make_network(nodes, links)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", backlog=4096))
    ready.set()  # type: ignore[attr-defined]
    server.run()


def main() -> None:
    parser = argparse.ArgumentParser(description="API latency benchmark")
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--links", type=int, default=4000)
    parser.add_argument("--readers", default="50,200", help="concurrent readers, comma list")
    parser.add_argument("--per-reader", type=int, default=10)
    parser.add_argument("--clients", type=int, default=50, help="for the what-if")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of distinct-link what-ifs (new links each round)")
    parser.add_argument("--parts", default="readers,job,whatif",
                        help="what to measure, comma list of readers, job, whatif; or "
                             "whatif-cpu alone: one what-if's CPU in this process, no HTTP")
    parser.add_argument("--whatif-processes", type=int, default=None,
                        help="the server's what-if worker processes (default: its own)")
    args = parser.parse_args()
    if args.parts == "whatif-cpu":
        _whatif_cpu(args.nodes, args.links, args.clients * args.rounds)
        return
    with tempfile.TemporaryDirectory() as tmp:
        store = TokenStore(Settings(data_dir=Path(tmp)).tokens_file)
        token, admin = store.create("bench", Role.OPERATOR), store.create("boss", Role.ADMIN)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        ctx = multiprocessing.get_context("spawn")
        ready = ctx.Event()
        proc = ctx.Process(target=_serve, args=(tmp, port, args.nodes, args.links, ready,
                                                  args.whatif_processes))
        proc.start()
        ready.wait(300)
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        try:
            _measure(base, {"Authorization": f"Bearer {token}"},
                     {"Authorization": f"Bearer {admin}"}, "bench", args, proc.pid)
        finally:
            proc.terminate()
            proc.join(30)


def _whatif_cpu(nodes: int, links: int, count: int) -> None:
    """CPU of one single-failure what-if in this process, one thread, no HTTP: the answer
    (``failure_diff``, as the API's incremental path makes it) and, apart, its arc loads
    (``failure_loads``), over ``count`` distinct links (those ``_whatifs`` sends). Run it with
    PYTHONPATH at an older tree's src for the reference in the same minute."""
    from nettwin.api.basis import plan_basis
    from nettwin.api.whatif import failure_diff, failure_state
    from nettwin.engine import compile_network
    from nettwin.engine.incremental import failure_loads
    from nettwin.engine.threads import parallel_region
    from nettwin.scenarios import parse_scenario
    from nettwin.scenarios.apply import apply_scenario

    net = make_network(nodes, links)
    c = compile_network(net)
    b = plan_basis(net, c)
    st = failure_state(b)
    picked = np.random.default_rng(5).choice(np.arange(18, links), count, replace=False)
    cases = [apply_scenario(net, c, parse_scenario({"changes": [{"fail_link": f"l{i}"}]}))
             for i in picked.tolist()]
    for a in cases[:3]:  # kernels loaded
        failure_diff(b, st, a.arc_up, a.failed_arcs)
    answer, loads = [], []
    for _ in range(2):
        for a in cases:
            t = time.process_time()
            failure_diff(b, st, a.arc_up, a.failed_arcs)
            answer.append(time.process_time() - t)
            with parallel_region(1):
                t = time.process_time()
                failure_loads(st.incremental, a.failed_arcs)
                loads.append(time.process_time() - t)
    print(f"single-failure what-if CPU, {nodes} nodes / {2 * links} arcs, {count} distinct "
          f"links x 2, one thread, no HTTP: mean {1e3 * np.mean(answer):.3f} ms, p50 "
          f"{1e3 * np.median(answer):.3f} ms, p99 {1e3 * np.percentile(answer, 99):.3f} ms; of "
          f"which arc loads {1e3 * np.mean(loads):.3f} ms (load average "
          f"{os.getloadavg()[0]:.1f})")


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _server_cpu_s(pid: int | None, children: bool = True) -> float:
    """User + system CPU seconds so far of the server process and (``children``) its
    children, the what-if workers; from Linux /proc."""
    if pid is None:
        return float("nan")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for task in Path(f"/proc/{p}/task").glob("*/children") if children else ():
            todo += [int(c) for c in task.read_text().split()]
    return total


def _run(name: str, make: object, floor: float | None, pid: int | None) -> Tally:
    cpu, server, wall = time.process_time(), _server_cpu_s(pid), time.perf_counter()
    own = _server_cpu_s(pid, children=False)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        tally: Tally = runner.run(make())  # type: ignore[operator]
    wall = time.perf_counter() - wall
    server = _server_cpu_s(pid) - server
    own = _server_cpu_s(pid, children=False) - own
    n = len(tally.latencies) + tally.errors
    tally.server_cpu_s = server / max(n, 1)
    print(tally.line(name, wall, floor) + f"; CPU: clients {time.process_time() - cpu:.1f} s, "
          f"server {server:.2f} s ({1e3 * server / max(n, 1):.2f} ms a request, "
          f"{1e3 * own / max(n, 1):.2f} ms of it in the server's own process); "
          f"load average {os.getloadavg()[0]:.1f}")
    return tally


def _measure(base: str, h: dict[str, str], admin: dict[str, str], nid: str,
             args: argparse.Namespace, pid: int | None) -> None:
    summary = httpx.get(f"{base}/api/v1/networks/{nid}", headers=h, timeout=600).json()
    print(f"workload: {summary['nodes']} nodes, {summary['links']} links, "
          f"{summary['demands']:,} demands; clients on loopback, server in its own process; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    t = time.perf_counter()
    httpx.post(f"{base}/api/v1/networks/{nid}/telemetry", json={"scale": 1.0}, headers=h,
               timeout=600).raise_for_status()
    state_bytes = len(httpx.get(f"{base}/api/v1/networks/{nid}/state", headers=h,
                                timeout=600).content)
    httpx.post(f"{base}/api/v1/networks/{nid}/whatif", json={"changes": [
        {"fail_link": "l0"}], "basis": "plan"}, headers=h, timeout=600).raise_for_status()
    print(f"warm-up (compile, first telemetry tick, baseline): {time.perf_counter() - t:.1f} s;"
          f" live state {state_bytes / 1e3:.0f} kB")
    t = time.perf_counter()
    workers: list[dict[str, int]] = []
    while time.perf_counter() - t < 120:  # the plan basis sent to the what-if workers
        workers = httpx.get(f"{base}/api/v1/warmup", headers=h, timeout=60).json()[
            "whatif_workers"]
        if workers and all(w["bases"] for w in workers):
            break
        time.sleep(0.2)
    print(f"what-if workers: {len(workers)} holding the plan after "
          f"{time.perf_counter() - t:.1f} s" if workers else
          "what-if workers: none (the server answers every what-if)")
    floor = float(np.percentile(_run("GET /healthz, idle (reference)", lambda: _raw_get(
        base, "/healthz", {}, 20, 20), None, pid).latencies, 50))
    parts = args.parts.split(",")
    if "readers" in parts:
        _readers(base, h, nid, args, floor, pid)
    if "job" in parts:
        _healthz_during_job(base, admin, nid, floor, pid)
    if "whatif" in parts:
        _whatifs(base, h, nid, summary["links"], args.clients, args.rounds, floor, pid)


def _readers(base: str, h: dict[str, str], nid: str, args: argparse.Namespace, floor: float,
             pid: int | None) -> None:
    state = f"/api/v1/networks/{nid}/state"
    state_bytes = len(httpx.get(base + state, headers=h, timeout=600).content)
    gz = h | {"Accept-Encoding": "gzip"}
    with httpx.stream("GET", base + state, headers=gz, timeout=60) as r:
        gz_bytes = len(b"".join(r.iter_raw()))
    for readers in (int(r) for r in args.readers.split(",")):
        _run(f"GET live state, {readers} concurrent readers", lambda n=readers: _raw_get(
            base, state, h, n, args.per_reader, min_bytes=state_bytes), floor, pid)
    for readers in (int(r) for r in args.readers.split(",")):
        _run(f"GET live state gzipped (as browsers ask), {readers} readers",
             lambda n=readers: _raw_get(base, state, gz, n, args.per_reader,
                                        min_bytes=gz_bytes),
             floor, pid)
    print(f"  live state: {state_bytes / 1e3:.0f} kB plain, {gz_bytes / 1e3:.0f} kB gzipped")


def _whatifs(base: str, h: dict[str, str], nid: str, n_links: int, clients: int,
             rounds: int, floor: float, pid: int | None) -> None:
    """Single-failure what-ifs on the plan: the same one from every client, another link
    from each (``rounds`` times, new links each round: no answer is reused), and the full
    engine's path as the reference (the same failure with a traffic factor of 1 is no pure
    failure: the incremental engine does not take it). On the plan: the live basis of this
    network would first estimate a 1M-pair traffic matrix from the arc rates, which the
    dense tomogravity solver cannot do at this size."""
    path = f"/api/v1/networks/{nid}/whatif"
    links = np.random.default_rng(5).choice(np.arange(18, n_links), clients * rounds,
                                            replace=False)
    ref = max(1, clients // 5)
    full: list[object] = [{"changes": [{"fail_link": f"l{i}"},
                                       {"scale_traffic": {"factor": 1.0}}], "basis": "plan"}
                          for i in links[:ref].tolist()]
    same: list[object] = [{"changes": [{"fail_link": "l17"}], "basis": "plan"}] * clients
    _run(f"POST single-failure what-if, {clients} clients, the same link", lambda: _raw_post(
        base, path, h, same), floor, pid)
    fast: list[Tally] = []
    for k in range(rounds):
        fails: list[object] = [{"changes": [{"fail_link": f"l{i}"}], "basis": "plan"}
                               for i in links[k * clients:(k + 1) * clients].tolist()]
        fast.append(_run(f"POST single-failure what-if, {clients} clients, each another link"
                         f" (round {k + 1}/{rounds})", lambda b=fails: _raw_post(
                             base, path, h, b), floor, pid))
    one = _run("reference: full-engine what-if (each another link), 1 client",
               lambda: _raw_post(base, path, h, full[:1]), floor, pid)
    many = _run(f"reference: full-engine what-ifs, {ref} clients, each another link",
                lambda: _raw_post(base, path, h, full), floor, pid)
    cpu = float(np.median([t.server_cpu_s for t in fast]))
    lat = np.concatenate([t.latencies for t in fast]) if fast else np.array([np.nan])
    p50, p99 = np.percentile(lat, [50, 99])
    print(f"  distinct-link what-ifs over {rounds} round(s): p50 {1e3 * p50:.0f} ms, p99 "
          f"{1e3 * p99:.0f} ms (targets 50 / 250 ms); server CPU {1e3 * cpu:.2f} ms a request,"
          f" {min(one.server_cpu_s, many.server_cpu_s) / cpu:.0f}x less than the full engine's"
          f" {1e3 * min(one.server_cpu_s, many.server_cpu_s):.0f} ms in this run")


def _healthz_during_job(base: str, admin: dict[str, str], nid: str, floor: float,
                        pid: int | None) -> None:
    """/healthz polled by 5 clients while a link + node + link-pair sweep runs (cancelled
    after at most 15 s)."""
    job = httpx.post(f"{base}/api/v1/networks/{nid}/sweeps", headers=admin, timeout=60, json={
        "links": True, "nodes": True, "link_pairs": True, "max_pairs": 50_000}).json()
    status_url = f"{base}/api/v1/jobs/{job['id']}"
    while httpx.get(status_url, headers=admin, timeout=60).json()["state"] == "queued":
        time.sleep(0.05)

    async def poll() -> Tally:
        """5 health checkers (one request each 20 ms) while a watcher polls the job."""
        tally = Tally()
        running = True

        async def watch() -> None:
            nonlocal running
            end = time.monotonic() + 15
            async with httpx.AsyncClient(timeout=60) as client:
                while running and time.monotonic() < end:
                    await asyncio.sleep(0.5)
                    running = (await client.get(status_url, headers=admin)).json()[
                        "state"] == "running"
            running = False

        async def check() -> None:
            host, port = base.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            request = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
            try:
                while running:
                    t = time.perf_counter()
                    try:
                        writer.write(request)
                        head = await reader.readuntil(b"\r\n\r\n")
                        size = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                        await reader.readexactly(size)
                        ok = head[9:12] == b"200"
                    except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                        ok = False
                    if ok:
                        tally.latencies.append(time.perf_counter() - t)
                    else:
                        tally.errors += 1
                    await asyncio.sleep(0.02)
            finally:
                writer.close()

        await asyncio.gather(watch(), *(check() for _ in range(5)))
        return tally

    _run("GET /healthz during a sweep job", poll, floor, pid)
    final = httpx.get(status_url, headers=admin, timeout=60).json()
    t = time.perf_counter()
    httpx.delete(status_url, headers=admin, timeout=60)
    while httpx.get(status_url, headers=admin, timeout=60).json()["state"] == "running":
        time.sleep(0.02)
    print(f"  the sweep was {final['state']} at {final['done']:,}/{final['total']:,} cases;"
          f" cancel took {time.perf_counter() - t:.2f} s to take effect")


if __name__ == "__main__":
    main()
