"""Uploads under attack: hostile file names, alias bombs, size and element limits, and a
slow parse that must not stall the event loop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.api.uploads import check_upload_name
from nettwin.examples import example_path
from nettwin.io import load_network
from tests.api.conftest import running_server

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@pytest.fixture
def api(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, max_upload_bytes=2 * 2**20, load_example=False,
                        max_upload_elements=400)
    token = TokenStore(settings.tokens_file).create("admin", Role.ADMIN)
    with TestClient(create_app(settings)) as client:
        yield client, {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("name", "why"), [
    ("..", "'.' or '..'"), (".", "'.' or '..'"), ("/", "folder separator"),
    ("../../etc/passwd.yaml", "folder separator"), ("a\\b.yaml", "folder separator"),
    ("net\x00.yaml", "control characters"), ("x" * 300 + ".yaml", "longer than 255 bytes"),
    ("   ", "empty"),
])
def test_hostile_file_names_are_400(api, name: str, why: str) -> None:  # type: ignore[no-untyped-def]
    client, auth = api
    # a raw multipart body: httpx would percent-encode the NUL a hostile client sends as is
    boundary = "nettwin-test-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode("utf-8", "surrogatepass") + example_path().read_bytes() + \
        f"\r\n--{boundary}--\r\n".encode()
    r = client.post("/api/v1/networks", content=body, headers=auth | {
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 400, r.text
    assert why in r.json()["detail"]
    with pytest.raises(Exception) as info:
        check_upload_name(name)
    assert getattr(info.value, "status_code", None) == 400


def test_a_plain_name_with_dots_and_unicode_loads(api) -> None:  # type: ignore[no-untyped-def]
    client, auth = api
    r = client.post("/api/v1/networks", headers=auth,
                    files={"file": ("réseau.v2.yaml", example_path().read_bytes())})
    assert r.status_code == 201, r.text
    assert r.json()["nodes"] == len(load_network(example_path()).nodes)


@pytest.mark.parametrize(("name", "words"), [
    ("alias-bomb-attributes.yaml", ("alias bomb", "alias-bomb-attributes.yaml:6", "400 elements")),
    ("deep.json", ("nested too deeply",)),
    ("int-digits.yaml", ("4300 digits",)),
    ("negative-index.graph", ("edge e1", "'-1'")),
])
def test_hostile_documents_are_422_naming_the_upload(api, name: str,  # type: ignore[no-untyped-def]
                                                     words: tuple[str, ...]) -> None:
    client, auth = api
    r = client.post("/api/v1/networks", headers=auth,
                    files={"file": (name, (CORPUS / name).read_bytes())})
    assert r.status_code == 422, r.text
    message = r.json()["message"]
    for word in words:
        assert word in message
    assert "nettwin-upload-" not in message and "/tmp" not in message


def test_element_limit_is_413(api) -> None:  # type: ignore[no-untyped-def]
    """Abilene holds 12 nodes, 15 links and 132 demands: within 400 elements; 30 copies of
    its node list are not."""
    client, auth = api
    doc = yaml.safe_load(example_path().read_text())
    r = client.post("/api/v1/networks", headers=auth,
                    files={"file": ("ok.yaml", yaml.safe_dump(doc).encode())})
    assert r.status_code == 201, r.text
    doc["nodes"] = doc["nodes"] + [{"id": f"x{i}"} for i in range(400)]
    r = client.post("/api/v1/networks", headers=auth,
                    files={"file": ("big.yaml", yaml.safe_dump(doc).encode())})
    assert r.status_code == 413, r.text
    assert r.json()["detail"].startswith("big.yaml: ")
    assert "more than 400" in r.json()["detail"]


def test_declared_body_over_the_limit_is_413_before_reading(api) -> None:  # type: ignore[no-untyped-def]
    client, auth = api
    r = client.post("/api/v1/networks", headers=auth,
                    files={"file": ("big.yaml", b"x" * (3 * 2**20))})
    assert r.status_code == 413


def _big_network_yaml(n: int) -> bytes:
    nodes = [{"id": f"n{i}", "attributes": {"site": f"s{i}", "rack": i}} for i in range(n)]
    links = [{"id": f"l{i}", "a": f"n{i}", "b": f"n{(i + 1) % n}", "capacity_ab_bps": 1e9,
              "metric_ab": 1 + i % 7} for i in range(n)]
    return yaml.safe_dump({"name": "big", "nodes": nodes, "links": links}).encode()


def test_a_slow_upload_parse_does_not_stall_health_checks(tmp_path: Path) -> None:
    """While a large YAML upload is being parsed, /healthz answers: the parse runs in a
    worker thread, not on the event loop."""
    settings = Settings(data_dir=tmp_path, load_example=False)
    token = TokenStore(settings.tokens_file).create("admin", Role.ADMIN)
    body = _big_network_yaml(3_000)
    with running_server(create_app(settings)) as port:
        base = f"http://127.0.0.1:{port}"
        done = threading.Event()
        status: list[int] = []

        def upload() -> None:
            r = httpx.post(f"{base}/api/v1/networks", timeout=300,
                           headers={"Authorization": f"Bearer {token}"},
                           files={"file": ("big.yaml", body)})
            status.append(r.status_code)
            done.set()

        worker = threading.Thread(target=upload)
        worker.start()
        answered_during_parse = 0
        while not done.is_set():
            r = httpx.get(f"{base}/healthz", timeout=300)
            assert r.status_code == 200
            if not done.is_set():
                answered_during_parse += 1
            time.sleep(0.05)
        worker.join()
    assert status == [201]
    assert answered_during_parse >= 3
