"""One destination's exact load differences under a failure set, touching only what changes.

Baseline per destination t (kept from one full run): distances, settle order and the traffic
each node forwards toward t. For a set of failed arcs:

1. t is affected only if a failed arc lies on t's shortest-path DAG.
2. In t, the nodes whose distance grows (set A) are found Ramalingam–Reps style: visit
   candidates (tails of failed DAG arcs, then DAG predecessors of nodes put in A) nearest
   first; a node joins A when none of its next hops survives outside A.
3. A's new distances: seeded from surviving arcs leaving A, then Dijkstra inside A.
4. Load differences: the nodes whose next-hop set changes (R = every candidate) withdraw
   their old contributions (as step 2 visits them); then, farthest (new distance) first, R
   nodes push all their traffic down the new DAG and every other node reached pushes only
   the difference it received, over its unchanged next hops. Nodes cut off from t lose
   their traffic. A's nodes go first, in step 3's settle order backwards (nothing outside
   A sends traffic into A), then the other nodes reached, through a queue.

The caller (``engine.incremental``, ``engine.failure_sets``) picks the destinations whose
DAG a failure cuts and gives each one's baseline rows; this module holds the per-destination
kernel, its priority queue and its scratch.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from nettwin.engine.shortest_paths import UNREACHABLE
from nettwin.engine.upstream import _on_dag

# The repair's priority queue: a binary min-heap of int64 keys with int32 values in two
# arrays. Push moves a hole up, pop moves one down, each entry written once where it lands,
# instead of swapping both arrays' entries at every level: the same heap, entry for entry
# (so the same pop order), for ~30 % less CPU in a whole sweep (5,000-node benchmark, one
# thread, 1,000 random arc failures, alternating with the swapping heap at load 3-4: 9.2-9.7
# against 13.1-13.4 ms a failure).


@njit(cache=True, nogil=True)
def _pq_push(keys, vals, size, key, val):
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        pk = keys[parent]
        if pk <= key:
            break
        keys[i] = pk
        vals[i] = vals[parent]
        i = parent
    keys[i] = key
    vals[i] = val
    return size + 1


@njit(cache=True, nogil=True)
def _pq_pop(keys, vals, size):
    key = keys[0]
    val = vals[0]
    size -= 1
    last_key = keys[size]  # the last entry sinks from the root into the hole's place
    last_val = vals[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        ck = keys[child]
        if child + 1 < size:
            rk = keys[child + 1]
            if rk < ck:
                child += 1
                ck = rk
        if last_key <= ck:
            break
        keys[i] = ck
        vals[i] = vals[child]
        i = child
    keys[i] = last_key
    vals[i] = last_val
    return key, val, size


@intrinsic
def _prefetch(typingctx, arr, i):
    """Ask the CPU to load ``arr[i]``'s cache line now (LLVM's prefetch: read, keep in all
    levels): the repair learns which distances it will read a phase before it reads them,
    and a destination's distance row is far larger than the cache."""
    del typingctx

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
            "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, i), codegen


@njit(cache=True, nogil=True)
def _prefetch_first_reads(dist, flow, bits, failed, arc_src, arc_dst, out_ptr):
    """Start loading what a repair of this destination reads first (step 1: both ends'
    distances of every failed arc; step 2: their tails' traffic and DAG bits): callers ask
    for the next destination's lines while they repair the current one, whose rows are
    elsewhere in memory."""
    for f in range(failed.shape[0]):
        u = arc_src[failed[f]]
        _prefetch(dist, u)  # type: ignore[call-arg]
        _prefetch(dist, arc_dst[failed[f]])
        _prefetch(flow, u)
        _prefetch(bits, out_ptr[u] >> 6)


# Differences below this fraction of the destination's traffic are rounding residue of
# shares that cancel (a re-split whose paths meet again) and are not pushed further: each
# node left out moves a load by at most this much of the traffic (1e-14 * n in all, far
# inside the 1e-9 the tests hold the loads to against a full recomputation).
RESIDUE = 1e-14


@njit(cache=True, nogil=True, inline="always")
def _add_load(dload, touched_mark, touched, n_touched, a, change):
    """dload[a] += change, listing arc a in ``touched`` the first time."""
    dload[a] += change
    if not touched_mark[a]:
        touched_mark[a] = True
        touched[n_touched[0]] = a
        n_touched[0] += 1


