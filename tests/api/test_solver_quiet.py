"""API jobs that run HiGHS (capacity MILP, the weights job's multicommodity-flow LP) print
nothing of the solver's to the service's stdout/stderr (captured at the file descriptors,
where HiGHS's C++ writes), and the solver's status stays in the job's result."""

from __future__ import annotations

from typing import Any

from nettwin.api import Role
from tests.conftest import wait_job

NETS = "/api/v1/networks"
MODULES = {"default": {"modules": [{"name": "10G", "capacity_bps": 10e9, "cost": 100},
                                   {"name": "40G", "capacity_bps": 40e9, "cost": 300}]}}
SOLVER_WORDS = ("HiGHS", "Presolv", "Coefficient ranges", "Solving report", "MIP has")


def test_solver_jobs_are_quiet_and_keep_the_solver_status(role_api: Any, capfd: Any) -> None:
    client, h = role_api
    capfd.readouterr()  # the service's start
    jobs = {"capacity": {"modules": MODULES, "threshold": 0.5, "survive": "n-1"},
            "weights": {"time_limit_s": 2}}
    results = {}
    for kind, body in jobs.items():
        r = client.post(f"{NETS}/example/optimize/{kind}", headers=h[Role.PLANNER], json=body)
        assert r.status_code == 202, r.text
        status = wait_job(client, r.json()["id"], h[Role.VIEWER], timeout_s=300)
        assert status["state"] == "done", status
        results[kind] = client.get(f"/api/v1/jobs/{status['id']}/result",
                                   headers=h[Role.VIEWER]).json()["document"]
    out, err = capfd.readouterr()
    printed = [ln for ln in (out + err).splitlines() if any(w in ln for w in SOLVER_WORDS)]
    assert printed == []
    assert results["capacity"]["status"] in ("optimal", "time limit")
    assert results["weights"]["lower_bound_method"] in ("mcf-lp", "mcf-aggregated", "cut")
