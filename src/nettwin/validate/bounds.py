"""Failures a survival check need not sweep: bounded below the worst one, exactly.

When arcs fail, only traffic that crossed them moves (a node whose shortest paths avoid
them keeps its distance and next hops; one that loses a next hop shifts onto the others
only the share that went that way), and each unit of moved traffic crosses any arc at most
once. So no arc gains more than the failed arcs carried, and after failure set F

    max utilisation <= max over arcs a of (load_a + sum of F's loads) / capacity_a,

a bound that takes the heaviest-loaded arc of each capacity only. A failure that also
leaves the ends of every failed link joined (no traffic cut off), whose bound stays at or
below the overload line and below the worst utilisation an evaluated failure reaches, can
change no verdict: it is not overloaded, loses nothing, and is not the worst.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from nettwin.engine.failure_sets import pack_sets
from nettwin.engine.incremental import Baseline

MARGIN = 1e-9  # relative: the sweep's float sums may exceed the exact bound by rounding


def utilisation_bounds(base: Baseline, sets: list[np.ndarray]) -> np.ndarray:
    """Per failure set, an upper bound on the highest arc utilisation after it."""
    load, cap = base.load_bps, base.net.arc_capacity_bps
    order = np.argsort(cap, kind="stable")
    caps, first = np.unique(cap[order], return_index=True)
    heaviest = np.maximum.reduceat(load[order], first) if caps.size else np.zeros(0)
    up = base.arc_up
    moved = np.array([float(load[s[up[s]]].sum()) for s in sets])
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = ((heaviest[None, :] + moved[:, None]) / caps[None, :]).max(axis=1,
                                                                           initial=-np.inf)
    return np.where(np.isnan(bound), np.inf, bound) * (1.0 + MARGIN)


def ends_still_joined(base: Baseline, sets: list[np.ndarray]) -> np.ndarray:
    """Per failure set: every failed arc's ends still joined by links left up (so no
    traffic is cut off). Needs links up in both directions or neither."""
    c = base.net
    ptr, arcs = pack_sets(sets)
    return _joined(ptr, arcs, base.arc_up, c.out_ptr, c.out_arc, c.arc_src.astype(np.int64),
                   c.arc_dst.astype(np.int64), c.n_nodes)


@njit(cache=True)
def _joined(set_ptr: np.ndarray, set_arcs: np.ndarray, arc_up: np.ndarray,
            out_ptr: np.ndarray, out_arc: np.ndarray, arc_src: np.ndarray,
            arc_dst: np.ndarray, n: int) -> np.ndarray:
    k = set_ptr.size - 1
    ok = np.ones(k, np.bool_)
    seen = np.zeros(n, np.int64)  # stamp of the search that reached the node
    queue = np.empty(n, np.int64)
    down = np.zeros(arc_src.size, np.bool_)
    stamp = 0
    for i in range(k):
        for j in range(set_ptr[i], set_ptr[i + 1]):
            down[set_arcs[j]] = True
        for j in range(set_ptr[i], set_ptr[i + 1]):
            a = set_arcs[j]
            if not arc_up[a]:
                continue
            u, v = arc_src[a], arc_dst[a]
            stamp += 1
            seen[u] = stamp
            queue[0] = u
            head, tail = 0, 1
            found = False
            while head < tail and not found:  # breadth first: the ends are usually close
                x = queue[head]
                head += 1
                for q in range(out_ptr[x], out_ptr[x + 1]):
                    b = out_arc[q]
                    y = arc_dst[b]
                    if arc_up[b] and not down[b] and seen[y] != stamp:
                        if y == v:
                            found = True
                            break
                        seen[y] = stamp
                        queue[tail] = y
                        tail += 1
            if not found:
                ok[i] = False
                break
        for j in range(set_ptr[i], set_ptr[i + 1]):
            down[set_arcs[j]] = False
    return ok
