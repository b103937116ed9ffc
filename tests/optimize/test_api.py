"""The public face of nettwin.optimize: pinned, frozen results carrying the out.json keys."""

from __future__ import annotations

import dataclasses

import pytest

import nettwin.optimize as opt

from .conftest import ring_network

KEYS = ("mlu", "mlu_before", "mlu_lower_bound", "ratio", "weights", "changed_links", "steps",
        "seconds", "evaluations")


def test_public_api_is_pinned() -> None:
    assert sorted(opt.__all__) == sorted([
        "Bound", "BoundMethod", "Objective", "PathsResult", "Survive", "WeightsResult",
        "apply_metrics", "mcf_bound", "optimize_paths", "optimize_weights", "paths", "weights"])
    assert opt.weights is opt.optimize_weights and opt.paths is opt.optimize_paths


def test_results_are_frozen_and_carry_the_document_fields() -> None:
    network = ring_network(3, 7, 4, uniform=True)
    for res in (opt.weights(network, iterations=5), opt.paths(network, time_limit_s=1.0)):
        doc = res.to_document()
        for key in KEYS:
            assert hasattr(res, key)
            assert getattr(res, key) == doc[key]
        with pytest.raises(dataclasses.FrozenInstanceError):
            res.mlu = 0.0  # type: ignore[misc]
