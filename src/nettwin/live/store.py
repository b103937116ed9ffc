"""History of the mirrored state, behind one interface (SQLAlchemy): an embedded SQLite file
by default, PostgreSQL when a URL says so (``postgresql+psycopg://...``).

Every row carries the network's ``history_key`` (its id and a fingerprint of its ports,
never the bare name). Append-only tables keep every measured rate, link status change, radio
reading, event, alarm change and dead letter with its time; ``counters`` keeps the last
counter values per port and ``cursors`` the last acknowledged position per source. One batch is one
transaction: its changes, its dead letters, the counters and the source position commit
together, so a restart resumes exactly where the store says (no sample lost or counted
twice). ``state_at(t)`` rebuilds the state at any past instant from the tables.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from nettwin.estimate.history import TmHistory
from nettwin.live.observations import DeadLetter, TimeWindow
from nettwin.live.state import Changes
from nettwin.model import Network
from nettwin.paths import data_dir

metadata = MetaData()
rates = Table("rates", metadata, Column("network", String(200), nullable=False),
              Column("time", Float, nullable=False), Column("arc", Integer, nullable=False),
              Column("rate_bps", Float, nullable=False),
              Index("rates_by_arc", "network", "arc", "time"))
link_status = Table("link_status", metadata, Column("network", String(200), nullable=False),
                    Column("time", Float, nullable=False), Column("link", Text, nullable=False),
                    Column("up", Boolean, nullable=False),
                    Index("status_by_link", "network", "link", "time"))
radio = Table("radio", metadata, Column("network", String(200), nullable=False),
              Column("time", Float, nullable=False), Column("link", Text, nullable=False),
              Column("modulation", Text), Column("rsl_dbm", Float),
              Index("radio_by_link", "network", "link", "time"))
events = Table("events", metadata, Column("network", String(200), nullable=False),
               Column("time", Float, nullable=False), Column("object", Text, nullable=False),
               Column("event", String(40), nullable=False), Column("severity", String(20)),
               Column("message", Text), Index("events_by_time", "network", "time"))
alarms = Table("alarms", metadata, Column("network", String(200), nullable=False),
               Column("time", Float, nullable=False), Column("object", Text, nullable=False),
               Column("type", String(60), nullable=False),
               Column("severity", String(20), nullable=False),
               Index("alarms_by_object", "network", "object", "type", "time"))
counters = Table("counters", metadata, Column("network", String(200), primary_key=True),
                 Column("port", Integer, primary_key=True), Column("time", Float),
                 Column("octets", Float), Column("drops", Float),
                 # the unit of ``drops``: "packets". Added later: stores written before
                 # hold NULL there, and their drops may be bytes (synth and the lab counted
                 # bytes then), so a restart does not difference them (``counters``)
                 Column("drop_unit", String(10)))
DROP_UNIT = "packets"
# columns added since tables were first created: (table, column, SQL type)
_ADDED = (("traffic_history", "written", "FLOAT"), ("counters", "drop_unit", "VARCHAR(10)"))
cursors = Table("cursors", metadata, Column("network", String(200), primary_key=True),
                Column("source", String(200), primary_key=True),
                Column("position", Integer, nullable=False))
# the measured matrices the traffic-matrix prior is learned from (``LiveTwin.use_history``):
# one row per network, the arrays as an .npz, so a restart learns the same prior again
traffic_history = Table("traffic_history", metadata,
                        Column("network", String(200), primary_key=True),
                        Column("matrices", Integer, nullable=False),
                        Column("pairs", Integer, nullable=False),
                        Column("payload", LargeBinary, nullable=False),
                        # when it was written (epoch s): carry_history takes the newest.
                        # Added later: a store from before has NULL there (see _upgrade)
                        Column("written", Float))
dead_letters = Table("dead_letters", metadata, Column("id", Integer, primary_key=True),
                     Column("network", String(200), nullable=False),
                     Column("received", Float, nullable=False),
                     Column("source", String(200), nullable=False),
                     Column("payload", Text, nullable=False),
                     Column("reason", Text, nullable=False))


def history_key(network: Network, network_id: str | None = None) -> str:
    """The key a network's history, counters and cursors are stored under: its id (the
    service's network id; the name where there is none) and a fingerprint of its ports, so a
    different network that reuses a name or an id never sees another's history, and port
    numbers never point at another network's ports."""
    digest = hashlib.sha256()
    for link in network.links.values():
        attrs = link.attributes or {}
        digest.update(json.dumps([link.id, link.a, link.b, str(attrs.get("interface_a")),
                                  str(attrs.get("interface_b"))]).encode())
    return f"{(network_id or network.name)[:180]}#{digest.hexdigest()[:12]}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Write-ahead log: readers do not block the ingesting writer; fsync at checkpoints."""
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


