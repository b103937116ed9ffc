"""Which nodes' shortest-path DAGs toward a destination use some of a set of arcs.

A failure changes the paths of a demand only when its source's ECMP DAG toward the
destination uses a failed arc (a DAG without one keeps every distance and next hop), and
then always: the failed arc's share of the traffic drops to zero. So the demands a failure
reroutes or cuts off are those whose sources this finds, without routing anything again.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from nettwin.engine.routing import UNREACHABLE


@njit(cache=True, nogil=True)
def mark_upstream(arcs: np.ndarray, dests: np.ndarray, dist_all: np.ndarray,
                  arc_ok: np.ndarray, in_ptr: np.ndarray, in_arc: np.ndarray,
                  arc_src: np.ndarray, arc_dst: np.ndarray, metric: np.ndarray,
                  marks: np.ndarray) -> None:
    """``marks[i, x]`` = True when node x's DAG toward destination row ``dests[i]`` (of
    ``dist_all``) uses one of ``arcs``: the DAG ancestors of those arcs' tails."""
    n = dist_all.shape[1]
    stack = np.empty(n, np.int64)
    for i in range(dests.shape[0]):
        dist = dist_all[dests[i]]
        mark = marks[i]
        top = 0
        for f in range(arcs.shape[0]):
            a = arcs[f]
            u = arc_src[a]
            dv = dist[arc_dst[a]]
            if arc_ok[a] and dv != UNREACHABLE and dist[u] != UNREACHABLE \
                    and dv + metric[a] == dist[u] and not mark[u]:
                mark[u] = True
                stack[top] = u
                top += 1
        while top > 0:
            top -= 1
            x = stack[top]
            for q in range(in_ptr[x], in_ptr[x + 1]):
                a = in_arc[q]
                z = arc_src[a]
                if arc_ok[a] and not mark[z] and dist[z] != UNREACHABLE \
                        and dist[x] + metric[a] == dist[z]:
                    mark[z] = True
                    stack[top] = z
                    top += 1
