"""Abuse of the service from outside: junk requests must not grow the metrics or flood the
audit log; every state change is audited with who, what, outcome and the resource ids;
responses carry the security headers the dashboard needs and can live with."""

from __future__ import annotations

import json
import random
import re
import shutil
import stat
import string
import time
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.api.deps import Operator
from nettwin.examples import example_path


@pytest.fixture
def api(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, audit_anonymous_per_s=5.0)
    store = TokenStore(settings.tokens_file)
    tokens = {role: store.create(role.name.lower(), role) for role in Role}
    app = create_app(settings)

    def boom(_: Operator) -> None:
        raise RuntimeError("disk on fire")

    app.post("/api/v1/test-only/boom")(boom)  # a handler that fails unexpectedly
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, tokens, settings


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _series(metrics: str) -> set[str]:
    return {line.rsplit(" ", 1)[0] for line in metrics.splitlines()
            if line and not line.startswith("#")}


def _audit(settings: Settings) -> list[dict[str, Any]]:
    if not settings.audit_file.exists():
        return []
    return [json.loads(line) for line in settings.audit_file.read_text().splitlines()]


def test_junk_requests_neither_grow_metrics_nor_flood_the_audit(api) -> None:  # type: ignore[no-untyped-def]
    client, tokens, settings = api
    viewer = _auth(tokens[Role.VIEWER])
    assert client.get("/api/v1/networks", headers=viewer).status_code == 200
    before = _series(client.get("/metrics", headers=viewer).text)
    rng = random.Random(7)
    junk = 500
    for _ in range(junk):
        method = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 12)))
        if rng.random() < 0.3:
            method = rng.choice(["POST", "DELETE", "PATCH"])
        path = "/" + "/".join("".join(rng.choices(string.ascii_lowercase + "%._-", k=40))
                              for _ in range(rng.randint(1, 100)))
        client.request(method, path)
    after = _series(client.get("/metrics", headers=viewer).text)
    new = after - before
    # at most: the unmatched route under 'other' and the three known methods, 404/405,
    # counter + created + the latency buckets of 'unmatched'
    labels = {re.sub(r',?le="[^"]*"', "", s) for s in new}
    assert all('route="unmatched"' in s or "/metrics" in s for s in labels), labels
    methods = {m for s in new for m in re.findall(r'method="([^"]*)"', s)}
    assert methods <= {"other", "POST", "DELETE", "PATCH", "GET"}, methods
    assert len(new) < 60
    lines = _audit(settings)
    anonymous = [a for a in lines if a["who"] == "anonymous"]
    # every junk request is either written or counted as suppressed in a later line
    suppressed = sum(a.get("suppressed_before", 0) for a in lines)
    assert 0 < len(anonymous) < junk
    assert len(anonymous) + suppressed <= junk <= len(anonymous) + suppressed + 500
    assert all(len(a["what"]) < 260 and len(a["route"]) < 40 for a in anonymous)
    assert "request" not in json.dumps(anonymous)  # an anonymous body is never logged
    assert settings.audit_file.stat().st_size < 1000 * len(anonymous)


