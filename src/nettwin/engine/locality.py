"""Node renumbering for the incremental repair's memory locality.

A failure's repair walks paths of tens of hops toward each affected destination, reading
that destination's distance and traffic rows (n values each, far larger than the cache in
all: destinations x nodes) and the graph's per-node arrays at every node on the way. Node
numbers as a network is written carry no geography (the 5,000-node benchmark numbers its
routers at random), so consecutive hops land on unrelated cache lines. Numbered in reverse
Cuthill-McKee order (a breadth-first order: neighbours get nearby numbers) a path's nodes
share cache lines. Measured on the 5,000-node / 20,000-arc benchmark (``bench_sweep.py
--large``), random arc failures, the old and this numbering alternating at load 7-10: one
thread, 1,000 arcs, 307 and 294 s CPU for all 20,000 against 260 and 248 (-15 %); two
threads, 2,000 arcs, 320 and 363 against 281 and 303. Not better within the noise (+-5 %):
a recursive-bisection order (halves of breadth-first orders, parts of 16-32 nodes), and
32-bit CSR offsets and metrics in the walked arrays.

Only the node numbers change: arcs keep their numbers and each node's out- and in-arcs
stay in arc order (the CSR is built as ``compile_network`` builds it), so a node's next hops
and ECMP shares are the same ones; destinations keep their rows. Everything the repair
reports is per arc or per destination row, so nothing needs mapping back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numba import njit, prange
from numba.cpython.unsafe.numbers import trailing_zeros
from scipy.sparse.csgraph import reverse_cuthill_mckee

from nettwin.engine.compiled import CompiledNetwork, _csr
from nettwin.engine.threads import parallel_region, threads_for


@dataclass(frozen=True, eq=False)
class LocalGraph:
    """The graph in locality order: ``node_at[i]`` is the network's node at local number i,
    ``local_of`` the inverse; the other arrays are CompiledNetwork's, renumbered."""

    node_at: np.ndarray  # int32[n]
    local_of: np.ndarray  # int32[n]
    arc_src: np.ndarray  # int32[m]
    arc_dst: np.ndarray  # int32[m]
    out_ptr: np.ndarray  # int64[n+1]
    out_arc: np.ndarray  # int32[m]
    in_ptr: np.ndarray  # int64[n+1]
    in_arc: np.ndarray  # int32[m]
    destinations: np.ndarray  # int32[t], same rows as the network's


def locality_order(net: CompiledNetwork) -> np.ndarray:
    """int32[n]: the network's nodes in reverse Cuthill-McKee order of the undirected graph
    (every arc, up or down: the order serves every failure set)."""
    n = net.n_nodes
    if n == 0 or net.n_arcs == 0:
        return np.arange(n, dtype=np.int32)
    adj = sp.coo_matrix((np.ones(net.n_arcs, np.int8), (net.arc_src, net.arc_dst)),
                        shape=(n, n)).tocsr()
    adj = (adj + adj.T).tocsr()
    return np.asarray(reverse_cuthill_mckee(adj, symmetric_mode=True), np.int32)


def local_graph(net: CompiledNetwork, node_at: np.ndarray | None = None) -> LocalGraph:
    """``net``'s graph renumbered (by ``locality_order`` unless ``node_at`` is given)."""
    node_at = locality_order(net) if node_at is None else np.asarray(node_at, np.int32)
    n = net.n_nodes
    local_of = np.empty(n, np.int32)
    local_of[node_at] = np.arange(n, dtype=np.int32)
    src, dst = local_of[net.arc_src], local_of[net.arc_dst]
    out_ptr, out_arc = _csr(src, n)
    in_ptr, in_arc = _csr(dst, n)
    return LocalGraph(node_at, local_of, src, dst, out_ptr, out_arc.astype(np.int32), in_ptr,
                      in_arc.astype(np.int32), local_of[net.destinations])


