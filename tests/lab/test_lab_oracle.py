"""Diagnosis against the real lab, without FRR: faults injected into FRR routers running
OSPF (links cut, costs changed on both routers, data rates shaped below the load, routers
lost), their telemetry kept in ``data/`` with what was injected. The episodes go through
the live twin (history store) again and the ranking must name what was injected."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from nettwin.lab.episodes import diagnose_episodes, read_episodes

DATA = Path(__file__).parent / "data" / "abilene-lab-faults.jsonl.gz"


def test_the_stored_lab_episodes_cover_the_lab_faults() -> None:
    network, episodes = read_episodes(DATA)
    kinds = Counter(ep["label"]["kind"] for ep in episodes)
    assert len(episodes) >= 20
    assert {"link_down", "metric_changed", "capacity_degraded"} <= set(kinds)
    for ep in episodes:  # the fault lies inside its window, every element is the lab's
        times = [r["time"] for r in ep["records"]]
        assert min(times) < ep["label"]["onset"] < max(times)
        assert ep["label"]["element"] in network.links or \
            ep["label"]["element"] in network.nodes


def test_one_fault_of_each_kind_is_named() -> None:
    network, episodes = read_episodes(DATA)
    last = {ep["label"]["kind"]: ep for ep in episodes}  # one episode of each kind
    for s in diagnose_episodes(network, list(last.values())):
        assert s.hit(1), (s.label["description"], s.got)


@pytest.mark.slow
def test_the_ranking_names_what_was_injected_in_the_lab() -> None:
    network, episodes = read_episodes(DATA)
    scored = list(diagnose_episodes(network, episodes))
    assert all(s.dead_letters == 0 for s in scored)
    top1 = sum(s.hit(1) for s in scored) / len(scored)
    top3 = sum(s.hit(3) for s in scored) / len(scored)
    misses = [(s.label["description"], s.got[0]) for s in scored if not s.hit(1)]
    assert top1 >= 0.8, misses
    assert top3 >= 0.9, misses
    # the silent fault (no event, only counters) is found too
    silent = [s for s in scored if s.label["kind"] == "capacity_degraded"]
    assert silent and sum(s.hit(3) for s in silent) >= 0.8 * len(silent)
