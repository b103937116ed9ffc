"""The twin an agent steps: compiled arrays shared by all copies, routing state per copy.

``Stepper`` owns the input buffers an environment writes (arc metrics, arc states, arc
capacities, demand rates, one row per copy), the cached per-destination routing state and
the output buffers (arc load, utilisation, delay, loss, SLA unit violations, a summary
row). ``step()`` is one numba call for all copies (``parallel=True``: copies spread over
threads); ``step_first()`` steps copy 0 alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nettwin.engine import CompiledNetwork, QueueModel, SimulationOptions
from nettwin.engine.options import ArrivalModel
from nettwin.errors import SimulationError
from nettwin.gym.kernels import (
    MODEL_MD1,
    MODEL_MG1,
    MODEL_MM1,
    MODEL_MM1K,
    step_batch,
    step_batch_serial,
    step_one,
)

_MODEL_CODE = {QueueModel.MM1: MODEL_MM1, QueueModel.MD1: MODEL_MD1, QueueModel.MG1: MODEL_MG1,
               QueueModel.MM1K: MODEL_MM1K}

SUMMARY_FIELDS = ("max_utilisation", "unroutable_bps", "queue_lost_bps", "units_violated",
                  "destinations_rerouted")


@dataclass(frozen=True, eq=False)
class SlaUnits:
    """What an SLA-minute counts: the network's services, or every demand under a default
    target when the network defines none."""

    ids: tuple[str, ...]
    ptr: np.ndarray  # int64[u+1]; demands of unit i: demand[ptr[i]:ptr[i+1]]
    demand: np.ndarray  # int64[...]
    max_delay_s: np.ndarray  # float64[u]
    max_loss: np.ndarray  # float64[u]
    per_demand: bool

    @property
    def n(self) -> int:
        return len(self.ids)


def build_sla_units(net: CompiledNetwork, *, default_max_loss: float = 1e-3,
                    default_max_delay_s: float = float("inf")) -> SlaUnits:
    """Services when the network has them, else one unit per demand (routed, loss at most
    ``default_max_loss``, worst-path delay at most ``default_max_delay_s``)."""
    if not default_max_loss >= 0 or not default_max_delay_s > 0:
        raise SimulationError(f"SLA defaults must be max_loss >= 0 and max_delay_s > 0 (got "
                              f"{default_max_loss}, {default_max_delay_s})")
    if net.service_ids:
        return SlaUnits(net.service_ids, net.service_ptr, net.service_demand,
                        net.service_max_delay_s, net.service_max_loss, per_demand=False)
    k = net.n_demands
    ids = tuple(f"{net.node_ids[s]}->{net.node_ids[d]}"
                for s, d in zip(net.demand_src.tolist(), net.demand_dst.tolist(), strict=True))
    return SlaUnits(ids, np.arange(k + 1, dtype=np.int64), np.arange(k, dtype=np.int64),
                    np.full(k, default_max_delay_s), np.full(k, default_max_loss),
                    per_demand=True)


def _positions(index: np.ndarray) -> np.ndarray:
    pos = np.empty(index.size, np.int64)
    pos[index] = np.arange(index.size)
    return pos


class Stepper:
    """``copies`` copies of one compiled network, stepped together."""

    def __init__(self, net: CompiledNetwork, options: SimulationOptions | None = None,
                 sla: SlaUnits | None = None, copies: int = 1, *,
                 parallel: bool = False, max_pins: int = 8) -> None:
        if copies < 1:
            raise SimulationError(f"copies must be >= 1 (got {copies})")
        options = options or SimulationOptions()
        if options.arrival_model is ArrivalModel.BURSTY and net.demand_arrivals is not None:
            bursty = np.flatnonzero(net.demand_arrivals.bursty())
            if bursty.size:
                raise SimulationError(
                    f"the sandbox queues every link as Poisson, and {bursty.size} demand(s) "
                    f"of this network carry bursty arrival processes (e.g. demand number "
                    f"{int(bursty[0])}), which simulate queues as MMPP/G/1/K: train on the "
                    "textbook queues explicitly with options=SimulationOptions(arrival_model="
                    "ArrivalModel.POISSON), or check a policy's outcome with nettwin.simulate")
        self.net = net
        self.options = options
        self.sla = sla or build_sla_units(net)
        self.copies = copies
        # threads pay off only on an idle multi-core machine: spinning workers cost more than
        # they save when the cores are shared (measured in benchmarks/bench_gym.py)
        self.parallel = parallel
        m, n = net.n_arcs, net.n_nodes
        t = int(net.destinations.shape[0])
        own = net.arc_buffer_packets
        buffers = np.where(own > 0, own, options.default_buffer_packets).astype(np.float64)
        queue = np.array([_MODEL_CODE[options.queue_model], options.mean_packet_bytes,
                          options.packet_size_scv], np.float64)
        self._static = (
            n, net.destinations, net.dest_ptr, net.dest_demand, net.demand_src, net.in_ptr,
            net.arc_src[net.in_arc].copy(), net.out_ptr, net.out_arc,
            net.arc_dst[net.out_arc].copy(), net.arc_src, net.arc_dst, _positions(net.in_arc),
            _positions(net.out_arc), net.arc_propagation_s, buffers, queue, self.sla.ptr,
            self.sla.demand, self.sla.max_delay_s, self.sla.max_loss, self._timed_destinations())
        c = copies
        # inputs an environment writes
        self.metric = np.tile(net.arc_metric.astype(np.int64), (c, 1))
        self.up = np.tile(net.arc_up, (c, 1))
        self.capacity_bps = np.tile(net.arc_capacity_bps.astype(np.float64), (c, 1))
        self.rate_bps = np.tile(net.demand_rate_bps.astype(np.float64), (c, 1))
        self.full = np.ones(c, np.bool_)
        # explicit paths: demand per slot (-1 free) and its arcs (-1 padded)
        self.pin_demand = np.full((c, max_pins), -1, np.int64)
        self.pin_arc = np.full((c, max_pins, max(1, n)), -1, np.int64)
        # cached routing state
        self._metric = np.zeros((c, m), np.int64)
        self._up = np.zeros((c, m), np.bool_)
        self._in_metric = np.zeros((c, m), np.int64)
        self._in_ok = np.zeros((c, m), np.bool_)
        self._out_metric = np.zeros((c, m), np.int64)
        self._out_ok = np.zeros((c, m), np.bool_)
        self._dist = np.zeros((c, t, n), np.int64)
        self._order = np.zeros((c, t, n), np.int32)
        self._count = np.zeros((c, t), np.int64)
        self._nh = np.zeros((c, t, n), np.int32)
        # outputs
        self.load_bps = np.zeros((c, m))
        self.utilisation = np.zeros((c, m))
        self.delay_s = np.zeros((c, m))
        self.loss = np.zeros((c, m))
        self.unit_violated = np.zeros((c, self.sla.n), np.bool_)
        self.summary = np.zeros((c, len(SUMMARY_FIELDS)))
        self._bind()

    def _bind(self) -> None:
        """The argument tuples of the kernels (views: rebuilt after a copy or unpickling)."""
        self._state = (self._metric, self._up, self._in_metric, self._in_ok, self._out_metric,
                       self._out_ok, self._dist, self._order, self._count, self._nh,
                       self.load_bps, self.utilisation, self.delay_s, self.loss,
                       self.unit_violated, self.summary)
        self._first_inputs = (self.metric[0], self.up[0], self.capacity_bps[0],
                              self.rate_bps[0], self.pin_demand[0], self.pin_arc[0])
        self._first_state = tuple(a[0] for a in self._state)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()
                if k not in ("_state", "_first_inputs", "_first_state")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._bind()

    def _timed_destinations(self) -> np.ndarray:
        """Destinations with a demand in a unit that has a delay target."""
        net, sla = self.net, self.sla
        timed = np.zeros(net.n_demands, np.bool_)
        for i in np.flatnonzero(np.isfinite(sla.max_delay_s)).tolist():
            timed[sla.demand[sla.ptr[i]:sla.ptr[i + 1]]] = True
        out = np.zeros(net.destinations.shape[0], np.bool_)
        out[np.searchsorted(net.destinations, net.demand_dst[timed])] = True
        return out

    def step(self) -> None:
        """Evaluate every copy with its current inputs."""
        kernel = step_batch if self.parallel else step_batch_serial
        kernel(*self._static, self.metric, self.up, self.capacity_bps, self.rate_bps,
               self.pin_demand, self.pin_arc, self.full, *self._state)
        self.full[:] = False

    def step_first(self) -> None:
        """Evaluate copy 0 only, without a parallel launch."""
        step_one(*self._static, *self._first_inputs, bool(self.full[0]), *self._first_state)
        self.full[0] = False