@njit(cache=True, nogil=True)
def _columns_of_row(rows, j, take):
    """rows[j] = rows[j][take]."""
    tmp = np.empty(rows.shape[1], rows.dtype)
    for i in range(take.shape[0]):
        tmp[i] = rows[j, take[i]]
    rows[j, :] = tmp


@njit(cache=True, nogil=True)
def _bits_of_row(bits, j, from_out_arc, to_out_pos):
    """Row j's set bits moved from one out-CSR numbering to another (through the arc at
    each position): a DAG's bitset over the other graph's CSR positions."""
    one = np.uint64(1)
    tmp = np.zeros(bits.shape[1], np.uint64)
    for w in range(bits.shape[1]):
        x = bits[j, w]
        while x != 0:
            q = to_out_pos[from_out_arc[64 * w + trailing_zeros(x)]]  # type: ignore[call-arg]
            tmp[q >> 6] |= one << np.uint64(q & 63)
            x &= x - one
    bits[j, :] = tmp


@njit(cache=True, nogil=True)
def _rows_serial(rows, take, bits, from_out_arc, to_out_pos):
    for j in range(rows.shape[0]):
        _columns_of_row(rows, j, take)
    for j in range(bits.shape[0]):
        _bits_of_row(bits, j, from_out_arc, to_out_pos)


@njit(cache=True, parallel=True)
def _rows_parallel(rows, take, bits, from_out_arc, to_out_pos):
    for j in prange(rows.shape[0]):
        _columns_of_row(rows, j, take)
    for j in prange(bits.shape[0]):
        _bits_of_row(bits, j, from_out_arc, to_out_pos)


@njit(cache=True)
def _values_in_place(order, count, table):
    """order[j, :count[j]] = table[order[j, :count[j]]] (settled nodes renamed)."""
    for j in range(order.shape[0]):
        for i in range(count[j]):
            order[j, i] = table[order[j, i]]


def _renumber_rows(take: np.ndarray, dist: np.ndarray, flow: np.ndarray, bits: np.ndarray,
                   from_out_arc: np.ndarray, to_out_pos: np.ndarray) -> None:
    """Columns of ``dist`` and ``flow`` taken through ``take``, ``bits`` moved between
    CSR numberings; on the engine's threads for a large state (``engine.threads``)."""
    empty = np.zeros((0, 0), np.uint64)
    threads = threads_for(float(dist.shape[0]) * dist.shape[1])
    for rows, b in ((dist, bits), (flow, empty)):
        if rows.shape[0] == 0 and b.shape[0] == 0:
            continue
        if threads == 1:
            _rows_serial(rows, take, b, from_out_arc, to_out_pos)
        else:
            with parallel_region(threads):
                _rows_parallel(rows, take, b, from_out_arc, to_out_pos)


def out_positions(out_arc: np.ndarray) -> np.ndarray:
    """int64[m]: each arc's position in an out-CSR."""
    pos = np.empty(out_arc.shape[0], np.int64)
    pos[out_arc] = np.arange(out_arc.shape[0])
    return pos


def rows_to_local(g: LocalGraph, net: CompiledNetwork, dist: np.ndarray, order: np.ndarray,
                  count: np.ndarray, flow: np.ndarray, bits: np.ndarray) -> None:
    """A routing state's per-destination rows (network numbering) renumbered in place:
    node columns of ``dist``/``flow``, node values of ``order``, DAG bit positions."""
    _renumber_rows(g.node_at, dist, flow, bits, net.out_arc, out_positions(g.out_arc))
    _values_in_place(order, count, g.local_of)


def rows_to_network(g: LocalGraph, net: CompiledNetwork, dist: np.ndarray, order: np.ndarray,
                    count: np.ndarray, flow: np.ndarray, bits: np.ndarray) -> None:
    """The inverse of ``rows_to_local`` (in place)."""
    _renumber_rows(g.local_of, dist, flow, bits, g.out_arc, out_positions(net.out_arc))
    _values_in_place(order, count, g.node_at)
