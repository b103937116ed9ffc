"""A network upload may carry the network's real IGP metrics (the ``metrics`` part, the
layouts of the CLI's --metrics FILE). Oracle: the metrics reader of ``nettwin.io`` on the same
two files, for the metrics applied, the notes and every problem of a bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nettwin.api import Role
from nettwin.errors import ValidationError
from nettwin.io import load_network
from nettwin.io.metrics import apply_metrics_file
from tests.conftest import data_path, random_metrics_csv

ABILENE = data_path("sndlib", "xml", "abilene.xml")


def _metrics_csv(tmp_path: Path) -> Path:
    return random_metrics_csv(load_network(ABILENE), tmp_path / "igp.csv", seed=11)


def _files(metrics: Path | None = None, text: str | None = None,
           name: str = "igp.csv") -> dict:
    files = {"file": ("abilene.xml", ABILENE.read_bytes())}
    if metrics is not None:
        files["metrics"] = (metrics.name, metrics.read_bytes())
    if text is not None:
        files["metrics"] = (name, text.encode())
    return files


def _network_notes(doc: dict) -> list[str]:
    """The network's own notes (not the service's note that it kept the SNDlib modules)."""
    return [n for n in doc["notes"] if not n.startswith("capacity modules")]


def test_an_upload_with_metrics_routes_on_them(role_api, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, headers = role_api
    path = _metrics_csv(tmp_path)
    r = client.post("/api/v1/networks", headers=headers[Role.ADMIN], files=_files(path))
    assert r.status_code == 201, r.text
    want = apply_metrics_file(load_network(ABILENE), path)
    assert _network_notes(r.json()) == [str(n) for n in want.notes]
    exported = tmp_path / "exported.json"
    exported.write_bytes(client.get(f"/api/v1/networks/{r.json()['id']}/export",
                                    headers=headers[Role.VIEWER]).content)
    got = {k: (lk.metric_ab, lk.metric_ba) for k, lk in load_network(exported).links.items()}
    assert got == {k: (lk.metric_ab, lk.metric_ba) for k, lk in want.links.items()}
    plain = load_network(ABILENE)
    assert got != {k: (lk.metric_ab, lk.metric_ba) for k, lk in plain.links.items()}
    # validation takes the same part
    v = client.post("/api/v1/networks:validate", headers=headers[Role.PLANNER],
                    files=_files(path))
    assert v.status_code == 200, v.text
    assert _network_notes(v.json()) == [str(n) for n in want.notes]


@pytest.mark.parametrize("text", [
    "link,metric\nno-such-link,10\n",  # unknown link (with the CLI's hint)
    "link,metric_ab,metric_ba\nATLAM5_ATLAng,0,7\n",  # metric out of range
    "src,dst,metric\nATLAM5,ATLAng,5\nATLAM5,ATLAng,6\n",  # a direction given twice
])
def test_bad_metrics_are_422_with_the_readers_problems(role_api, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                       text: str) -> None:
    client, headers = role_api
    path = tmp_path / "igp.csv"
    path.write_text(text)
    with pytest.raises(ValidationError) as info:
        apply_metrics_file(load_network(ABILENE), path)
    want = [{"element": p.element, "message": p.message, "fix": p.fix} for p in
            info.value.problems]
    before = client.get("/api/v1/networks", headers=headers[Role.VIEWER]).json()
    r = client.post("/api/v1/networks", headers=headers[Role.ADMIN], files=_files(path))
    assert r.status_code == 422, r.text
    got = [{k: p[k] for k in ("element", "message", "fix")} for p in r.json()["problems"]]
    assert got == want and all(p["fix"] for p in got)
    assert client.get("/api/v1/networks", headers=headers[Role.VIEWER]).json() == before


def test_unreadable_metrics_name_the_part_not_the_server_path(role_api) -> None:  # type: ignore[no-untyped-def]
    client, headers = role_api
    r = client.post("/api/v1/networks", headers=headers[Role.ADMIN],
                    files=_files(text="link,metric\n", name="only-header.csv"))
    assert r.status_code == 422, r.text
    message = json.dumps(r.json())
    assert "only-header.csv" in message and "nettwin-upload" not in message
    assert "one row per link" in message
    r = client.post("/api/v1/networks", headers=headers[Role.ADMIN],
                    files=_files(text="link,metric\n", name="../igp.csv"))
    assert r.status_code == 400 and "folder separator" in r.json()["detail"]
