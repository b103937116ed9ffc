"""The repair's priority queue against Python's heapq (the loads themselves are held to full
recomputations in tests/scenarios/test_sweep_exact.py)."""

from __future__ import annotations

import heapq

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nettwin.engine.destination_repair import _pq_pop, _pq_push

# a push (key) or a pop (None), in any interleaving
OPS = st.lists(st.one_of(st.integers(-(2**62), 2**62), st.none()), max_size=300)


@settings(deadline=None)
@given(OPS)
def test_pops_come_in_key_order_with_their_values(ops: list[int | None]) -> None:
    keys = np.empty(len(ops) + 1, np.int64)
    vals = np.empty(len(ops) + 1, np.int32)
    size = 0
    oracle: list[tuple[int, int]] = []
    for i, key in enumerate(ops):
        if key is not None:
            size = _pq_push(keys, vals, size, key, i)
            heapq.heappush(oracle, (key, i))
        elif oracle:
            got_key, got_val, size = _pq_pop(keys, vals, size)
            want_key, _ = heapq.heappop(oracle)
            assert got_key == want_key
            assert ops[got_val] == got_key  # the value pushed with that key
        assert size == len(oracle)
    while oracle:
        got_key, _, size = _pq_pop(keys, vals, size)
        assert got_key == heapq.heappop(oracle)[0]
    assert size == 0