@dataclass(frozen=True)
class PastState:
    """The mirrored state at one instant, rebuilt from the history."""

    time: float
    arc_rate_bps: np.ndarray  # nan: never measured up to then
    arc_rate_time: np.ndarray
    link_up: dict[str, bool]  # links with a recorded change up to then
    modulation: dict[str, str | None]
    alarms: dict[tuple[str, str], str]  # (object, type) -> severity, active ones

    def snapshot(self, arc_labels: Sequence[str], capacity_bps: np.ndarray) -> dict[str, Any]:
        """The state then, in the shape of ``TwinState.snapshot`` (API, command line)."""
        util = self.arc_rate_bps / capacity_bps
        measured = util[np.isfinite(util)]
        return {
            "time": self.time, "max_utilisation": float(measured.max()) if measured.size
            else None,
            "links_down": sorted(k for k, up in self.link_up.items() if not up),
            "arcs": [{"arc": label, "rate_bps": None if math.isnan(self.arc_rate_bps[a])
                      else float(self.arc_rate_bps[a]),
                      "capacity_bps": float(capacity_bps[a]),
                      "utilisation": None if math.isnan(util[a]) else float(util[a])}
                     for a, label in enumerate(arc_labels)],
            "modulation": dict(self.modulation),
            "alarms": [{"object": o, "type": ty, "severity": sev}
                       for (o, ty), sev in sorted(self.alarms.items())]}


