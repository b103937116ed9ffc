"""The Kubernetes manifests and the Keycloak realm, checked against what they must agree with:
the Kubernetes API schemas (kubernetes-validate, strict), the security rules the manifests
promise, the service's settings and command-line options, and the API's token verifier."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import kubernetes_validate
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from nettwin.api import Settings, create_app
from nettwin.api.auth import Role

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("dev", "prod")
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    """The overlay as `kubectl kustomize` renders it (kubectl ships kustomize)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("NETTWIN_ALLOW_MISSING_TOOLS"):
            pytest.skip("kubectl not installed (NETTWIN_ALLOW_MISSING_TOOLS set)")
        pytest.fail("kubectl (with its built-in kustomize) is needed to render deploy/k8s; "
                    "install it or set NETTWIN_ALLOW_MISSING_TOOLS=1")
    out = subprocess.run([kubectl, "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay)],
                         check=True, capture_output=True, text=True).stdout
    return tuple(d for d in yaml.safe_load_all(out) if d)


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(doc["spec"]["template"]["spec"])


def name_of(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_matches_the_kubernetes_schema(overlay: str) -> None:
    version = kubernetes_validate.latest_version()
    docs = rendered(overlay)
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "StatefulSet", "Service", "HorizontalPodAutoscaler",
            "PodDisruptionBudget", "NetworkPolicy", "ConfigMap"} <= kinds
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)
    # The validator is strict: a misspelt field in the same objects is refused.
    api = next(d for d in docs if d["metadata"]["name"] == "nettwin-api"
               and d["kind"] == "Deployment")
    wrong = json.loads(json.dumps(api))
    wrong["spec"]["replicaz"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, version, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_locked_down(overlay: str) -> None:
    for doc in rendered(overlay):
        if doc["kind"] not in WORKLOADS:
            continue
        spec = pod_spec(doc)
        assert spec.get("automountServiceAccountToken") is False, name_of(doc)
        assert spec["securityContext"]["runAsNonRoot"] is True, name_of(doc)
        for c in spec["containers"]:
            where = f"{name_of(doc)} container {c['name']}"
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True and sc["runAsUser"] > 0, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            assert sc["seccompProfile"]["type"] == "RuntimeDefault", where
            assert {"cpu", "memory"} <= c["resources"]["limits"].keys(), where
            assert {"cpu", "memory"} <= c["resources"]["requests"].keys(), where
            if doc["metadata"]["name"].startswith("nettwin-") and c["image"].find("nettwin") >= 0:
                assert sc["runAsUser"] == 10001, where  # the image's own user


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_api_probes_and_scaling(overlay: str) -> None:
    docs = {name_of(d): d for d in rendered(overlay)}
    api = docs["Deployment/nettwin-api"]
    c = pod_spec(api)["containers"][0]
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    hpa = docs["HorizontalPodAutoscaler/nettwin-api"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "nettwin-api"
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    pdb = docs["PodDisruptionBudget/nettwin-api"]
    assert pdb["spec"]["selector"]["matchLabels"] == api["spec"]["selector"]["matchLabels"]
    scrape = api["spec"]["template"]["metadata"]["annotations"]
    assert scrape["prometheus.io/scrape"] == "true" and scrape["prometheus.io/path"] == "/metrics"


def _selected(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    want = policy["spec"]["podSelector"].get("matchLabels", {})
    return all(labels.get(k) == v for k, v in want.items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_expose_only_the_api(overlay: str) -> None:
    """Default deny; of the workloads, only the API accepts traffic from any source, and the
    telemetry bus only from labelled producers."""
    docs = rendered(overlay)
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    deny = [p for p in policies if p["spec"]["podSelector"] == {}
            and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    assert deny, "no default-deny policy"
    for doc in docs:
        if doc["kind"] not in WORKLOADS:
            continue
        labels = doc["spec"]["template"]["metadata"]["labels"]
        role = labels.get("nettwin.io/role")
        open_rules = [rule for p in policies if _selected(p, labels)
                      for rule in p["spec"].get("ingress", []) if not rule.get("from")]
        if role == "api":
            assert [r["ports"] for r in open_rules] == [[{"port": 8080, "protocol": "TCP"}]]
        else:
            assert not open_rules, f"{name_of(doc)} accepts traffic from anywhere"
        for p in policies:
            if not _selected(p, labels):
                continue
            for rule in p["spec"].get("ingress", []):
                for peer in rule.get("from", []):
                    if "namespaceSelector" in peer:  # another namespace: producers only
                        assert role == "nats", name_of(doc)
                        assert peer["podSelector"]["matchLabels"] == {
                            "nettwin.io/telemetry-producer": "true"}
    exposed = [d for d in docs if d["kind"] == "Ingress"
               or (d["kind"] == "Service" and d["spec"].get("type") in ("LoadBalancer",
                                                                         "NodePort"))]
    for d in exposed:
        backends = {p["backend"]["service"]["name"] for r in d["spec"]["rules"]
                    for p in r["http"]["paths"]} if d["kind"] == "Ingress" else {
            d["metadata"]["name"]}
        assert backends == {"nettwin-api"}, name_of(d)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_in_manifests_are_real_settings(overlay: str) -> None:
    fields = {f"NETTWIN_{name.upper()}" for name in Settings.model_fields}
    for doc in rendered(overlay):
        names: list[str] = []
        if doc["kind"] == "ConfigMap":
            names = list(doc.get("data", {}))
        elif doc["kind"] in WORKLOADS:
            names = [e["name"] for c in pod_spec(doc)["containers"] for e in c.get("env", [])]
        for name in names:
            if name.startswith("NETTWIN_"):
                assert name in fields, f"{name_of(doc)} sets {name}, not a nettwin setting"


def _help(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True,
                          env=os.environ | {"COLUMNS": "200"}).stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_commands_use_options_that_exist(overlay: str) -> None:
    """Every --option the manifests pass exists in the command they run."""
    bin_dir = Path(sys.executable).parent
    for doc in rendered(overlay):
        if doc["kind"] not in WORKLOADS:
            continue
        for c in pod_spec(doc)["containers"]:
            if "nettwin" not in c["image"]:
                continue
            program = (c.get("command") or ["", "", "/opt/nettwin/bin/nettwin"])[-1]
            args = c.get("args", [])
            if program.endswith("/nettwin"):
                sub = [] if not c.get("command") else [args[0]]
                text = _help(str(bin_dir / "nettwin"), *(sub or ["serve"]), "--help")
            else:
                text = _help(str(bin_dir / "dask"), args[0], "--help")
            for arg in args:
                if arg.startswith("--"):
                    assert arg in text, f"{name_of(doc)}: {program} has no option {arg}"


# --- Keycloak realm -------------------------------------------------------------------------

def _realm() -> dict[str, Any]:
    return dict(json.loads((DEPLOY / "keycloak" / "nettwin-realm.json").read_text()))


def test_realm_roles_are_the_service_roles() -> None:
    roles = {r["name"] for r in _realm()["roles"]["realm"]}
    assert roles == {r.name.lower() for r in Role}


@pytest.fixture
def jwks() -> Iterator[tuple[rsa.RSAPrivateKey, str]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [public | {"kid": "realm", "use": "sig", "alg": "RS256"}]})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield key, f"http://127.0.0.1:{server.server_address[1]}/certs"
    finally:
        server.shutdown()
        server.server_close()


def _claims_from_mappers(client: dict[str, Any], roles: list[str]) -> dict[str, Any]:
    """The access-token claims Keycloak builds for this client from its protocol mappers."""
    claims: dict[str, Any] = {}
    for mapper in client["protocolMappers"]:
        cfg = mapper["config"]
        if cfg.get("access.token.claim") != "true":
            continue
        if mapper["protocolMapper"] == "oidc-usermodel-realm-role-mapper":
            *parents, leaf = cfg["claim.name"].split(".")
            node = claims
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = roles
        elif mapper["protocolMapper"] == "oidc-audience-mapper":
            claims["aud"] = cfg["included.client.audience"]
        elif mapper["protocolMapper"] == "oidc-usermodel-property-mapper":
            claims[cfg["claim.name"]] = "service-account-nettwin-agent"
    return claims


def test_realm_tokens_are_accepted_with_the_prod_settings(jwks, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A token shaped by the realm's mappers for the agent's service account is verified by
    the API configured with the prod overlay's OIDC settings, with the account's role."""
    key, url = jwks
    config = next(d for d in rendered("prod") if d["kind"] == "ConfigMap"
                  and d["metadata"]["name"] == "nettwin-config")["data"]
    realm = _realm()
    agent = next(c for c in realm["clients"] if c["clientId"] == "nettwin-agent")
    account = next(u for u in realm["users"] if u.get("serviceAccountClientId") == "nettwin-agent")
    issuer = config["NETTWIN_OIDC_ISSUER"]
    assert issuer.endswith(f"/realms/{realm['realm']}")
    now = int(time.time())
    claims = {"iss": issuer, "sub": "f3b1c2", "azp": "nettwin-agent", "iat": now,
              "exp": now + 300} | _claims_from_mappers(agent, account["realmRoles"])
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "realm"})
    settings = Settings(data_dir=tmp_path, oidc_issuer=issuer, oidc_jwks_url=url,
                        oidc_audience=config["NETTWIN_OIDC_AUDIENCE"],
                        oidc_roles_claim=config["NETTWIN_OIDC_ROLES_CLAIM"])
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings)) as client:
        assert client.post("/api/v1/networks/example/simulate", json={},
                           headers=headers).status_code == 200  # planner may simulate
        assert client.delete("/api/v1/networks/example",
                             headers=headers).status_code == 403  # but is no admin
        other = jwt.encode(claims | {"aud": "another-client"}, key, algorithm="RS256",
                           headers={"kid": "realm"})
        assert client.post("/api/v1/networks/example/simulate", json={},
                           headers={"Authorization": f"Bearer {other}"}).status_code == 401
