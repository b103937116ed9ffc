"""Hostile API bodies: what-if changes with absurd values, observations nested without end,
integers beyond any range. Every answer is a 4xx naming the field, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.scenarios import changes as changes_module
from tests.io.test_hostile_input import value_mutations

# the documented example of every change kind (the module's docstring), mutated below
EXAMPLE = yaml.safe_load((changes_module.__doc__ or "").split("::", 1)[1])


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path_factory.mktemp("api"))
    token = TokenStore(settings.tokens_file).create("planner", Role.ADMIN)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def test_the_example_scenario_runs(client: TestClient) -> None:
    """The oracle of the fuzz below: unmutated, the documented example is accepted."""
    r = client.post("/api/v1/networks/example/whatif", json=EXAMPLE)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("change", "words"), [
    ('{"set_metric": {"link": "New-York--Chicago", "metric": ' + "9" * 400 + "}}",
     ("field 'metric'", "expected a finite number", "400 digits")),
    ('{"set_capacity": {"link": "New-York--Chicago", "capacity_bps": NaN}}',
     ("field 'capacity_bps'", "expected a finite number")),
    ('{"scale_traffic": {"factor": Infinity}}', ("field 'factor'", "expected a finite number")),
    ('{"surge": {"sources": ["Seattle"], "target": "Atlanta", "rate_bps": true}}',
     ("field 'rate_bps'",)),
])
def test_absurd_what_if_values_are_422(client: TestClient, change: str,
                                       words: tuple[str, ...]) -> None:
    r = client.post("/api/v1/networks/example/whatif", content=f'{{"changes": [{change}]}}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    for word in words:
        assert word in r.text


def test_a_nan_in_a_validated_field_is_422_not_500(client: TestClient) -> None:
    """FastAPI echoes bad input; a NaN echoed as JSON was a 500."""
    r = client.post("/api/v1/networks/example/whatif", content='{"name": NaN, "changes": []}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert {"loc": ["body", "name"], "input": "nan"}.items() <= detail[0].items()


@pytest.mark.parametrize("body", ['{"items": [' + "[" * 100_000 + "]" * 100_000 + "]}",
                                  '{"items": [{"time": ' + "9" * 5000 + "}]}"])
def test_unparseable_bodies_are_client_errors(client: TestClient, body: str) -> None:
    r = client.post("/api/v1/networks/example/observations", content=body,
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text


@settings(max_examples=60, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(doc=value_mutations(EXAMPLE))
def test_fuzz_what_if_bodies(client: TestClient, doc: Any) -> None:
    try:
        body = json.dumps(doc, allow_nan=True)
    except ValueError:
        return
    r = client.post("/api/v1/networks/example/whatif", content=body,
                    headers={"Content-Type": "application/json"})
    assert r.status_code in (200, 400, 404, 409, 422), (r.status_code, r.text[:300])
    if r.status_code == 422:
        assert r.json().get("message") or r.json().get("detail")


