"""The state of one service instance (networks, their compiled arrays and caches, jobs,
tokens, the live hub, metrics) and the dependency routes get it through."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Annotated, Any

import yaml
from fastapi import Depends, HTTPException, Request
from prometheus_client import CollectorRegistry, Counter, Histogram

from nettwin.api.auth import TokenStore
from nettwin.api.jobs import JobManager
from nettwin.api.live import LiveHub
from nettwin.api.oidc import OidcConfig, OidcVerifier
from nettwin.api.payloads import RecentResults
from nettwin.api.persistence import ServiceStore
from nettwin.api.processes import WhatIfProcesses
from nettwin.api.security import AuditLog, outcome_of
from nettwin.api.settings import Settings
from nettwin.api.shadow_agents import ShadowAgents
from nettwin.api.views import radio_of
from nettwin.engine import CompiledNetwork, SimulationResult, compile_network
from nettwin.engine import simulate as run_simulation
from nettwin.errors import NetworkGoneError
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.model import Network
from nettwin.radio.acm import AcmProfile, load_acm_profiles
from nettwin.radio.budget import RadioArrays
from nettwin.radio.storm import Storm, parse_storm


class Twin:
    """State of one service instance: networks by id, their compiled arrays, jobs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.networks: dict[str, Network] = {}
        self.compiled: dict[str, CompiledNetwork] = {}
        self.baselines: dict[str, SimulationResult] = {}
        self.profiles: dict[str, dict[str, AcmProfile]] = {}  # extra ACM ladders per network
        self.storms: dict[str, Storm] = {}  # the storm a network's dashboard offers first
        # capacity modules an uploaded file gave (SNDlib), as a modules.yaml document
        self.modules: dict[str, dict[str, Any]] = {}
        self.live_ids: list[str] = []  # networks fed simulated telemetry
        self._cache: dict[tuple[str, str], Any] = {}
        # networks a delete has begun on: reads answer 404 for them from its first step
        self._deleting: set[str] = set()
        self._deleting_lock = threading.Lock()
        self.tokens = TokenStore(settings.tokens_file)
        self.audit_log = AuditLog(settings.audit_file, settings.audit_anonymous_per_s,
                                  settings.audit_max_bytes)
        self.oidc = OidcVerifier(OidcConfig(
            issuer=settings.oidc_issuer,
            jwks_url=settings.oidc_jwks_url
            or f"{settings.oidc_issuer.rstrip('/')}/protocol/openid-connect/certs",
            audience=settings.oidc_audience, roles_claim=settings.oidc_roles_claim,
            role_prefix=settings.oidc_role_prefix, leeway_s=settings.oidc_leeway_s,
            refresh_cooldown_s=settings.oidc_refresh_cooldown_s,
            jwks_cache_s=settings.oidc_jwks_cache_s,
        )) if settings.oidc_issuer else None
        self.saved = ServiceStore(settings.history_url)  # uploaded networks and jobs
        self.jobs = JobManager.of(settings)
        self.recent = RecentResults(2)  # simulations paged through
        # what-ifs and sweeps start from these (api.basis): a few, as each holds a network's
        # baseline run and its incremental-engine state (~60 MB at 1,000 nodes, 1M demands)
        self.bases = RecentResults(settings.bases_kept)
        # failure what-ifs on them answered in worker processes (started on first use)
        self.processes = WhatIfProcesses(settings.whatif_process_count(),
                                         int(settings.whatif_process_max_mb * 2**20))
        self.live = LiveHub(settings.store_url, settings.data_dir,
                            counter_noise=settings.counter_noise,
                            timezone=settings.timezone)
        self.shadow = ShadowAgents()  # policies in continuous shadow mode
        self.registry = CollectorRegistry()
        self.requests = Counter("nettwin_http_requests", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("nettwin_http_request_seconds", "Request latency",
                                 ["route"], registry=self.registry)
        self.telemetry_errors = Counter(
            "nettwin_simulated_telemetry_errors", "Simulated telemetry ticks that failed "
            "(each logged; the feed goes on)", ["network"], registry=self.registry)

    def add(self, network: Network, modules: dict[str, Any] | None = None) -> str:
        """Keep an uploaded network (and the capacity modules its file gave) under a new id."""
        nid = uuid.uuid4().hex[:12]
        self.saved.save_network(nid, network, modules)  # first: a refusal leaves nothing
        self.networks[nid] = network
        if modules is not None:
            self.modules[nid] = modules
        return nid

    def baseline(self, nid: str) -> SimulationResult:
        """The no-change run of a network, computed once and reused by what-ifs."""
        _network, compiled = self.get(nid)
        base = self.baselines.get(nid)
        if base is None:
            base = run_simulation(compiled)
            self._keep(self.baselines, nid, base)
        return base

    def cached(self, nid: str, key: str, make: Callable[[], Any]) -> Any:
        """Something derived from a network, computed on first use (dropped on delete)."""
        if (nid, key) in self._cache:
            return self._cache[nid, key]
        value = make()
        with self._deleting_lock:  # as ``_keep``: nothing kept for a network deleted meanwhile
            if self.has(nid):
                self._cache[nid, key] = value
        return value

    def radio(self, nid: str) -> RadioArrays | None:
        """The network's microwave links as arrays (None: it has none that can be modelled)."""
        network, _c = self.get(nid)
        radio: RadioArrays | None = self.cached(
            nid, "radio", lambda: radio_of(network, self.profiles.get(nid, {})))
        return radio

    def default_storm(self, nid: str) -> Storm | None:
        return self.storms.get(nid)

    def forget(self, nid: str) -> None:
        """Delete a network, atomic as a client sees it. From its first step every read
        answers 404 (``get``, ``listed``, ingestion, new proposals); a batch or proposal
        being written finishes first. Then one transaction deletes everything stored for it
        (live rows, proposals, the network), then memory lets it go. A store that fails
        leaves the network whole, in memory and in the store (a restart finds what the
        client sees again), taking observations again, and raises StoreError."""
        with self._deleting_lock:
            if not self.has(nid):  # no such network, or another request is deleting it
                raise HTTPException(404, detail=f"no network {nid!r}")
            self._deleting.add(nid)
        try:
            self.live.retire(nid)
            self.saved.delete_network(nid)
        except BaseException:
            self.live.reopen(nid)
            with self._deleting_lock:
                self._deleting.discard(nid)
            raise
        for store in (self.networks, self.compiled, self.baselines, self.profiles, self.storms,
                      self.modules):
            store.pop(nid, None)
        self._cache = {k: v for k, v in self._cache.items() if k[0] != nid}
        self.bases.forget(lambda key: key[1] == nid)  # type: ignore[index]
        if nid in self.live_ids:
            self.live_ids.remove(nid)
        self.live.drop(nid)
        self.shadow.forget_network(nid)
        with self._deleting_lock:
            self._deleting.discard(nid)  # gone from ``networks`` now (ids are never reused)

    def has(self, nid: str) -> bool:
        """Whether reads see the network (not while it is being deleted)."""
        return nid in self.networks and nid not in self._deleting

    def listed(self) -> dict[str, Network]:
        """The networks reads see, by id."""
        return {nid: n for nid, n in list(self.networks.items()) if nid not in self._deleting}

    def replace_network(self, nid: str, network: Network) -> None:
        """Keep a changed network (PUT .../slices) under its id, in memory and the store;
        one being deleted is not brought back (NetworkGoneError). The store first: one that
        fails leaves memory as the store has it (what a restart would find)."""
        with self._deleting_lock:
            self._refuse_if_deleting(nid)
            self.saved.save_network(nid, network)
            self.networks[nid] = network

    def record_proposal(self, nid: str, owner: str, record: dict[str, Any]) -> None:
        """Keep a shadow-mode record; none is written for a network being deleted (its
        delete would leave it behind), NetworkGoneError instead."""
        with self._deleting_lock:
            self._refuse_if_deleting(nid)
            self.saved.save_proposal(nid, owner, record)

    def _refuse_if_deleting(self, nid: str) -> None:
        if not self.has(nid):
            raise NetworkGoneError(f"network {nid!r} is being deleted or was: nothing more "
                                   "is kept for it")

    def load_examples(self) -> None:
        """The embedded default: Abilene (IP core) as 'example' and the Munich microwave
        backhaul as 'munich', with its vendor ACM table and the bundled squall line; both
        fed simulated telemetry. Examples already present are left alone."""
        if "example" not in self.networks:
            self.networks["example"] = load_network(example_path())
        if "munich" not in self.networks:
            munich = example_path("munich-backhaul")
            self.networks["munich"] = load_network(munich)
            self.profiles["munich"] = load_acm_profiles(
                munich.with_name("munich-acm-38ghz.txt"))
            self.storms["munich"] = parse_storm(
                yaml.safe_load(example_path("munich-storm").read_text(encoding="utf-8")),
                "munich-storm.yaml")
        self.live_ids.extend(n for n in ("example", "munich") if n not in self.live_ids)

    def get(self, nid: str) -> tuple[Network, CompiledNetwork]:
        network = self.require(nid)
        compiled = self.compiled.get(nid)
        if compiled is None:
            compiled = compile_network(network)
            self._keep(self.compiled, nid, compiled)
        return network, compiled

    def require(self, nid: str) -> Network:
        """The network (404 when reads do not see it), without compiling it."""
        network = self.networks.get(nid)
        if network is None or not self.has(nid):
            raise HTTPException(404, detail=f"no network {nid!r}")
        return network

    def _keep(self, store: dict[str, Any], nid: str, value: Any) -> None:
        """Keep something derived from a network unless a delete began or ended while it
        was made: a read that found the network answers from what it found, but nothing
        is kept in memory under an id that no request can reach any more."""
        with self._deleting_lock:
            if self.has(nid):
                store[nid] = value


    def audit(self, who: str, method: str, path: str, status: int) -> None:
        """One audit line for a call that did not come through the REST middleware (the
        MCP door): who, what, status and outcome, as the middleware writes them."""
        self.audit_log.write({"who": who, "what": f"{method} {path}", "route": method.lower(),
                              "status": status, "outcome": outcome_of(status)})

async def get_twin(request: Request) -> Twin:
    """Dependency: the service state of the app serving this request (async: it only reads
    an attribute, so no request pays a hop through the thread pool for it)."""
    twin: Twin = request.app.state.twin
    return twin


TwinDep = Annotated[Twin, Depends(get_twin)]