class Store:
    """One database (SQLite file or PostgreSQL) holding any number of networks' history."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)
        self._upgrade()
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        self._rates_sql = f"INSERT INTO rates (network, time, arc, rate_bps) VALUES " \
                          f"({mark}, {mark}, {mark}, {mark})"
        # the same upsert syntax in SQLite (>= 3.24) and PostgreSQL
        self._counters_sql = (
            f"INSERT INTO counters (network, port, time, octets, drops, drop_unit) VALUES "
            f"({mark}, {mark}, {mark}, {mark}, {mark}, '{DROP_UNIT}') ON CONFLICT (network, "
            "port) DO UPDATE SET time = excluded.time, octets = excluded.octets, drops = "
            "excluded.drops, drop_unit = excluded.drop_unit")
        self._insert = (postgresql.insert if self.engine.dialect.name == "postgresql"
                        else sqlite.insert)

    def close(self) -> None:
        self.engine.dispose()

    def _upgrade(self) -> None:
        """Columns added since a store was created (``create_all`` makes missing tables,
        never missing columns): added empty, so a store written before still reads."""
        for table, column, kind in _ADDED:
            if column in self._columns(table):
                continue
            # IF NOT EXISTS: two services may open an old store at once
            guard = "IF NOT EXISTS " if self.engine.dialect.name == "postgresql" else ""
            try:
                with self.engine.begin() as conn:
                    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {guard}{column} "
                                      f"{kind}"))
            except OperationalError:  # SQLite: another process added it meanwhile
                if column not in self._columns(table):
                    raise

    def _columns(self, table: str) -> set[str]:
        return {c["name"] for c in inspect(self.engine).get_columns(table)}

    # ------------------------------------------------------------------ write
    def commit(self, network: str, ch: Changes, dead: Sequence[DeadLetter] = (),
               cursor: tuple[str, int] | None = None, received: float = 0.0) -> None:
        """Append one batch's changes, dead letters, counters and source position, atomically."""
        with self.engine.begin() as conn:
            if ch.rates:  # the hot path: plain DB-API executemany, no per-row compiling
                conn.exec_driver_sql(self._rates_sql,
                                     [(network, t, a, r) for t, a, r in ch.rates])
            if ch.link_status:
                conn.execute(link_status.insert(), [
                    {"network": network, "time": t, "link": lk, "up": up}
                    for t, lk, up in ch.link_status])
            if ch.radio:
                conn.execute(radio.insert(), [
                    {"network": network, "time": t, "link": lk, "modulation": m, "rsl_dbm": r}
                    for t, lk, m, r in ch.radio])
            if ch.events:
                conn.execute(events.insert(), [
                    {"network": network, "time": t, "object": o, "event": e, "severity": s,
                     "message": msg} for t, o, e, s, msg in ch.events])
            t_alarm = ch.time if math.isfinite(ch.time) else received
            changes = ([(o, ty, sev) for o, ty, sev in ch.alarms_raised]
                       + [(o, ty, "cleared") for o, ty in ch.alarms_cleared])
            if changes:
                conn.execute(alarms.insert(), [
                    {"network": network, "time": ch.alarm_time.get((o, ty), t_alarm),
                     "object": o, "type": ty, "severity": sev} for o, ty, sev in changes])
            if ch.counters:
                conn.exec_driver_sql(self._counters_sql, [
                    (network, p, t, o, None if math.isnan(d) else d)
                    for p, t, o, d in ch.counters])
            if dead:
                conn.execute(dead_letters.insert(), [
                    {"network": network, "received": received, "source": d.source,
                     "payload": d.payload, "reason": d.reason} for d in dead])
            if cursor is not None:
                stmt = self._insert(cursors).values(network=network, source=cursor[0],
                                                    position=cursor[1])
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=["network", "source"],
                    set_={"position": stmt.excluded.position}))

    def save_tm_history(self, network: str, history: TmHistory,
                        pairs: Sequence[tuple[str, str]] | None = None) -> None:
        """Keep the measured matrices the prior is learned from (replacing earlier ones),
        with the (src, dst) node names of their columns: a network whose nodes are listed
        in another order reads them onto its own pairs."""
        buf = io.BytesIO()
        names = list(pairs or [])
        np.savez(buf, rate_bps=np.asarray(history.rate_bps, np.float64),
                 time_of_day_s=np.asarray(history.time_of_day_s, np.float64),
                 labels=np.array(history.labels, dtype=np.str_),
                 day_of_week=np.asarray(history.day_of_week if history.day_of_week
                                        is not None else [], np.float64),
                 src=np.array([a for a, _ in names], dtype=np.str_),
                 dst=np.array([b for _, b in names], dtype=np.str_))
        row = {"network": network, "matrices": history.n,
               "pairs": int(history.rate_bps.shape[1]), "payload": buf.getvalue(),
               "written": time.time()}
        with self.engine.begin() as conn:
            conn.execute(traffic_history.delete().where(traffic_history.c.network == network))
            conn.execute(traffic_history.insert(), [row])

    def forget_tm_history(self, network: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(traffic_history.delete().where(traffic_history.c.network == network))

    def tm_history_elsewhere(self, network: str) -> list[tuple[str, int]]:
        """(key, matrices) of the traffic histories kept under the other keys of the same
        network id (``history_key``): earlier versions of the network, whose links or ports
        have changed since. The most recently written first (those written before write
        times were kept last, in key order)."""
        return [(k, n) for k, n, _w in self.tm_histories_elsewhere(network)]

    def tm_histories_elsewhere(self, network: str) -> list[tuple[str, int, float | None]]:
        """As ``tm_history_elsewhere``, with each one's write time (epoch s; None: written
        before write times were kept)."""
        name = network.rsplit("#", 1)[0]  # a name may hold '#' itself: the digest is last
        prefix = name + "#"
        th = traffic_history.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(th.network, th.matrices, th.written)
                                .where(th.network.startswith(prefix, autoescape=True),
                                       th.network != network)
                                .order_by(th.written.desc().nulls_last(), th.network)).all()
        return [(str(k), int(n), None if w is None else float(w)) for k, n, w in rows
                if str(k).rsplit("#", 1)[0] == name]

    def forget_network(self, network_id: str) -> int:
        """Delete everything kept for a network id, under every key ``history_key`` gave
        it (each version of its ports); the number of rows deleted."""
        with self.engine.begin() as conn:
            return forget_network_rows(conn, network_id)

    def has_tm_history(self, network: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(traffic_history).where(
                traffic_history.c.network == network)).scalar() != 0

    def tm_history(self, network: str, pairs: Sequence[tuple[str, str]] | None = None
                   ) -> TmHistory | None:
        """The measured matrices kept for ``network``, or None; with ``pairs`` (src, dst
        node names) their columns in that order. A payload that cannot be read back, or
        kept on other node pairs, raises ValueError (the caller decides: the twin starts
        without it)."""
        with self.engine.connect() as conn:
            payload = conn.execute(select(traffic_history.c.payload).where(
                traffic_history.c.network == network)).scalar()
        if payload is None:
            return None
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as z:
                rate, tod, labels = z["rate_bps"], z["time_of_day_s"], z["labels"]
                # kept since December 2026 (an empty array: no dates)
                days = z["day_of_week"] if "day_of_week" in z.files else None
                src = z["src"] if "src" in z.files else None
                dst = z["dst"] if "dst" in z.files else None
        except (OSError, KeyError, ValueError, EOFError) as exc:
            raise ValueError(f"stored traffic history unreadable: {exc}") from None
        if rate.ndim != 2 or tod.shape != (rate.shape[0],) or labels.shape != tod.shape:
            raise ValueError(f"stored traffic history has shapes {rate.shape}, {tod.shape}, "
                             f"{labels.shape}")
        if pairs is not None and src is not None and dst is not None and src.size:
            column = {(str(a), str(b)): k for k, (a, b) in enumerate(zip(
                src.tolist(), dst.tolist(), strict=True))}  # ValueError when unequal
            missing = [p for p in pairs if p not in column]
            if missing or len(column) != len(pairs) or src.size != rate.shape[1]:
                raise ValueError(f"stored traffic history is on other node pairs ("
                                 f"{len(missing)} of this network's {len(pairs)} pairs "
                                 f"missing, e.g. {missing[:1]})")
            rate = rate[:, [column[p] for p in pairs]]
        if days is not None and days.shape != tod.shape:
            days = None
        return TmHistory(rate, tod, tuple(str(x) for x in labels.tolist()), days)

    # ------------------------------------------------------------------ read
    def counters(self, network: str, window: TimeWindow | None = None
                 ) -> list[tuple[int, float, float, float]]:
        """The last counter values per port, for a restart. A row whose time lies outside
        ``window`` (stored before times were checked: 1e300) is left out, so that port
        restarts its baseline instead of dropping every later sample as old. A drop counter
        kept without its unit (before drops were packets everywhere) reads as NaN: its next
        sample starts the drop baseline instead of being differenced against bytes."""
        window = window or TimeWindow.from_env()
        with self.engine.connect() as conn:
            rows = conn.execute(select(counters.c.port, counters.c.time, counters.c.octets,
                                       counters.c.drops, counters.c.drop_unit)
                                .where(counters.c.network == network))
            out = []
            for p, t, o, d, unit in rows:
                if unit != DROP_UNIT:  # kept before drops were packets: maybe bytes
                    d = None  # the port's drop counter starts a new baseline
                try:
                    window.check(float(t))
                except ValueError:
                    continue
                out.append((int(p), float(t), float(o), float("nan") if d is None else float(d)))
            return out

    def cursor(self, network: str, source: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(cursors.c.position).where(
                cursors.c.network == network, cursors.c.source == source)).scalar()

    def dead_letters(self, network: str, limit: int = 100) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(dead_letters).where(dead_letters.c.network == network)
                                .order_by(dead_letters.c.id.desc()).limit(limit))
            return [dict(r._mapping) for r in rows]

    def count(self, network: str, table: str = "rates") -> int:
        t = metadata.tables[table]
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t)
                                    .where(t.c.network == network)).scalar() or 0)

    def topology_changes(self, network: str, until: float) -> list[dict[str, Any]]:
        """Topology updates applied up to ``until``, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(events.c.message).where(
                events.c.network == network, events.c.event == "topology",
                events.c.time <= until).order_by(events.c.time))
            return [json.loads(m) for (m,) in rows]

    def time_range(self, network: str) -> tuple[float, float] | None:
        with self.engine.connect() as conn:
            lo, hi = conn.execute(select(func.min(rates.c.time), func.max(rates.c.time))
                                  .where(rates.c.network == network)).one()
        return None if lo is None else (float(lo), float(hi))

    def _latest(self, conn: Any, table: Table, keys: list[str], cols: list[str],
                network: str, at: float) -> list[Any]:
        rank = func.row_number().over(partition_by=[table.c[k] for k in keys],
                                      order_by=table.c.time.desc()).label("rank")
        inner = (select(*[table.c[k] for k in keys], *[table.c[c] for c in cols],
                        table.c.time, rank)
                 .where(table.c.network == network, table.c.time <= at).subquery())
        return list(conn.execute(select(inner).where(inner.c.rank == 1)))

    def state_at(self, network: str, n_arcs: int, at: float) -> PastState:
        """The state at ``at`` (epoch seconds): latest rate per arc, link status, modulation
        and the alarms active then."""
        rate = np.full(n_arcs, np.nan)
        rate_t = np.full(n_arcs, -np.inf)
        with self.engine.connect() as conn:
            for arc, r, t, _rank in self._latest(conn, rates, ["arc"], ["rate_bps"], network,
                                                 at):
                if 0 <= arc < n_arcs:
                    rate[arc], rate_t[arc] = r, t
            ups = {lk: bool(up) for lk, up, _t, _r in
                   self._latest(conn, link_status, ["link"], ["up"], network, at)}
            mods = {lk: m for lk, m, _t, _r in
                    self._latest(conn, radio, ["link"], ["modulation"], network, at)}
            active = {(o, ty): sev for o, ty, sev, _t, _r in
                      self._latest(conn, alarms, ["object", "type"], ["severity"], network, at)
                      if sev != "cleared"}
        return PastState(at, rate, rate_t, ups, mods, active)


def diff_states(before: PastState, after: PastState, arc_labels: Sequence[str],
                capacity_bps: np.ndarray, threshold: float = 0.05) -> dict[str, Any]:
    """What changed between two instants: links, modulation, alarms, and arcs whose
    utilisation moved by more than ``threshold``."""
    ub, ua = before.arc_rate_bps / capacity_bps, after.arc_rate_bps / capacity_bps
    moved = np.flatnonzero(np.abs(np.nan_to_num(ua) - np.nan_to_num(ub)) > threshold)
    return {
        "from": before.time, "to": after.time,
        "links": {lk: {"before": before.link_up.get(lk, True), "after": up}
                  for lk, up in after.link_up.items() if before.link_up.get(lk, True) != up},
        "modulation": {lk: {"before": before.modulation.get(lk), "after": m}
                       for lk, m in after.modulation.items() if before.modulation.get(lk) != m},
        "alarms_raised": sorted(f"{o} {ty} {sev}" for (o, ty), sev in after.alarms.items()
                                if before.alarms.get((o, ty)) != sev),
        "alarms_cleared": sorted(f"{o} {ty}" for (o, ty) in before.alarms
                                 if (o, ty) not in after.alarms),
        "arcs": [{"arc": arc_labels[a],
                  "utilisation_before": None if np.isnan(ub[a]) else float(ub[a]),
                  "utilisation_after": None if np.isnan(ua[a]) else float(ua[a])}
                 for a in moved.tolist()],
    }


def forget_network_rows(conn: Connection, network_id: str) -> int:
    """``Store.forget_network`` inside a transaction the caller holds: the service deletes
    a network's live rows, its proposals and the network itself in one (all or nothing)."""
    deleted = 0
    for table in metadata.sorted_tables:
        col = table.c.get("network")
        if col is None:
            continue
        deleted += conn.execute(table.delete().where(
            (col == network_id) | col.startswith(f"{network_id}#", autoescape=True))
        ).rowcount
    return deleted


def default_store_url(folder: Path | None = None) -> str:
    """Embedded SQLite file ``twin.db`` in ``folder`` (default: the data folder,
    NETTWIN_DATA_DIR or ~/.local/share/nettwin), created if missing: the folder 0700 and
    the file 0600, as ``nettwin serve`` makes them (the history is the network's traffic)."""
    folder = folder or data_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    # created empty before SQLite opens it (a valid empty database); its -wal/-shm inherit
    os.close(os.open(folder / "twin.db", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    return f"sqlite:///{folder / 'twin.db'}"
