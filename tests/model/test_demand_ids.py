"""Derived demand ids are a lazy view: the same strings as one id per row, made on read."""

from __future__ import annotations

import numpy as np
import pytest

from nettwin import build_network
from nettwin.model.demands import DemandIds, DemandTable, build_demands_from_columns


def _strings(src: list[str], dst: list[str], cls: list[str]) -> list[str]:
    """The documented id format, written out row by row (the oracle)."""
    return [f"{s}->{d}" if c == "best-effort" else f"{s}->{d}:{c}"
            for s, d, c in zip(src, dst, cls, strict=True)]


def test_lazy_ids_read_like_one_string_per_row() -> None:
    nodes = [f"n{i}" for i in range(6)]
    rng = np.random.default_rng(0)
    src = rng.integers(0, 6, 40)
    dst = (src + rng.integers(1, 6, 40)) % 6
    cls = rng.integers(0, 2, 40).astype(np.int16)
    table = DemandTable(src.astype(np.int32), dst.astype(np.int32), np.ones(40), cls,
                        ("best-effort", "voice"))
    ids = DemandIds(table, nodes)
    expected = _strings([nodes[s] for s in src], [nodes[d] for d in dst],
                        [table.class_names[c] for c in cls])
    assert list(ids) == expected
    assert [ids[i] for i in range(40)] == expected
    assert ids[-1] == expected[-1] and ids[3:9] == expected[3:9]
    assert ids == tuple(expected) and tuple(expected) == ids and ids == expected
    assert ids != expected[:-1]
    assert all(ids.index(x) == expected.index(x) for x in expected)
    assert expected[5] in ids and "n0->n0" not in ids and 3 not in ids
    with pytest.raises(IndexError):
        ids[40]


def test_networks_with_derived_and_explicit_ids_are_equal() -> None:
    nodes = [{"id": n} for n in "abc"]
    links = [{"id": "l1", "a": "a", "b": "b", "capacity_bps": 1e9},
             {"id": "l2", "a": "b", "b": "c", "capacity_bps": 1e9}]
    records = [{"src": "a", "dst": "c", "rate_bps": 1e6}, {"src": "c", "dst": "b",
                                                             "rate_bps": 2e6}]
    explicit = build_network("n", nodes, links, records,
                             [{"id": "s", "demands": ["a->c"], "max_delay_s": 1.0}])
    table = DemandTable(explicit.demands.src, explicit.demands.dst, explicit.demands.rate_bps,
                        explicit.demands.class_index)
    derived = build_network("n", nodes, links, table,
                            [{"id": "s", "demands": ["a->c"], "max_delay_s": 1.0}])
    assert isinstance(derived.demand_ids, DemandIds)
    assert derived == explicit
    assert list(derived.demand_ids) == ["a->c", "c->b"]


@pytest.mark.parametrize("names", [["a", "b", "c"], ["a", "b:x", "b"], ["a->b", "a", "b"]])
def test_duplicate_ids_found_like_a_dictionary_of_strings(names: list[str]) -> None:
    index = {n: i for i, n in enumerate(names)}
    rng = np.random.default_rng(1)
    src = [names[i] for i in rng.integers(0, 3, 30)]
    dst = [names[(names.index(s) + 1 + int(rng.integers(0, 2))) % 3] for s in src]
    cls = [str(x) for x in rng.choice(["best-effort", "x", "b->x"], 30)]
    _, problems = build_demands_from_columns(src, dst, np.ones(30), index, traffic_class=cls)
    seen: dict[str, int] = {}
    expected = []
    for i, key in enumerate(_strings(src, dst, cls)):
        if key in seen:
            expected.append((key, seen[key] + 1))
        else:
            seen[key] = i
    got = [(p.value, int(p.fix.split("#")[1].split()[0])) for p in problems
           if p.message == "duplicate demand id"]
    assert got == expected and expected
