"""Smoke test of the built image (`make image-test`): the image's own entrypoint serves the
twin as its non-root user, health and readiness answer, an authenticated what-if on the
bundled example equals the library's answer on this machine, the kernels come from the
image's cache (compiled for the portable CPU target, so any node uses them: a fresh warm-up
compiles nothing), and the image carries no compiler and no test tool. Runs the image with
buildah (chroot isolation, the host's loopback), since this machine has no container runtime.

Usage: python deploy/image/smoke.py [IMAGE]   (default: the last `make image`)
"""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
UID = 10001
SIZE_TARGET_MB = 600


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=check, capture_output=True, text=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(url: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def library_whatif_max_utilisation() -> float:
    """The oracle: the same what-if computed by the library installed on this machine."""
    from nettwin.examples import example_path
    from nettwin.io import load_network
    from nettwin.scenarios import parse_scenario, run_whatif

    network = load_network(example_path())
    scenario = parse_scenario({"name": "smoke", "changes": [{"fail_node": "Houston"}]}, "smoke")
    return float(run_whatif(network, scenario).diff.max_utilisation_after)


# The CPU targets the kernels of the image's cache were compiled for: numba's index key per
# signature holds (triple, CPU name, CPU features), and a process only loads a kernel whose
# target equals its own.
SEED_TARGETS = """
import os, pathlib, pickle
targets = set()
for index in pathlib.Path(os.environ["NETTWIN_KERNEL_CACHE_SEED"]).rglob("*.nbi"):
    with index.open("rb") as f:
        pickle.load(f)  # the numba version
        _stamp, overloads = pickle.loads(f.read())
    targets |= {key[1] for key in overloads}
print(repr(sorted(targets)))
"""
PORTABLE_TARGET = ("x86_64-unknown-linux-gnu", "generic", "")


def check_kernel_cache(run: list[str]) -> list[str]:
    """The image's kernels: compiled for the portable target only, and a fresh process with
    an empty cache (as a new pod has) loads every kernel of the warm-up and compiles none."""
    failures: list[str] = []
    run = [a if a != "NUMBA_CACHE_DIR=/tmp/numba" else "NUMBA_CACHE_DIR=/tmp/numba-fresh"
           for a in run]
    targets = sh(*run, "/opt/nettwin/bin/python", "-c", SEED_TARGETS, check=False)
    print(f"kernel cache targets: {targets.stdout.strip() or targets.stderr[-500:]}")
    if targets.stdout.strip() != repr([PORTABLE_TARGET]):
        failures.append(f"the image's kernels are not all compiled for {PORTABLE_TARGET}: "
                        f"{targets.stdout.strip() or targets.stderr[-500:]}")
    t0 = time.monotonic()
    warm = sh(*run, "/opt/nettwin/bin/nettwin", "warmup", check=False)
    counts = re.search(r"(\d+) compiled, (\d+) loaded", warm.stderr)
    print(f"fresh warm-up in {time.monotonic() - t0:.1f} s: "
          f"{counts.group(0) if counts else warm.stderr[-500:]}")
    if counts is None or int(counts.group(1)) != 0 or int(counts.group(2)) == 0:
        failures.append(f"a fresh warm-up compiled kernels instead of loading the image's: "
                        f"{warm.stderr[-1000:]}")
    return failures


def image_size_mb(image: str) -> float:
    """The image's size as buildah reports it ("742 MB", "1.05 GB")."""
    text = sh("buildah", "images", "--noheading", "--format", "{{.Size}}", image).stdout.split()
    units = {"B": 1e-6, "kB": 1e-3, "KB": 1e-3, "MB": 1.0, "GB": 1e3}
    return float(text[0]) * units[text[1]]


def main() -> int:
    image = sys.argv[1] if len(sys.argv) > 1 else (
        (ROOT / "build/image/image-name").read_text().strip())
    info = json.loads(sh("buildah", "inspect", "--type", "image", image).stdout)
    config = info["Docker"]["config"]
    entrypoint: list[str] = config["Entrypoint"]
    print(f"image {image}: entrypoint {shlex.join(entrypoint)}, user {config.get('User')}")
    failures: list[str] = []
    if config.get("User", "").split(":")[0] != str(UID):
        failures.append(f"image user is {config.get('User')!r}, expected {UID}")
    if not config.get("Healthcheck"):
        failures.append("no HEALTHCHECK in the image configuration")

    ctr = sh("buildah", "from", "--pull-never", image).stdout.strip()
    data = Path(tempfile.mkdtemp(prefix="nettwin-smoke-"))
    data.chmod(0o700)
    subprocess.run(["chown", f"{UID}:{UID}", str(data)], check=True)
    run = ["buildah", "run", "--isolation", "chroot", "--user", f"{UID}:{UID}",
           "-v", f"{data}:/var/lib/nettwin", "--env", "NUMBA_CACHE_DIR=/tmp/numba", ctr, "--"]
    server: subprocess.Popen[str] | None = None
    port: int | None = None
    try:
        token = sh(*run, "/opt/nettwin/bin/nettwin", "token", "create", "--name", "smoke",
                   "--role", "planner").stdout.strip().splitlines()[-1]
        port = free_port()
        # the image's own entrypoint, on loopback rather than every interface of this host
        cmd = [c if c != "0.0.0.0" else "127.0.0.1" for c in entrypoint]
        cmd += ["--port", str(port), "--telemetry-s", "0"]
        server = subprocess.Popen([*run, *cmd], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        status: Any = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, _ = request(f"{base}/healthz")
                if status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        if status != 200:
            out = server.stdout.read() if server.poll() is not None and server.stdout else ""
            failures.append(f"/healthz never answered 200 (last: {status}) {out[-2000:]}")
        else:
            for path in ("/healthz", "/readyz"):
                code, body = request(base + path)
                print(f"GET {path}: {code} {body}")
                if code != 200:
                    failures.append(f"{path} answered {code}")
            code, _ = request(f"{base}/api/v1/networks/example/whatif", None,
                              {"changes": [{"fail_node": "Houston"}]})
            if code != 401:
                failures.append(f"what-if without a token answered {code}, expected 401")
            t0 = time.monotonic()
            code, body = request(f"{base}/api/v1/networks/example/whatif", token,
                                 {"changes": [{"fail_node": "Houston"}]})
            print(f"POST what-if (fail Houston): {code} in {time.monotonic() - t0:.1f} s")
            if code != 200:
                failures.append(f"authenticated what-if answered {code}: {body}")
            else:
                served = float(body["max_utilisation_after"])
                expected = library_whatif_max_utilisation()
                print(f"  max utilisation after: image {served:.6f}, library {expected:.6f}")
                if abs(served - expected) > 1e-9:
                    failures.append(f"what-if max utilisation {served} != library {expected}")
            ps = sh("ps", "-eo", "uid=,args=").stdout.splitlines()
            uids = {line.split(None, 1)[0] for line in ps
                    if f"--port {port}" in line and "buildah" not in line}
            print(f"server process uid(s): {sorted(uids)}")
            if uids != {str(UID)}:
                failures.append(f"server runs as uid {sorted(uids)}, expected {UID} only")
        failures += check_kernel_cache(run)
        tools = sh(*run, "/bin/sh", "-c",
                   "for c in gcc cc c++ g++ clang make; do command -v $c; done; "
                   "/opt/nettwin/bin/python -c \"import importlib.util as u; "
                   "print(*[m for m in ('pytest','hypothesis','playwright','mypy','ruff',"
                   "'schemathesis','pip') if u.find_spec(m)])\"", check=False).stdout.split()
        print(f"compilers / test tools in the image: {tools or 'none'}")
        if tools:
            failures.append(f"the image carries {tools}")
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        if port is not None:  # buildah's chroot run does not pass the signal to the server
            subprocess.run(["pkill", "-KILL", "-u", str(UID), "-f", "--", f"--port {port} "],
                           check=False)
        sh("buildah", "rm", ctr, check=False)
        subprocess.run(["rm", "-rf", str(data)], check=False)

    size_mb = image_size_mb(image)
    verdict = "within" if size_mb <= SIZE_TARGET_MB else "ABOVE"
    print(f"image size: {size_mb:.0f} MB ({verdict} the {SIZE_TARGET_MB} MB target)")
    for f in failures:
        print(f"FAILED: {f}", file=sys.stderr)
    print("image smoke test:", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