def test_every_state_change_is_audited_with_its_ids(api) -> None:  # type: ignore[no-untyped-def]
    client, tokens, settings = api
    admin, operator = _auth(tokens[Role.ADMIN]), _auth(tokens[Role.OPERATOR])
    source = example_path()
    up = client.post("/api/v1/networks", headers=admin,
                     files={"file": (source.name, source.read_bytes())})
    nid = up.json()["id"]
    bad = client.post("/api/v1/networks/example/whatif", headers=admin,
                      json={"changes": [{"fail_link": "nowhere"}]})
    assert bad.status_code == 422
    client.post(f"/api/v1/networks/{nid}/telemetry", headers=operator, json={"scale": 3.0})
    alarms = client.get("/tmf-api/alarmManagement/v4/alarm", headers=operator).json()
    acked, cleared = alarms[0]["id"], alarms[1]["id"]
    patch = "/tmf-api/alarmManagement/v4/alarm/"
    client.patch(patch + acked, headers=operator, json={"ackState": "acknowledged"})
    client.patch(patch + cleared, headers=operator, json={"state": "cleared"})
    job = client.post(f"/api/v1/networks/{nid}/sweeps", headers=operator,
                      json={"links": True}).json()["id"]
    client.delete(f"/api/v1/jobs/{job}", headers=operator)
    for _ in range(6000):  # the job ends (cancelled, or done if it was quicker)
        if client.get(f"/api/v1/jobs/{job}", headers=operator).json()["state"] in (
                "done", "cancelled"):
            break
        time.sleep(0.05)
    assert client.post("/api/v1/test-only/boom", headers=operator).status_code == 500
    client.delete(f"/api/v1/networks/{nid}", headers=_auth(tokens[Role.PLANNER]))  # 403
    lines = _audit(settings)

    def one(route: str, **match: Any) -> dict[str, Any]:
        found = [a for a in lines if a["route"] == route
                 and all(a.get(k) == v for k, v in match.items())]
        assert len(found) == 1, (route, match, lines)
        return found[0]

    created = one("/api/v1/networks", status=201)
    assert created["who"] == "admin" and created["result"]["id"] == nid
    assert created["outcome"] == "ok" and created["request"]["bytes"] > 0
    rejected = one("/api/v1/networks/{nid}/whatif")
    assert rejected["outcome"] == "rejected" and rejected["status"] == 422
    assert "nowhere" in rejected["detail"] and rejected["request"] == {"changes": "[1 items]"}
    ack = one("/tmf-api/alarmManagement/v4/alarm/{alarm_id}", ids={"alarm_id": acked})
    clear = one("/tmf-api/alarmManagement/v4/alarm/{alarm_id}", ids={"alarm_id": cleared})
    assert ack["request"] == {"ackState": "acknowledged"} and ack["who"] == "operator"
    assert clear["request"] == {"state": "cleared"}
    assert ack["result"]["ackState"] == "acknowledged" and clear["result"]["state"] == "cleared"
    sweep = one("/api/v1/networks/{nid}/sweeps")
    assert sweep["result"]["id"] == job and sweep["ids"] == {"nid": nid}
    cancel = one("/api/v1/jobs/{job_id}")
    assert cancel["ids"] == {"job_id": job} and cancel["status"] == 202
    failed = one("/api/v1/test-only/boom")
    assert (failed["status"], failed["outcome"], failed["who"]) == (500, "error", "operator")
    assert "disk on fire" in failed["detail"]
    denied = one("/api/v1/networks/{nid}", status=403)
    assert denied["who"] == "planner" and denied["outcome"] == "denied"
    ended = one("job")
    assert ended["who"] == "operator" and ended["ids"] == {"job_id": job, "network_id": nid}
    assert ended["outcome"] == client.get(f"/api/v1/jobs/{job}", headers=operator).json()[
        "state"]
    assert all({"when", "who", "what", "status", "outcome"} <= a.keys() for a in lines)


