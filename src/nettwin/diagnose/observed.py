"""A window of observations as aligned arrays: per sample instant and arc, the carried
rate, the drop rate and the oper status; per radio link the received level and capacity;
the events. What diagnosis compares counterfactuals against."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from nettwin.errors import NettwinError
from nettwin.live.observations import (
    DEFAULT_PACKET_BYTES,
    Decoder,
    Event,
    InterfaceMap,
    TimeWindow,
)
from nettwin.model import Network


class ObservationError(NettwinError):
    """The observations cannot be read or hold nothing to diagnose from."""


@dataclass(frozen=True, eq=False)
class ObservedWindow:
    times: np.ndarray  # float[K]: ends of the sample intervals
    carried_bps: np.ndarray  # float[K, m]; nan where not measured
    dropped_bps: np.ndarray  # float[K, m]; nan where not measured (out_drops packets x size)
    oper_up: np.ndarray  # int8[K, m]: 1 up, 0 down, -1 not reported
    reported: np.ndarray  # bool[m]: the arc's sending port reports at all in the window
    last_report: np.ndarray  # float[m]: time of its last sample (-inf: never)
    radio_links: tuple[str, ...]
    rsl_dbm: np.ndarray  # float[K, r]; nan where missing
    radio_capacity_bps: np.ndarray  # float[K, r]; nan: unknown; 0: down
    events: tuple[Event, ...]
    dead_letters: int

    @property
    def n_steps(self) -> int:
        return int(self.times.shape[0])


def read_observations(path: Path) -> list[bytes]:
    """The lines of a JSON lines file (clear error when it is missing or empty)."""
    if not path.is_file():
        raise ObservationError(f"observations file {path} does not exist: give a JSON lines "
                               "or Parquet file (e.g. written by 'nettwin synth')")
    lines = [ln for ln in path.read_bytes().splitlines() if ln.strip()]
    if not lines:
        raise ObservationError(f"observations file {path} is empty")
    return lines


def observe(network: Network, payloads: Iterable[bytes | str | Mapping[str, Any]],
            since: float | None = None, until: float | None = None) -> ObservedWindow:
    """Decode the observations (bad records are counted, not fatal) and align them."""
    ports = InterfaceMap(network)
    batch = Decoder(ports, TimeWindow(max_future_s=math.inf)).decode(payloads, "observations")
    lo = -math.inf if since is None else since
    hi = math.inf if until is None else until
    keep = (batch.time >= lo) & (batch.time <= hi) & ~np.isnan(batch.out_octets)
    if not keep.any():
        reasons = "; ".join(d.reason for d in batch.dead[:3])
        raise ObservationError(
            "no interface counters in the window" + (f" ({len(batch.dead)} records rejected: "
                                                     f"{reasons})" if batch.dead else "")
            + ": diagnosis needs out_octets samples of the network's ports")
    arc = ports.port_arc[batch.port[keep]]
    t = batch.time[keep]
    octets = batch.out_octets[keep]
    packets = batch.out_packets[keep]
    drops = batch.out_drop_packets[keep]
    oper = batch.oper_up[keep]
    m = 2 * len(network.links)
    grid = np.unique(t)
    if grid.size < 4:
        raise ObservationError(f"only {grid.size} sample instant(s) in the window: need at "
                               "least 4 to tell before from after")
    k_of = np.searchsorted(grid, t)
    carried = np.full((grid.size, m), np.nan)
    dropped = np.full((grid.size, m), np.nan)
    up = np.full((grid.size, m), -1, np.int8)
    up[k_of, arc] = oper
    order = np.lexsort((t, arc))
    a_s, t_s, o_s, d_s, k_s = arc[order], t[order], octets[order], drops[order], k_of[order]
    same = a_s[1:] == a_s[:-1]
    dt = np.diff(t_s)
    do = np.diff(o_s)
    dd = np.diff(d_s)
    ok = same & (dt > 0) & (do >= 0)  # a negative step is a counter reset: no rate there
    idx = np.flatnonzero(ok)
    carried[k_s[idx + 1], a_s[idx + 1]] = do[idx] * 8.0 / dt[idx]
    size = _packet_bytes(a_s, o_s, packets[order], ok, m)
    dd_ok = ok & (dd >= 0)
    idx = np.flatnonzero(dd_ok)
    # drops count packets (ifOutDiscards): bit/s at the port's own octets per packet
    dropped[k_s[idx + 1], a_s[idx + 1]] = (np.nan_to_num(dd[idx], nan=0.0) * 8.0
                                           * size[a_s[idx + 1]] / dt[idx])
    reported = np.zeros(m, bool)
    reported[arc] = True
    last = np.full(m, -np.inf)
    np.maximum.at(last, arc, t)
    radio_links = tuple(lid for lid, link in network.links.items() if link.radio is not None)
    r_index = {lid: i for i, lid in enumerate(radio_links)}
    rsl = np.full((grid.size, len(radio_links)), np.nan)
    rcap = np.full((grid.size, len(radio_links)), np.nan)
    for r in batch.radio:
        if lo <= r.time <= hi and r.link in r_index:
            k = min(int(np.searchsorted(grid, r.time)), grid.size - 1)
            i = r_index[r.link]
            if r.rsl_dbm is not None:
                rsl[k, i] = r.rsl_dbm
            if r.modulation == "down":
                rcap[k, i] = 0.0
            elif r.capacity_bps is not None:
                rcap[k, i] = r.capacity_bps
    events = tuple(e for e in batch.events if lo <= e.time <= hi)
    return ObservedWindow(grid, carried, dropped, up, reported, last, radio_links, rsl, rcap,
                          events, len(batch.dead))


def _packet_bytes(arc: np.ndarray, octets: np.ndarray, packets: np.ndarray,
                  ok: np.ndarray, m: int) -> np.ndarray:
    """Per arc the octets per packet its port sent over the window (steps ``ok`` that also
    count packets); ``DEFAULT_PACKET_BYTES`` where the port counts no packets."""
    dp = np.diff(packets)
    use = ok & (dp > 0)  # nan (not given) compares false
    sent_octets = np.zeros(m)
    sent_packets = np.zeros(m)
    np.add.at(sent_octets, arc[1:][use], np.diff(octets)[use])
    np.add.at(sent_packets, arc[1:][use], dp[use])
    return np.where(sent_packets > 0, sent_octets / np.maximum(sent_packets, 1.0),
                    DEFAULT_PACKET_BYTES)


def load_observations(network: Network, path: Path, since: float | None = None,
                      until: float | None = None) -> ObservedWindow:
    """A window from a JSON lines file or a Parquet table (``nettwin synth --parquet``)."""
    if path.suffix == ".parquet" and path.is_file():
        from nettwin.synth.parquet import read_observations_parquet

        records = read_observations_parquet(path)
        if not records:
            raise ObservationError(f"observations file {path} is empty")
        return observe(network, records, since, until)
    lines = read_observations(path)
    try:
        return observe(network, lines, since, until)
    except orjson.JSONDecodeError as exc:  # pragma: no cover - the decoder keeps them
        raise ObservationError(f"{path}: {exc}") from None


def history_window(network: Network, store_url: str, since: float,
                   until: float | None = None, name: str | None = None) -> ObservedWindow:
    """The window as the live twin's history store has it: arc rates, link status (carried
    forward), radio levels and events. Drops are not stored there (nan), so capacity losses
    are found from rates and alarms only."""
    from sqlalchemy import select

    from nettwin.live.store import Store, events, history_key, link_status, radio, rates

    key = name or history_key(network)
    hi = math.inf if until is None else until
    store = Store(store_url)
    try:
        with store.engine.connect() as conn:
            def rows(table: Any, *cols: Any) -> list[Any]:
                q = select(*cols).where(table.c.network == key, table.c.time >= since)
                if until is not None:
                    q = q.where(table.c.time <= hi)
                return list(conn.execute(q.order_by(table.c.time)))

            r_rows = rows(rates, rates.c.time, rates.c.arc, rates.c.rate_bps)
            s_rows = rows(link_status, link_status.c.time, link_status.c.link,
                          link_status.c.up)
            x_rows = rows(radio, radio.c.time, radio.c.link, radio.c.modulation,
                          radio.c.rsl_dbm)
            e_rows = rows(events, events.c.time, events.c.object, events.c.event,
                          events.c.severity, events.c.message)
    finally:
        store.close()
    if not r_rows:
        raise ObservationError(f"the history store {store_url} holds no rates of network "
                               f"{key!r} since {since:.0f}: ingest observations first "
                               "(nettwin ingest) or give --observations")
    t = np.array([float(r[0]) for r in r_rows])
    arc = np.array([int(r[1]) for r in r_rows], np.int64)
    m = 2 * len(network.links)
    ok = (arc >= 0) & (arc < m)
    t, arc = t[ok], arc[ok]
    rate = np.array([float(r[2]) for r in r_rows])[ok]
    grid = np.unique(t)
    if grid.size < 4:
        raise ObservationError(f"only {grid.size} instant(s) of history since {since:.0f}: "
                               "need at least 4")
    k_of = np.searchsorted(grid, t)
    carried = np.full((grid.size, m), np.nan)
    carried[k_of, arc] = rate
    link_index = {lid: i for i, lid in enumerate(network.links)}
    up = np.ones((grid.size, m), np.int8)
    for tt, lid, is_up in s_rows:  # carried forward from each change
        if lid in link_index:
            k = int(np.searchsorted(grid, float(tt)))
            i = link_index[lid]
            up[k:, [2 * i, 2 * i + 1]] = 1 if is_up else 0
    reported = np.zeros(m, bool)
    reported[arc] = True
    last = np.full(m, -np.inf)
    np.maximum.at(last, arc, t)
    radio_links = tuple(lid for lid, link in network.links.items() if link.radio is not None)
    r_index = {lid: i for i, lid in enumerate(radio_links)}
    rsl = np.full((grid.size, len(radio_links)), np.nan)
    rcap = np.full((grid.size, len(radio_links)), np.nan)
    for tt, lid, mod, level in x_rows:
        if lid in r_index:
            k = min(int(np.searchsorted(grid, float(tt))), grid.size - 1)
            if level is not None:
                rsl[k, r_index[lid]] = float(level)
            if mod == "down":
                rcap[k, r_index[lid]] = 0.0
    evs = tuple(Event(float(tt), str(o), str(e), str(s or ""), str(msg or ""))
                for tt, o, e, s, msg in e_rows)
    return ObservedWindow(grid, carried, np.full((grid.size, m), np.nan), up, reported, last,
                          radio_links, rsl, rcap, evs, 0)
