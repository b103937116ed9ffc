"""engine.simulate: the per-service SLA report against a brute-force loop over services."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nettwin.engine import compile_network
from nettwin.engine.simulate import service_report
from nettwin.examples import example_path
from nettwin.io import load_network


@pytest.mark.parametrize("seed", range(5))
def test_service_report_equals_a_loop_over_services(seed: int) -> None:
    rng = np.random.default_rng(seed)
    net = compile_network(load_network(example_path()))
    k = net.n_demands
    n_services = 40
    sizes = rng.integers(0, 12, n_services)
    sizes[::9] = 0  # services without demands
    ptr = np.zeros(n_services + 1, np.int64)
    np.cumsum(sizes, out=ptr[1:])
    members = rng.integers(0, k, ptr[-1])
    net = dataclasses.replace(
        net, service_ids=tuple(f"s{i}" for i in range(n_services)), service_ptr=ptr,
        service_demand=members, service_max_delay_s=rng.uniform(0.0, 0.05, n_services),
        service_max_loss=rng.uniform(0.0, 0.02, n_services))
    worst = rng.uniform(0.0, 0.06, k)
    loss = rng.uniform(0.0, 0.03, k)
    routed = rng.uniform(size=k) > 0.2
    routed[members[ptr[1]:ptr[2]]] = False  # a service none of whose demands is routed
    report = service_report(net, worst, loss, routed)
    for i in range(n_services):
        mine = members[ptr[i]:ptr[i + 1]]
        ok = routed[mine]
        assert report.unroutable_demands[i] == int((~ok).sum())
        assert report.worst_delay_s[i] == (worst[mine][ok].max() if ok.any() else np.inf)
        assert report.worst_loss[i] == (loss[mine].max() if mine.size else 0.0)
        assert report.violated[i] == bool(
            report.worst_delay_s[i] > net.service_max_delay_s[i]
            or report.worst_loss[i] > net.service_max_loss[i] or (~ok).any())