class _Inline(HTMLParser):
    """Whatever a strict script-src would block in the dashboard page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        self.found += [f"{tag} {k}" for k in names if k.startswith("on")]
        self.found += [f"{tag} {k}" for k, v in names.items()
                       if (v or "").strip().lower().startswith("javascript:")]
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("inline <style>")


def test_security_headers_and_a_dashboard_that_lives_with_them(api) -> None:  # type: ignore[no-untyped-def]
    client, tokens, _ = api
    for path in ("/ui/", "/healthz", "/api/v1/networks", "/nowhere"):
        h = client.get(path, headers=_auth(tokens[Role.VIEWER])).headers
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"
        csp = dict(p.strip().split(" ", 1) for p in h["content-security-policy"].split(";"))
        assert csp["frame-ancestors"] == "'none'" and csp["script-src"] == "'self'"
        assert csp["default-src"] == "'self'" and "unsafe" not in csp["style-src"]
    page = client.get("/ui/").text
    parser = _Inline()
    parser.feed(page)
    assert parser.found == []  # no inline script or style the policy would block
    script = (resources.files("nettwin.api") / "static" / "app.js").read_text()
    assert not re.search(r"\beval\(|new Function\(|setTimeout\(\s*['\"]", script)
    docs = client.get("/docs").headers["content-security-policy"]
    assert "frame-ancestors 'none'" in docs and "cdn.jsdelivr.net" in docs


def test_the_audit_survives_any_body(api) -> None:  # type: ignore[no-untyped-def]
    """Whatever an authenticated caller sends (binary, deep nesting, odd JSON), the audit
    summarises it without failing the request."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    client, tokens, audit_settings = api
    h = _auth(tokens[Role.OPERATOR]) | {"Content-Type": "application/json"}
    nested = st.integers(1, 6000).map(lambda d: b"[" * d + b"]" * d)
    deep_object = st.integers(1, 3000).map(lambda d: b'{"a":' * d + b"1" + b"}" * d)
    # finite floats only: FastAPI's stock 422 handler echoes a non-finite input and fails to
    # render it (a 500 of the body-validation boundary, not of the audit)
    finite = st.floats(allow_nan=False, allow_infinity=False)
    odd_json = st.recursive(st.none() | st.booleans() | finite | st.text(max_size=300),
                            lambda inner: st.lists(inner, max_size=5)
                            | st.dictionaries(st.text(max_size=50), inner, max_size=5),
                            max_leaves=30).map(lambda v: json.dumps({"changes": v}).encode())
    bodies = (st.binary(max_size=3000) | nested | deep_object | odd_json).filter(
        lambda b: b"Infinity" not in b and b"NaN" not in b)

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(bodies)
    def post(body: bytes) -> None:
        before = len(_audit(audit_settings))
        r = client.post("/api/v1/networks/example/whatif", content=body, headers=h)
        assert r.status_code < 500, (r.status_code, body[:80])
        lines = _audit(audit_settings)
        assert len(lines) == before + 1 and lines[-1]["who"] == "operator"
        assert lines[-1]["status"] == r.status_code

    post()


def test_the_audit_log_rotates_and_stays_private(tmp_path: Path) -> None:
    from nettwin.api.security import AuditLog

    log = AuditLog(tmp_path / "audit.jsonl", max_bytes=4096, keep=3)
    for i in range(400):
        assert log.write({"who": "alice", "what": f"call {i}", "pad": "x" * 40})
    files = sorted(tmp_path.glob("audit.jsonl*"))
    assert [f.name for f in files] == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2",
                                       "audit.jsonl.3"]
    kept = [json.loads(line)["what"] for f in reversed(files[1:]) for line in
            f.read_text().splitlines()] + [
        json.loads(line)["what"] for line in files[0].read_text().splitlines()]
    # the newest lines, in order, none lost inside what is kept; each rotated file is full
    assert kept == [f"call {i}" for i in range(400 - len(kept), 400)]
    assert all(f.stat().st_size >= 4096 for f in files[1:])
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_an_audit_log_removed_under_the_service_is_made_again_private(tmp_path: Path) -> None:
    from nettwin.api.security import AuditLog

    path = tmp_path / "logs" / "audit.jsonl"
    log = AuditLog(path)
    log.write({"what": "first"})
    path.unlink()  # a file, then its folder, removed while the service runs
    log.write({"what": "second"})
    assert [json.loads(line)["what"] for line in path.read_text().splitlines()] == ["second"]
    shutil.rmtree(path.parent)
    log.write({"what": "third"})
    assert [json.loads(line)["what"] for line in path.read_text().splitlines()] == ["third"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