@njit(cache=True, nogil=True)
def _destination_delta(t, dist, flow, bits, failed, ok_base, ok_new, out_ptr, out_arc, out_dst,
                       out_met, in_ptr, in_arc, in_src, in_met, in_out, arc_src, arc_dst, metric,
                       mark, new_dist, base_d, fl, nodes, settled, hkeys, hvals, hops, dload,
                       touched_mark, touched, n_touched):
    """Add destination t's load differences under ``ok_new`` to ``dload``; return traffic
    that can no longer reach t. ``mark`` bits: 1 candidate (R), 2 in A, 4 reached (listed
    in ``nodes``).
    ``fl``: an R node's traffic after the failure, for any other node queued the difference
    it receives (kept apart from its baseline traffic: differences that cancel are exactly
    zero and stop there instead of carrying a rounding residue down to t).
    ``bits``: t's baseline DAG (route_all's bitset over out-CSR positions). The graph is
    read through the CSR-ordered copies (``out_dst``/``out_met``: head and metric of the arc
    at each out-CSR position, ``in_src``/``in_met`` for the in-CSR), sequentially, and a
    node's baseline next hops through ``bits`` alone; ``hops`` (a node's new next hops) and
    ``settled`` (A's nodes in order) are scratch."""
    n_nodes = 0
    size = 0
    # 1. candidates: tails of failed arcs that are on t's DAG
    for f in range(failed.shape[0]):
        a = failed[f]
        if not ok_base[a]:
            continue
        u = arc_src[a]
        dv = dist[arc_dst[a]]
        on_dag = dv != UNREACHABLE and dist[u] != UNREACHABLE and dv + metric[a] == dist[u]
        if on_dag and mark[u] == 0:
            nodes[n_nodes] = u
            n_nodes += 1
            mark[u] = 5
            fl[u] = 0.0
            base_d[u] = dist[u]
            size = _pq_push(hkeys, hvals, size, dist[u], u)
    if n_nodes == 0:
        return 0.0
    # 2. nodes whose distance grows (A), nearest first: x keeps its distance when one of its
    # baseline next hops survives outside A. Every candidate's next hops change (R), so it
    # withdraws its old contributions here, while its arcs are at hand: a node nearer than x
    # is no candidate by now (candidates come farther than the node that made them), so the
    # nodes it reaches are final members of R or outside it for good.
    while size > 0:
        _, x, size = _pq_pop(hkeys, hvals, size)
        survives = False
        k_old = 0  # the old next hops: x's arcs in the baseline DAG
        for q in range(out_ptr[x], out_ptr[x + 1]):
            if _on_dag(bits, q):
                hops[k_old] = q
                k_old += 1
                if (mark[out_dst[q]] & 2) == 0 and ok_new[out_arc[q]]:
                    survives = True
        fx = flow[x]
        if fx != 0.0:
            share = fx / k_old
            for h in range(k_old):
                q = hops[h]
                a = out_arc[q]
                y = out_dst[q]
                if (mark[y] & 4) == 0:
                    mark[y] |= 4
                    fl[y] = 0.0  # y is outside R: fl holds what it gains or loses
                    nodes[n_nodes] = y
                    n_nodes += 1
                    base_d[y] = base_d[x] - out_met[q]  # x -> y was a DAG arc
                fl[y] -= share
                _add_load(dload, touched_mark, touched, n_touched, a, -share)
        if survives:
            continue
        mark[x] |= 2
        for q in range(out_ptr[x], out_ptr[x + 1]):  # read by step 3
            _prefetch(dist, out_dst[q])  # type: ignore[call-arg]
        for q in range(in_ptr[x], in_ptr[x + 1]):
            z = in_src[q]
            if mark[z] == 0 and _on_dag(bits, in_out[q]):
                nodes[n_nodes] = z
                n_nodes += 1
                mark[z] = 5
                fl[z] = 0.0  # its traffic is added once all its withdrawals are in
                _prefetch(flow, z)  # type: ignore[call-arg]  # read when it is popped
                base_d[z] = base_d[x] + in_met[q]  # z -> x is a DAG arc
                size = _pq_push(hkeys, hvals, size, base_d[z], z)
    # 3. new distances inside A; ``settled`` lists A's reachable nodes nearest first
    size = 0
    for i in range(n_nodes):
        x = nodes[i]
        if mark[x] & 2:
            best = UNREACHABLE
            for q in range(out_ptr[x], out_ptr[x + 1]):
                y = out_dst[q]
                if (mark[y] & 2) == 0 and dist[y] != UNREACHABLE and ok_new[out_arc[q]]:
                    c = dist[y] + out_met[q]
                    best = min(best, c)
            new_dist[x] = best
            if best != UNREACHABLE:
                size = _pq_push(hkeys, hvals, size, best, x)
    n_settled = 0
    while size > 0:
        d, x, size = _pq_pop(hkeys, hvals, size)
        if d > new_dist[x]:
            continue
        settled[n_settled] = x
        n_settled += 1
        for q in range(in_ptr[x], in_ptr[x + 1]):
            z = in_src[q]
            if (mark[z] & 2) and ok_new[in_arc[q]]:
                c = d + in_met[q]
                if c < new_dist[z]:
                    new_dist[z] = c
                    size = _pq_push(hkeys, hvals, size, c, z)
    # 4a. R nodes re-send all their traffic; the nodes of A cut off from t lose theirs (all
    # they would forward is their own: every node that sent them traffic is in R)
    lost = 0.0
    for i in range(n_nodes):
        x = nodes[i]
        if mark[x] & 1:
            fl[x] += flow[x]
            if (mark[x] & 2) and new_dist[x] == UNREACHABLE and fl[x] > 0.0:
                lost += fl[x]
    residue = RESIDUE * flow[t]
    # 4b. A's nodes push all their traffic down the new DAG, farthest first: step 3's settle
    # order backwards, no queue. Only nodes of A send traffic into A (a node outside A keeps
    # its distance, and a node of A is farther than before, so off its DAG), so a node of A
    # has all it will receive when its turn comes.
    for i in range(n_settled - 1, -1, -1):
        x = settled[i]
        f = fl[x]
        if abs(f) <= residue:
            continue
        dx = new_dist[x]
        k_new = 0
        for q in range(out_ptr[x], out_ptr[x + 1]):
            y = out_dst[q]
            dy = new_dist[y] if mark[y] & 2 else dist[y]
            if dy != UNREACHABLE and dy + out_met[q] == dx and ok_new[out_arc[q]]:
                hops[k_new] = q
                k_new += 1
        share = f / k_new
        for h in range(k_new):
            q = hops[h]
            y = out_dst[q]
            if (mark[y] & 4) == 0:
                # y is outside R (so outside A): its distance is unchanged, and x -> y is on
                # the new DAG, so it is dx less the metric (no read of dist, a cache miss)
                mark[y] |= 4
                fl[y] = 0.0  # y is outside R: fl holds what it gains or loses
                nodes[n_nodes] = y
                n_nodes += 1
                base_d[y] = dx - out_met[q]
            fl[y] += share
            _add_load(dload, touched_mark, touched, n_touched, out_arc[q], share)
    # 4c. every other node reached, farthest first (their distances are the baseline's): R
    # nodes outside A re-send all their traffic, the others (same next hops as before) only
    # the difference that reached them
    size = 0
    for i in range(n_nodes):
        x = nodes[i]
        if (mark[x] & 2) == 0:
            size = _pq_push(hkeys, hvals, size, -base_d[x], x)
    while size > 0:
        key, x, size = _pq_pop(hkeys, hvals, size)
        if x == t:
            continue
        f = fl[x]
        if abs(f) <= residue:
            continue
        dx = -key
        k_new = 0
        if mark[x] & 1:
            # x kept its distance: its new next hops are its old ones that stay up and do
            # not lead into A
            for q in range(out_ptr[x], out_ptr[x + 1]):
                if _on_dag(bits, q) and (mark[out_dst[q]] & 2) == 0 and ok_new[out_arc[q]]:
                    hops[k_new] = q
                    k_new += 1
        else:
            # outside R: the baseline next hops (none of them grew its distance: their DAG
            # predecessors are all in R)
            for q in range(out_ptr[x], out_ptr[x + 1]):
                if _on_dag(bits, q):
                    hops[k_new] = q
                    k_new += 1
        share = f / k_new
        for h in range(k_new):
            q = hops[h]
            y = out_dst[q]
            if (mark[y] & 4) == 0:
                mark[y] |= 4
                fl[y] = 0.0
                nodes[n_nodes] = y
                n_nodes += 1
                base_d[y] = dx - out_met[q]
                size = _pq_push(hkeys, hvals, size, -base_d[y], y)
            fl[y] += share
            _add_load(dload, touched_mark, touched, n_touched, out_arc[q], share)
    for i in range(n_nodes):
        x = nodes[i]
        mark[x] = 0
        new_dist[x] = UNREACHABLE
        fl[x] = 0.0
    return lost


@njit(cache=True, nogil=True)
def _scratch(n, m):
    """Per-thread work arrays of _destination_delta (all clean: it leaves them clean)."""
    return (np.zeros(n, np.int8), np.full(n, UNREACHABLE, np.int64), np.empty(n, np.int64),
            np.zeros(n),
            np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n + m + 1, np.int64),
            np.empty(n + m + 1, np.int32),
            np.empty(m + 1, np.int64), np.zeros(m, np.bool_), np.empty(m, np.int32),
            np.zeros(1, np.int64))
