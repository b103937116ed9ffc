"""Which nodes' shortest-path DAGs toward a destination use some of a set of arcs.

A failure changes the paths of a demand only when its source's ECMP DAG toward the
destination uses a failed arc (a DAG without one keeps every distance and next hop), and
then always: the failed arc's share of the traffic drops to zero. So the demands a failure
reroutes or cuts off are those whose sources this finds, without routing anything again.

Every kernel here takes arrays only and releases the GIL (``nogil``): concurrent what-ifs
in a server's threads run on separate cores.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def link_components(n: int, arc_ok: np.ndarray, arc_src: np.ndarray,
                    arc_dst: np.ndarray) -> np.ndarray:
    """A component label per node: equal exactly when the arcs up join the two nodes,
    ignoring direction (union-find)."""
    parent = np.arange(n)
    for a in range(arc_src.shape[0]):
        if not arc_ok[a]:
            continue
        x, y = arc_src[a], arc_dst[a]
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        while parent[y] != y:
            parent[y] = parent[parent[y]]
            y = parent[y]
        if x != y:
            parent[max(x, y)] = min(x, y)
    for v in range(n):  # roots have the smallest number of their tree: one pass suffices
        parent[v] = parent[parent[v]]
    return parent


# ``sorted_and_routed``'s flags: a destination's demands read one by one, looked up by the
# marked sources, or found at once (one from every other node, in source order)
READ_ALL, BY_SOURCE, ONE_PER_SOURCE = 0, 1, 2


@njit(cache=True, nogil=True)
def sorted_and_routed(dest_ptr: np.ndarray, dest_demand: np.ndarray, demand_src: np.ndarray,
                      demand_dst: np.ndarray, routed: np.ndarray) -> np.ndarray:
    """Per destination (int8): ``BY_SOURCE`` when its demands come by source
    (non-decreasing) and all are routed, so ``failure_outcome`` may look up the marked
    sources instead of reading every demand; ``ONE_PER_SOURCE`` when, moreover, the i-th
    comes from node i, or i + 1 from the destination's own number on (one from every node
    up to some number, but the destination: a full matrix), so the demand from a source is
    found at its position with no search; else ``READ_ALL``."""
    n_dest = dest_ptr.shape[0] - 1
    ok = np.full(n_dest, READ_ALL, np.int8)
    for j in range(n_dest):
        lo, hi = dest_ptr[j], dest_ptr[j + 1]
        flag = ONE_PER_SOURCE if hi > lo else BY_SOURCE
        t = demand_dst[dest_demand[lo]] if hi > lo else -1
        for k in range(lo, hi):
            d = dest_demand[k]
            if not routed[d] or (k > lo and demand_src[dest_demand[k - 1]] > demand_src[d]):
                flag = READ_ALL
                break
            i = k - lo
            if demand_src[d] != (i + 1 if i >= t else i):
                flag = BY_SOURCE
        ok[j] = flag
    return ok


@njit(cache=True, nogil=True, inline="always")
def _on_dag(bits: np.ndarray, q: int) -> bool:
    """Whether out-CSR position ``q`` is set in the DAG bitset ``bits``."""
    on: bool = ((bits[q >> 6] >> np.uint64(q & 63)) & np.uint64(1)) != np.uint64(0)
    return on


@njit(cache=True, nogil=True)
def _mark_one_dag(fail_pos: np.ndarray, fail_tail: np.ndarray, bits: np.ndarray,
                  in_ptr: np.ndarray, in_src: np.ndarray, in_out: np.ndarray,
                  mark: np.ndarray, stack: np.ndarray, found: np.ndarray) -> int:
    """Mark the nodes whose DAG toward the destination uses one of the failed arcs; they are
    also listed in ``found`` (returns how many). Read from the destination's DAG bitset
    (``route``'s ``dag_bits``, over out-CSR positions) instead of its distances: the bitset
    row is a few cache lines where the distances are one line per node looked at.
    ``fail_pos``/``fail_tail``: the failed arcs' out-CSR positions and tails; ``in_out``: the
    out-CSR position of each in-CSR arc."""
    top = 0
    n_found = 0
    for f in range(fail_pos.shape[0]):
        u = fail_tail[f]
        if _on_dag(bits, fail_pos[f]) and not mark[u]:
            mark[u] = True
            stack[top] = u
            top += 1
            found[n_found] = u
            n_found += 1
    while top > 0:
        top -= 1
        x = stack[top]
        for q in range(in_ptr[x], in_ptr[x + 1]):
            z = in_src[q]
            if not mark[z] and _on_dag(bits, in_out[q]):
                mark[z] = True
                stack[top] = z
                top += 1
                found[n_found] = z
                n_found += 1
    return n_found


@njit(cache=True, nogil=True, inline="always")
def _first_from(s: int, lo: int, hi: int, dest_demand: np.ndarray,
                demand_src: np.ndarray) -> int:
    """The first position in ``lo:hi`` (demands by non-decreasing source) whose source is
    not below ``s``. A destination with one demand from every other node (a full matrix)
    has it at ``lo + s`` or ``lo + s - 1``: tried first, then a binary search."""
    for g in (lo + s - 1, lo + s):
        if lo <= g < hi and demand_src[dest_demand[g]] == s and (
                g == lo or demand_src[dest_demand[g - 1]] < s):
            return g
    a, b = lo, hi
    while a < b:
        mid = (a + b) >> 1
        if demand_src[dest_demand[mid]] < s:
            a = mid + 1
        else:
            b = mid
    return a


@njit(cache=True, nogil=True)
def failure_outcome(fail_pos: np.ndarray, fail_tail: np.ndarray, dests: np.ndarray,
                    bits_all: np.ndarray, in_ptr: np.ndarray, in_src: np.ndarray,
                    in_out: np.ndarray, dest_ptr: np.ndarray, dest_demand: np.ndarray,
                    demand_src: np.ndarray, demand_dst: np.ndarray, comp: np.ndarray,
                    was_routed: np.ndarray,
                    by_source: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The demands toward destination rows ``dests`` that failing the arcs at out-CSR
    positions ``fail_pos`` (tails ``fail_tail``) reroutes, cuts off and restores (demand
    numbers, as met). A demand's paths change exactly when its source's DAG (``bits_all``,
    the baseline's DAG bitsets) uses a failed arc (``_mark_one_dag``); it stays routed when
    it did not, or when ``comp`` (labels of the links left up, up in both directions or
    neither) still joins its source and destination. Destinations flagged in ``by_source``
    (``sorted_and_routed``) have only their marked sources' demands looked up (at their
    position, with ``ONE_PER_SOURCE``: on the 1,000-node benchmark network's full matrix the
    look-ups, ~3,700 rerouted demands a what-if, were 3/4 of this kernel)."""
    n = comp.shape[0]
    total = 0
    for i in range(dests.shape[0]):
        total += dest_ptr[dests[i] + 1] - dest_ptr[dests[i]]
    rerouted = np.empty(total, np.int64)
    lost = np.empty(total, np.int64)
    restored = np.empty(total, np.int64)
    n_re = n_lost = n_back = 0
    mark = np.zeros(n, np.bool_)
    stack = np.empty(n, np.int64)
    found = np.empty(n, np.int64)
    for i in range(dests.shape[0]):
        j = dests[i]
        lo, hi = dest_ptr[j], dest_ptr[j + 1]
        if lo == hi:
            continue
        n_found = _mark_one_dag(fail_pos, fail_tail, bits_all[j], in_ptr, in_src, in_out,
                                mark, stack, found)
        t = demand_dst[dest_demand[lo]]  # every demand toward row j goes to node t
        if by_source[j] == ONE_PER_SOURCE:  # the demand from s at its position
            for f in range(n_found):
                s = found[f]
                k = lo + s - 1 if s > t else lo + s
                if s == t or k >= hi:
                    continue
                if comp[s] == comp[t]:
                    rerouted[n_re] = dest_demand[k]
                    n_re += 1
                else:
                    lost[n_lost] = dest_demand[k]
                    n_lost += 1
        elif by_source[j]:  # every demand routed before: only marked sources change
            for f in range(n_found):
                s = found[f]
                k = _first_from(s, lo, hi, dest_demand, demand_src)
                while k < hi and demand_src[dest_demand[k]] == s:
                    d = dest_demand[k]
                    if comp[s] == comp[t]:
                        rerouted[n_re] = d
                        n_re += 1
                    else:
                        lost[n_lost] = d
                        n_lost += 1
                    k += 1
        else:
            for k in range(lo, hi):
                d = dest_demand[k]
                s = demand_src[d]
                uses = mark[s]
                # a failure changes nothing for a demand whose DAG it misses (routed or not)
                now = comp[s] == comp[t] if uses else was_routed[d]
                was = was_routed[d]
                if was and not now:
                    lost[n_lost] = d
                    n_lost += 1
                elif now and not was:
                    restored[n_back] = d
                    n_back += 1
                elif was and uses:
                    rerouted[n_re] = d
                    n_re += 1
        for f in range(n_found):
            mark[found[f]] = False
    return rerouted[:n_re], lost[:n_lost], restored[:n_back]
