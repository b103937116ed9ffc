"""API benchmark: p50/p99 latency under 50 concurrent clients on loopback for reading a
1,000-node network's live state and for submitting a single-failure what-if, with /healthz
through the same stack as the reference floor. The server runs in its own process (uvicorn,
one worker), the clients in this one.

Run: ``make bench-api`` or ``python benchmarks/bench_api.py [--nodes N --demands-per-node K]``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import uvicorn

from nettwin.api import Role, Settings, TokenStore, create_app

sys.path.insert(0, str(Path(__file__).parent))
from bench_engine import make_network


async def _load(url: str, headers: dict[str, str], clients: int, per_client: int,
                method: str = "GET", body: object = None) -> np.ndarray:
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=600, limits=httpx.Limits(
            max_connections=clients)) as client:
        async def worker() -> None:
            for _ in range(per_client):
                t = time.perf_counter()
                r = await client.request(method, url, headers=headers, json=body)
                r.raise_for_status()
                latencies.append(time.perf_counter() - t)

        await asyncio.gather(*(worker() for _ in range(clients)))
    return np.array(latencies)


def _serve(data_dir: str, port: int, nodes: int, links: int, ready: object) -> None:
    settings = Settings(data_dir=Path(data_dir), load_example=False)
    app = create_app(settings)
    app.state.twin.networks["bench"] = make_network(nodes, links)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    ready.set()  # type: ignore[attr-defined]
    server.run()


def main() -> None:
    parser = argparse.ArgumentParser(description="API latency benchmark")
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--links", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        token = TokenStore(Settings(data_dir=Path(tmp)).tokens_file).create("bench",
                                                                             Role.OPERATOR)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        ctx = multiprocessing.get_context("spawn")
        ready = ctx.Event()
        proc = ctx.Process(target=_serve, args=(tmp, port, args.nodes, args.links, ready))
        proc.start()
        ready.wait(300)
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        h = {"Authorization": f"Bearer {token}"}
        nid = "bench"
        try:
            _measure(base, h, nid, args)
        finally:
            proc.terminate()
            proc.join(30)


def _measure(base: str, h: dict[str, str], nid: str, args: argparse.Namespace) -> None:
    summary = httpx.get(f"{base}/api/v1/networks/{nid}", headers=h, timeout=600).json()
    print(f"workload: {summary['nodes']} nodes, {summary['links']} links, "
          f"{summary['demands']:,} demands; {args.clients} concurrent clients on loopback, "
          "server in its own process")
    t = time.perf_counter()
    httpx.post(f"{base}/api/v1/networks/{nid}/telemetry", json={"scale": 1.0}, headers=h,
               timeout=600).raise_for_status()
    httpx.post(f"{base}/api/v1/networks/{nid}/whatif", json={"changes": [
        {"fail_link": "l0"}]}, headers=h, timeout=600).raise_for_status()
    print(f"warm-up (compile, first telemetry tick, baseline): {time.perf_counter() - t:.1f} s")
    runs = [("GET /healthz (reference)", f"{base}/healthz", "GET", None, 20),
            ("GET live state (8,000 arcs)", f"{base}/api/v1/networks/{nid}/state", "GET",
             None, 10),
            ("POST single-failure what-if", f"{base}/api/v1/networks/{nid}/whatif",
             "POST", {"changes": [{"fail_link": "l17"}]}, 1)]
    floor = None
    for name, url, method, body, per in runs:
        t = time.perf_counter()
        lat = asyncio.run(_load(url, h, args.clients, per, method, body))
        wall = time.perf_counter() - t
        p50, p99 = np.percentile(lat, [50, 99])
        floor = floor or p50
        print(f"{name}: {lat.size} requests in {wall:.1f} s ({lat.size / wall:.1f}/s), "
              f"p50 {1e3 * p50:.1f} ms, p99 {1e3 * p99:.1f} ms "
              f"({p50 / floor:.0f}x the health-check p50)")


if __name__ == "__main__":
    main()
