"""The notebook API (nettwin.run and friends) against the networkx ECMP oracle, and the
README's Python section and the package docstrings executed as doctests."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pytest

import nettwin
import nettwin.examples
import nettwin.notebook
from nettwin.reference import reference_ecmp
from tests.conftest import data_path

ROOT = Path(__file__).resolve().parents[1]


def test_failure_by_id_matches_the_networkx_oracle() -> None:
    net = nettwin.examples.abilene()
    res = nettwin.run(net, fail_links=["Denver--Kansas-City"], fail_nodes=["Houston"],
                      scale=1.3)
    links = list(net.links)
    arcs = res.arcs.to_pydict()
    # The failed link and every link touching Houston are down, both directions, by id.
    for link, up, src, dst in zip(arcs["link"], arcs["up"], arcs["src"], arcs["dst"],
                                  strict=True):
        assert up == (link != "Denver--Kansas-City" and "Houston" not in (src, dst))
    # The oracle routes the same (scaled) demands on the same surviving arcs with networkx.
    arc_up = np.asarray(arcs["up"])
    rate = net.demands.rate_bps * 1.3
    ref = reference_ecmp(net, arc_up=arc_up, demand_rate_bps=rate)
    np.testing.assert_allclose(np.asarray(arcs["load_bps"]), ref.arc_load_bps,
                               rtol=1e-9, atol=1e-3)
    np.testing.assert_array_equal(np.asarray(res.demands["routed"]), ref.routed)
    assert res.demands["rate_bps"].to_numpy() == pytest.approx(rate)
    # Table rows line up with the network's own order and ids.
    assert arcs["link"][::2] == links
    assert res.demands["id"].to_pylist() == list(net.demand_ids)
    util = np.asarray(arcs["load_bps"]) / np.asarray(arcs["capacity_bps"])
    assert res.kpis["max_utilisation"] == pytest.approx(util[arc_up].max())


def test_services_table_agrees_with_the_demands_it_covers() -> None:
    net = nettwin.examples.abilene()
    res = nettwin.run(net, scale=2.0)
    demands = res.demands.to_pandas().set_index("id")
    for row in res.services.to_pylist():
        members = demands.loc[list(net.services[row["id"]].demands)]
        assert row["worst_delay_s"] == pytest.approx(members["delay_worst_s"].max())
        assert row["worst_loss"] == pytest.approx(members["loss"].max())
        late = row["max_delay_s"] is not None and row["worst_delay_s"] > row["max_delay_s"]
        lossy = row["max_loss"] is not None and row["worst_loss"] > row["max_loss"]
        assert row["violated"] == (late or lossy)


def test_unknown_ids_name_the_closest_valid_ones() -> None:
    net = nettwin.examples.abilene()
    with pytest.raises(nettwin.ValidationError) as err:
        nettwin.run(net, fail_links=["Denver--KansasCity"], fail_nodes=["Huston"])
    text = str(err.value)
    assert "'Denver--KansasCity'" in text and "did you mean 'Denver--Kansas-City'" in text
    assert "'Huston'" in text and "did you mean 'Houston'" in text
    assert len(err.value.problems) == 2
    with pytest.raises(nettwin.ValidationError, match=r"fail_links=\['Denver--Kansas-City'\]"):
        nettwin.run(net, fail_links="Denver--Kansas-City")
    with pytest.raises(nettwin.ValidationError, match="scale"):
        nettwin.run(net, scale=-1)


def test_an_id_listed_twice_is_refused_naming_both_places() -> None:
    net = nettwin.examples.abilene()
    link = "Denver--Kansas-City"
    with pytest.raises(nettwin.ValidationError) as err:
        nettwin.run(net, fail_links=[link, "Chicago--Indianapolis", link],
                    fail_nodes=["Houston", "Houston"])
    assert [(p.element, p.value) for p in err.value.problems] == [
        ("fail_links[2]", link), ("fail_nodes[1]", "Houston")]
    text = str(err.value)
    assert f"fail_links[2]: link failed twice, first by fail_links[0] (got '{link}')" in text
    assert "Fix: fail each node once" in text


def test_options_dict_means_what_the_dataclass_means(tmp_path: Path) -> None:
    """``options`` as a dict of field values runs exactly as the SimulationOptions built
    from the enums (the oracle); a name or value the dataclass does not have is refused
    with the field named, never silently ignored."""
    import yaml

    from nettwin.engine import ArrivalModel, QueueModel, SimulationOptions

    doc = yaml.safe_load((ROOT / "src/nettwin/examples/abilene.yaml").read_text())
    for demand in doc["demands"]:             # bursty on-off sources: the arrival model matters
        demand.update(arrival="onoff", peak_rate_bps=5 * demand["rate_bps"], on_mean_s=0.01)
    path = tmp_path / "bursty.yaml"
    path.write_text(yaml.safe_dump(doc))
    net = nettwin.load_network(path)

    def delays(options: SimulationOptions | dict[str, str]) -> np.ndarray:
        res = nettwin.run(net, scale=1.4, options=options)
        return np.asarray(res.arcs["delay_s"])

    for arrival in ArrivalModel:
        for queue in (QueueModel.MM1, QueueModel.MD1):
            want = delays(SimulationOptions(queue_model=queue, arrival_model=arrival))
            got = delays({"queue_model": queue.value, "arrival_model": arrival.value})
            np.testing.assert_array_equal(got, want)
    # The check above only means something if the two arrival models differ here.
    assert not np.allclose(delays(SimulationOptions(arrival_model=ArrivalModel.BURSTY)),
                           delays(SimulationOptions(arrival_model=ArrivalModel.POISSON)))
    with pytest.raises(nettwin.ValidationError, match="did you mean 'arrival_model'"):
        nettwin.run(net, options={"arival_model": "poisson"})
    with pytest.raises(nettwin.ValidationError, match=r"queue_model.*'mm1', 'md1'"):
        nettwin.run(net, options={"queue_model": "mm2"})
    with pytest.raises(nettwin.ValidationError, match="mean_packet_bytes"):
        nettwin.run(net, options={"mean_packet_bytes": -1})


def test_path_and_traffic_file_inputs() -> None:
    xml = data_path("sndlib", "xml", "abilene.xml")
    tm = data_path("traffic", "abilene-zhang-5min",
                   "demandMatrix-abilene-zhang-5min-20040301-1200.xml")
    res = nettwin.run(xml, traffic=tm)
    net = nettwin.load_traffic(nettwin.load_network(xml), tm)
    ref = reference_ecmp(net)
    np.testing.assert_allclose(res.arcs["load_bps"].to_numpy(), ref.arc_load_bps,
                               rtol=1e-9, atol=1e-3)
    assert res.demands["rate_bps"].to_numpy().sum() == pytest.approx(
        net.demands.rate_bps.sum())


def test_munich_example_runs_and_pure() -> None:
    net = nettwin.examples.munich()
    first = nettwin.run(net, fail_links=[next(iter(net.links))])
    again = nettwin.run(net)
    assert int((~first.arcs["up"].to_numpy()).sum()) == 2
    assert bool(again.arcs["up"].to_numpy().all())  # the first run wrote nothing into net
    assert "RunResult" in repr(first) and "1 down" in repr(first)
    assert "<table>" in first._repr_html_()


@pytest.mark.parametrize("module", [nettwin, nettwin.notebook, nettwin.examples])
def test_docstring_examples_run(module: object) -> None:
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert tried > 0 and failures == 0


def test_readme_python_section_runs() -> None:
    """The README's ``>>>`` examples are executed, outputs compared: it cannot rot again."""
    result = doctest.testfile(str(ROOT / "README.md"), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0
