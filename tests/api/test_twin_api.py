"""The live twin over the API: observations in, state, history and traffic matrix out."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from nettwin import compile_network, simulate
from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.estimate import estimate_tm, routing_matrix
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live.simulated import counter_records
from tests.conftest import february_days, pair_rows, write_dated_matrix

NET = load_network(example_path())
T0 = 1.7e9


def test_observations_state_history_and_matrix(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store = TokenStore(settings.tokens_file)
    op = {"Authorization": f"Bearer {store.create('op', Role.OPERATOR)}"}
    rate = simulate(compile_network(NET)).arc_load_bps
    steps = list(counter_records(NET, rate, start=T0, interval_s=60, steps=2))
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/v1/networks/example/observations",
                        json={"items": steps[0] + [{"kind": "counter", "time": T0,
                                                    "device": "Gotham", "interface": "x",
                                                    "out_octets": 1}, "not an object"]},
                        headers=op)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["dead_letters"] == 2
        assert any("unknown port device='Gotham'" in p["reason"] for p in doc["problems"])
        for step in steps[1:]:
            assert client.post("/api/v1/networks/example/observations", json={"items": step},
                               headers=op).status_code == 200
        client.post("/api/v1/networks/example/observations", headers=op, json={"items": [
            {"kind": "event", "time": T0 + 150, "object": "Denver--Kansas-City",
             "event": "link_down"}]}).raise_for_status()
        live = client.get("/api/v1/networks/example/live", headers=op).json()
        measured = np.array([a["rate_bps"] for a in live["arcs"]], dtype=float)
        np.testing.assert_allclose(measured, rate, rtol=1e-9)
        assert live["links_down"] == ["Denver--Kansas-City"]
        diff = client.get("/api/v1/networks/example/history",
                          params={"at": T0 + 100, "to": T0 + 200}, headers=op).json()
        assert diff["links"] == {"Denver--Kansas-City": {"before": True, "after": False}}
        past = client.get("/api/v1/networks/example/history", params={"at": T0 + 100},
                          headers=op).json()
        assert past["links_down"] == [] and len(past["arcs"]) == 2 * len(NET.links)
        tm = client.get("/api/v1/networks/example/traffic-matrix",
                        params={"limit": 100_000}, headers=op).json()
    # the library's tomogravity on the same counters, routed without the failed link
    c = compile_network(NET)
    lk = list(NET.links).index("Denver--Kansas-City")
    up = np.ones(c.n_arcs, bool)
    up[[2 * lk, 2 * lk + 1]] = False
    rm = routing_matrix(c, up)
    est = estimate_tm(rm, np.where(up, rate, np.nan), c.arc_src, c.arc_dst, c.n_nodes)
    assert est.std_bps is not None
    ids = NET.node_ids
    want = {(ids[s], ids[d]): (float(x), float(sd)) for s, d, x, sd
            in zip(est.src, est.dst, est.rate_bps, est.std_bps, strict=True) if x > 0}
    got = {(p["src"], p["dst"]): (p["rate_bps"], p["std_bps"]) for p in tm["pairs"]}
    assert got.keys() == want.keys()
    for pair, (x, sd) in want.items():
        assert got[pair] == pytest.approx((x, sd), rel=1e-9), pair
    rates = [p["rate_bps"] for p in tm["pairs"]]
    assert rates == sorted(rates, reverse=True)  # largest pairs first
    assert tm["total_bps"] == pytest.approx(float(est.rate_bps.sum()), rel=1e-12)


def test_traffic_history_prior_over_the_api(tmp_path: Path) -> None:
    from nettwin.estimate import pair_rates
    from nettwin.estimate.history import TmHistory, estimate_tm_with_prior, prior_from_history
    from nettwin.timezones import day_of_week

    settings = Settings(data_dir=tmp_path)
    op = {"Authorization": f"Bearer {TokenStore(settings.tokens_file).create('op', Role.OPERATOR)}"}
    c = compile_network(NET)
    rm = routing_matrix(c)
    truth = pair_rates(c, rm)
    rng = np.random.default_rng(3)
    past = [truth * rng.uniform(0.6, 1.4, truth.size) for _ in range(6)]  # measured days
    ids = NET.node_ids
    body = {"matrices": [{"time": f"2026-12-0{k + 1}T{8 + k:02d}:00:00Z",
                          "demands": pair_rows(NET, x)} for k, x in enumerate(past)]}
    rate = simulate(c).arc_load_bps
    with TestClient(create_app(settings)) as client:
        base = "/api/v1/networks/example"
        assert client.get(f"{base}/traffic-history", headers=op).json()["prior"] == "gravity"
        bad = {"matrices": [{"demands": [{"src": "Gotham", "dst": ids[0], "rate_bps": 1}]}]}
        r = client.put(f"{base}/traffic-history", json=bad, headers=op)
        assert r.status_code == 422 and "Gotham" in r.text and "matrix #0" in r.text
        assert "matrix matrix" not in r.text
        r = client.put(f"{base}/traffic-history", json=body, headers=op)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["prior"] == "history" and doc["matrices"] == 6
        assert doc["validation_matrices"] >= 1 and doc["alarm_innovation"] > 0
        for step in counter_records(NET, rate, start=T0, interval_s=60, steps=2):
            client.post(f"{base}/observations", json={"items": step},
                        headers=op).raise_for_status()
        tm = client.get(f"{base}/traffic-matrix", params={"limit": 100_000},
                        headers=op).json()
        assert tm["prior"] == "history" and tm["drift"] is False
        assert 0 <= tm["misfit"] <= 1  # no alarm: the misfit within the counters' noise
        # the library's estimate with the prior learned from the same matrices
        # (and their days: 1 December 2026 a Tuesday, the 5th and 6th a weekend)
        times = np.array([(8 + k) * 3600.0 for k in range(6)])
        days = np.array([1.0, 2, 3, 4, 5, 6])
        prior, choice = prior_from_history(
            TmHistory(np.vstack(past), times, tuple("abcdef"), days), rm, c.n_nodes, edge=False)
        assert doc["day_type_weight"] == choice.day_weight
        est = estimate_tm_with_prior(rm, rate, prior, time_of_day_s=T0 % 86_400,
                                     day_of_week=day_of_week(T0))
        got = {(p["src"], p["dst"]): p["rate_bps"] for p in tm["pairs"]}
        want = {(ids[s], ids[d]): float(x) for s, d, x
                in zip(est.src, est.dst, est.rate_bps, strict=True) if x > 0}
        assert got.keys() == want.keys()
        for pair, x in want.items():
            assert got[pair] == pytest.approx(x, rel=1e-9), pair
        assert client.delete(f"{base}/traffic-history", headers=op).json()["prior"] == "gravity"
        tm = client.get(f"{base}/traffic-matrix", headers=op).json()
        assert tm["prior"] == "gravity" and tm["drift"] is None


def test_traffic_history_says_what_it_was_learned_from_and_survives_a_restart(
        tmp_path: Path) -> None:
    # the operator sees which matrices the prior was learned from and whether it came from
    # the request or the store; a time with a UTC offset is the same instant as in UTC
    from nettwin.live import Store, default_store_url
    from nettwin.live.store import history_key

    settings = Settings(data_dir=tmp_path)
    op = {"Authorization": f"Bearer {TokenStore(settings.tokens_file).create('op', Role.OPERATOR)}"}
    c = compile_network(NET)
    rm = routing_matrix(c)
    from nettwin.estimate import pair_rates

    truth = pair_rates(c, rm)
    rng = np.random.default_rng(5)
    hours = [1, 7, 13, 19]
    body = {"matrices": [{"label": f"m{k}", "time": f"2026-12-01T{h + 2:02d}:30:00+02:00",
                          "demands": pair_rows(NET, truth * rng.uniform(0.5, 1.5, truth.size))}
                         for k, h in enumerate(hours)]}
    base = "/api/v1/networks/example"
    with TestClient(create_app(settings)) as client:
        doc = client.put(f"{base}/traffic-history", json=body, headers=op).json()
        assert doc["labels"] == ["m0", "m1", "m2", "m3"] and doc["source"] == "request"
    kept = Store(default_store_url(tmp_path)).tm_history(history_key(NET, "example"))
    assert kept is not None
    np.testing.assert_allclose(kept.time_of_day_s, [h * 3600 + 1800 for h in hours])
    with TestClient(create_app(settings)) as client:  # a restart
        doc = client.get(f"{base}/traffic-history", headers=op).json()
        assert doc["prior"] == "history" and doc["source"] == "store"
        assert doc["labels"] == ["m0", "m1", "m2", "m3"]
        client.delete(f"{base}/traffic-history", headers=op).raise_for_status()
    with TestClient(create_app(settings)) as client:
        doc = client.get(f"{base}/traffic-history", headers=op).json()
        assert doc["prior"] == "gravity" and doc["labels"] == [] and doc["source"] is None


def test_deleting_a_network_deletes_what_the_store_keeps_for_it(role_api,  # type: ignore[no-untyped-def]
                                                                tmp_path: Path) -> None:
    # oracle: the store's own SQLite file, read with sqlite3
    import sqlite3

    from nettwin.estimate import pair_rates

    client, headers = role_api
    op, admin = headers[Role.OPERATOR], headers[Role.ADMIN]
    c = compile_network(NET)
    rm = routing_matrix(c)
    body = {"matrices": [{"demands": pair_rows(NET, pair_rates(c, rm))}]}
    up = client.post("/api/v1/networks", headers=admin,
                     files={"file": ("mine.yaml", example_path().read_bytes())})
    assert up.status_code == 201, up.text
    nid = up.json()["id"]
    base = f"/api/v1/networks/{nid}"
    assert client.put(f"{base}/traffic-history", json=body, headers=op).status_code == 200
    rate = simulate(c).arc_load_bps
    for step in counter_records(NET, rate, start=T0, interval_s=60, steps=2):
        client.post(f"{base}/observations", json={"items": step},
                    headers=op).raise_for_status()
    db = tmp_path / "twin.db"

    def rows() -> dict[str, int]:
        with sqlite3.connect(db) as conn:
            return {t: conn.execute(f"SELECT count(*) FROM {t} WHERE network LIKE ?",
                                    (f"{nid}#%",)).fetchone()[0]
                    for t in ("traffic_history", "rates", "counters")}

    assert all(rows().values()), rows()
    assert client.delete(base, headers=admin).status_code == 204
    assert rows() == {"traffic_history": 0, "rates": 0, "counters": 0}


def _daily_uploads(tmp_path: Path) -> tuple[dict[str, object], list[Path]]:
    """``february_days`` stamped at Berlin's midnight three ways (+01:00, naive, the
    instant in UTC), and the same matrices as files dated in their names (local dates)."""
    matrices, files = [], []
    for k, x in enumerate(february_days(NET, seed=11)):
        day = 1 + k
        stamp = (f"2005-02-{day:02d}T00:00:00+01:00", f"2005-02-{day:02d}T00:00:00",
                 f"2005-{2 - (day == 1):02d}-{day - 1 if day > 1 else 31:02d}T23:00:00Z")[k % 3]
        matrices.append({"time": stamp, "label": f"d{day}", "demands": pair_rows(NET, x)})
        files.append(write_dated_matrix(tmp_path / f"m-200502{day:02d}-0000.csv", NET, x))
    return {"matrices": matrices}, files


def test_an_upload_in_the_operators_zone_learns_the_prior_of_the_dated_files(
        tmp_path: Path) -> None:
    # oracle: the calendar, as the files' names write it (1 February 2005 a Tuesday, the
    # 5th a Saturday); with NETTWIN_TIMEZONE=Europe/Berlin an upload stamped at Berlin's
    # midnight (with its offset, without one, or as the instant in UTC) learns the days and
    # times of day of the files, and the live estimate reads the counters' time in Berlin
    from nettwin.estimate.history import estimate_tm_with_prior, prior_from_history
    from nettwin.io.tm_history import load_tm_history
    from nettwin.live import Store, default_store_url
    from nettwin.live.store import history_key

    body, files = _daily_uploads(tmp_path)
    c = compile_network(NET)
    rm = routing_matrix(c)
    hist = load_tm_history(files, list(NET.node_ids), rm)
    assert hist.day_of_week is not None
    assert hist.day_of_week[:5].tolist() == [1, 2, 3, 4, 5]  # Tuesday .. Saturday
    prior, choice = prior_from_history(hist, rm, c.n_nodes, edge=False)
    assert choice.day_weight < 1.0  # the weekends differ: the day type matters
    base = "/api/v1/networks/example"
    for zone in ("Europe/Berlin", None):
        data = tmp_path / f"svc-{zone is None}"
        settings = (Settings(data_dir=data) if zone is None
                    else Settings(data_dir=data, timezone=zone))
        op = {"Authorization":
              f"Bearer {TokenStore(settings.tokens_file).create('op', Role.OPERATOR)}"}
        with TestClient(create_app(settings)) as client:
            r = client.put(f"{base}/traffic-history", json=body, headers=op)
            assert r.status_code == 200, r.text
            doc = r.json()
            assert doc["timezone"] == (zone or "UTC")
            if zone is not None:
                assert doc["day_type_weight"] == choice.day_weight
                assert doc["time_of_day_bins"] == choice.bins
                assert doc["validation_error"] == pytest.approx(choice.validation_error,
                                                                rel=1e-12)
                # Friday 11 February 23:30 UTC: Saturday 00:30 in Berlin (a weekend hour)
                t = datetime.datetime(2005, 2, 11, 23, 30, tzinfo=datetime.UTC).timestamp()
                rate = rm.a @ (hist.rate_bps[4] * 1.02)
                for step in counter_records(NET, rate, start=t - 60, interval_s=60, steps=2):
                    client.post(f"{base}/observations", json={"items": step},
                                headers=op).raise_for_status()
                tm = client.get(f"{base}/traffic-matrix", params={"limit": 100_000},
                                headers=op).json()
                est = estimate_tm_with_prior(rm, rate, prior, time_of_day_s=1800.0,
                                             day_of_week=5.0, noise=settings.counter_noise)
                got = {(p["src"], p["dst"]): p["rate_bps"] for p in tm["pairs"]}
                ids = NET.node_ids
                for s, d, x in zip(est.src, est.dst, est.rate_bps, strict=True):
                    if x > 0:
                        assert got[(ids[s], ids[d])] == pytest.approx(x, rel=1e-9)
        kept = Store(default_store_url(data)).tm_history(history_key(NET, "example"))
        assert kept is not None and kept.day_of_week is not None
        if zone is not None:
            np.testing.assert_array_equal(kept.day_of_week, hist.day_of_week)
            np.testing.assert_array_equal(kept.time_of_day_s, hist.time_of_day_s)
        else:  # the default, UTC, as before: an instant at Berlin's midnight is 23:00 UTC
            # the day before; a naive stamp is taken as written
            naive = np.arange(14) % 3 == 1
            np.testing.assert_array_equal(
                kept.day_of_week, np.where(naive, hist.day_of_week, (hist.day_of_week - 1) % 7))
            np.testing.assert_array_equal(kept.time_of_day_s, np.where(naive, 0.0, 82_800.0))


def test_a_bad_time_zone_setting_is_refused_naming_it() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        Settings(timezone="Europe/Berln")
    assert "'Europe/Berln'" in str(info.value) and "did you mean 'Europe/Berlin'" in str(
        info.value)
    assert Settings().timezone == "UTC"
