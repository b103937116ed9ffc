"""The service's live side, one model underneath: per network a ``LiveTwin`` (fed by any
source: the simulated telemetry of the embedded default, ``POST .../telemetry``, ``POST
.../observations``), one ``AlarmBook`` for all networks, and the stream subscribers, who
hear what the twins' listeners report (state after each batch, alarm changes).

The TMF642 rendering of the book's alarms lives here: it is how the API speaks.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

import numpy as np

from nettwin.api.payloads import SerialisedStates
from nettwin.errors import NetworkGoneError
from nettwin.live import LiveTwin, Message, Store
from nettwin.live.alarms import Alarm, AlarmBook
from nettwin.live.live_network import COUNTER_NOISE
from nettwin.live.simulated import SimulatedTelemetry
from nettwin.live.state import Changes
from nettwin.live.store import default_store_url
from nettwin.live.weather import LiveWeather
from nettwin.model import Network
from nettwin.radio.budget import RadioArrays
from nettwin.radio.storm import Storm

HISTORY_TICKS = 600  # utilisation samples kept per network for the element panel
ALARMS = "/tmf-api/alarmManagement/v4"


def alarm_document(alarm: Alarm, base: str = ALARMS) -> dict[str, Any]:
    """TMF642 Alarm resource (v4 field names)."""
    doc: dict[str, Any] = {
        "id": alarm.id, "href": f"{base}/alarm/{alarm.id}", "@type": "Alarm",
        "alarmType": alarm.alarm_type, "perceivedSeverity": alarm.severity,
        "probableCause": alarm.probable_cause, "specificProblem": alarm.specific_problem,
        "state": alarm.state, "ackState": alarm.ack_state,
        "alarmRaisedTime": alarm.raised, "alarmChangedTime": alarm.changed,
        "sourceSystemId": f"nettwin/{alarm.network_id}",
        "alarmedObject": {"id": alarm.object_id, "@referredType": alarm.object_type},
    }
    if alarm.cleared:
        doc["alarmClearedTime"] = alarm.cleared
    if alarm.ack_user:
        doc["ackSystemId"] = "nettwin"
        doc["ackUserId"] = alarm.ack_user
    return doc


class LiveHub:
    """Live twins by network id, the alarm book, the history the dashboard plots, and the
    stream subscribers."""

    def __init__(self, store_url: str | None, data_dir: Any, *,
                 counter_noise: float = COUNTER_NOISE, timezone: str | None = None) -> None:
        self.store_url, self.data_dir = store_url, data_dir
        self.counter_noise = counter_noise  # told to every twin's estimates
        self.timezone = timezone  # the operator's: every twin reads times of day in it
        self.book = AlarmBook()
        self.twins: dict[str, LiveTwin] = {}
        self.simulators: dict[str, SimulatedTelemetry] = {}
        self.history: dict[str, deque[tuple[str, np.ndarray]]] = {}
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]]] = []
        self._lock = threading.RLock()
        self._states: dict[str, dict[str, Any]] = {}  # the latest state per network
        # networks being deleted or deleted (ids are never reused): no twin is made for
        # them, so a request that found the network just before its delete writes nothing
        self._gone: set[str] = set()
        self.encoded = SerialisedStates()  # its JSON (and gzip), made once per tick
        self.book.listeners.append(lambda a: self._publish("alarm", alarm_document(a)))

    # ------------------------------------------------------------------ twins
    def twin(self, nid: str, network: Network) -> LiveTwin:
        """The network's live twin, created on first use with the service's store."""
        with self._lock:
            self._refuse_if_gone(nid)
            if nid not in self.twins:
                url = self.store_url or default_store_url(self.data_dir)
                lt = LiveTwin(network, Store(url), assess_services=True, network_id=nid,
                              counter_noise=self.counter_noise, timezone=self.timezone)

                def heard(changes: Changes, nid: str = nid, lt: LiveTwin = lt) -> None:
                    self._after_batch(nid, lt, changes)

                lt.listeners.append(heard)
                self.twins[nid] = lt
            return self.twins[nid]

    def simulator(self, nid: str, network: Network, radio: RadioArrays | None = None,
                  storm: Storm | None = None, interval_s: float = 2.0) -> SimulatedTelemetry:
        """The network's simulated telemetry (weather when it has radio links and a storm)."""
        with self._lock:
            if nid not in self.simulators:
                lt = self.twin(nid, network)
                weather = (LiveWeather(radio, storm)
                           if radio is not None and storm is not None else None)
                self.simulators[nid] = SimulatedTelemetry(network, lt.state.compiled,
                                                          weather=weather,
                                                          interval_s=interval_s or 2.0)
            return self.simulators[nid]

    def feed_simulated(self, nid: str, network: Network, scale: float | None = None,
                       **weather: Any) -> LiveTwin:
        """One simulated instant through the live twin, as any source's batch."""
        sim = self.simulator(nid, network, **weather)
        lt = self.twin(nid, network)
        lt.process([Message(r) for r in sim.step(scale)], sim.name)
        return lt

    def retire(self, nid: str) -> None:
        """First step of a delete: the network's twin takes nothing more (waiting for a
        batch being written) and no new twin is made for it; ingestion answers
        NetworkGoneError from here on."""
        with self._lock:
            self._gone.add(nid)
            lt = self.twins.get(nid)
        if lt is not None:
            lt.retire()  # outside the hub's lock: a batch's listeners take it

    def reopen(self, nid: str) -> None:
        """The delete failed: the network takes observations again."""
        with self._lock:
            self._gone.discard(nid)
            lt = self.twins.get(nid)
        if lt is not None:
            lt.reopen()

    def drop(self, nid: str) -> None:
        """Last step of a delete: the network's twin, simulator and history leave memory."""
        with self._lock:
            lt = self.twins.pop(nid, None)
            self.simulators.pop(nid, None)
            self.history.pop(nid, None)
            self._states.pop(nid, None)
        if lt is not None and lt.store is not None:
            lt.store.close()

    def _refuse_if_gone(self, nid: str) -> None:
        if nid in self._gone:
            raise NetworkGoneError(f"network {nid!r} is being deleted or was: nothing more "
                                   "is taken for it")

    def _twin_of(self, nid: str) -> LiveTwin:
        lt = self.twins.get(nid)
        if lt is None:
            self._refuse_if_gone(nid)
            raise KeyError(nid)
        return lt

    def _after_batch(self, nid: str, lt: LiveTwin, _changes: Changes) -> None:
        st = lt.state
        self.book.reconcile(nid, st.alarms, problems=st.alarm_problems,
                            times=_changes.alarm_time)
        util = np.where(st.arc_up(), np.nan_to_num(st.utilisation(), nan=0.0), 0.0)
        now = datetime.now(UTC).isoformat()
        self.history.setdefault(nid, deque(maxlen=HISTORY_TICKS)).append((now, util))
        self._states.pop(nid, None)  # a new tick: the next read builds (and keeps) it once
        self._publish("state", self.state(nid))

    def state(self, nid: str) -> dict[str, Any]:
        """The live state of a network as the API and the stream show it: the twin's
        snapshot, with its network id, the simulated traffic level (if simulated) and the
        radio modulations under the name the dashboard reads. Built once per batch and
        shared by every reader (the same object until the next batch, so its JSON encoding
        can be cached too)."""
        with self._lock:
            made = self._states.get(nid)
            if made is None:
                made = self._states[nid] = self._snapshot(nid)
            return made

    def _snapshot(self, nid: str) -> dict[str, Any]:
        lt = self._twin_of(nid)
        snap = lt.state.snapshot()
        sim = self.simulators.get(nid)
        return snap | {"network_id": nid, "link_modes": snap["modulation"],
                       "scale": None if sim is None else sim.last_scale, "note": None,
                       "time_iso": None if snap["time"] is None else
                       datetime.fromtimestamp(snap["time"], UTC).isoformat()}

    def state_at(self, nid: str, at: float) -> dict[str, Any]:
        """The live state as it was at ``at`` (epoch seconds), rebuilt from the history, in
        the shape of ``state``; ``note`` says when ``at`` lies outside the history."""
        lt = self._twin_of(nid)
        c = lt.state.compiled
        past = lt.state_at(at)
        snap = past.snapshot([c.arc_label(a) for a in range(c.n_arcs)], c.arc_capacity_bps)
        link_up = {lid: past.link_up.get(lid, lk.is_up) for lid, lk in lt.network.links.items()}
        ups = list(link_up.values())
        for a, arc in enumerate(snap["arcs"]):
            arc["up"] = ups[a // 2] if a // 2 < len(ups) else None
        span = lt.store.time_range(lt.name) if lt.store is not None else None
        note = None
        if span is None:
            note = "no history yet"
        elif at < span[0]:
            note = (f"{at:.0f} is before the history starts "
                    f"({datetime.fromtimestamp(span[0], UTC).isoformat()}): nothing measured")
        elif at > span[1]:
            note = (f"{at:.0f} is after the latest observation "
                    f"({datetime.fromtimestamp(span[1], UTC).isoformat()}): the state then")
        return snap | {"network_id": nid, "link_modes": snap["modulation"], "scale": None,
                       "samples": None, "note": note, "time": at,
                       "time_iso": datetime.fromtimestamp(at, UTC).isoformat()}

    def has_state(self, nid: str) -> bool:
        lt = self.twins.get(nid)
        return lt is not None and lt.state.samples > 0

    # ------------------------------------------------------------------ stream
    def subscribe(self) -> asyncio.Queue[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._subscribers.append((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Any]) -> None:
        with self._lock:
            self._subscribers = [(lp, q) for lp, q in self._subscribers if q is not queue]

    def _publish(self, event: str, data: dict[str, Any]) -> None:
        with self._lock:
            targets = list(self._subscribers)
        for loop, queue in targets:
            def put(q: asyncio.Queue[Any] = queue) -> None:
                if not q.full():  # a slow client misses events rather than stalling the twin
                    q.put_nowait((event, data))
            try:
                loop.call_soon_threadsafe(put)
            except RuntimeError:  # that client's loop has closed
                self.unsubscribe(queue)

