"""A read that compiles a network while a delete of it completes: the read answers from the
network it found or 404, never a 500 (KeyError), and nothing is kept in memory for the
deleted id afterwards (oracle: the service's own maps, empty of the id as after any
delete). A change the store refuses leaves memory as the store has it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fastapi import HTTPException

import nettwin.api.service as service_module
from nettwin.api import Settings
from nettwin.api.service import Twin
from nettwin.examples import example_path
from nettwin.io import load_network


@pytest.mark.parametrize(("step", "read"), [("compile_network", "get"),
                                           ("run_simulation", "baseline")])
def test_a_delete_during_a_reads_compile_leaves_no_500_and_nothing_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, read: str) -> None:
    twin = Twin(Settings(data_dir=tmp_path))
    network = load_network(example_path())
    nid = twin.add(network)

    real = getattr(service_module, step)

    def made_while_deleted(arg):  # type: ignore[no-untyped-def]
        twin.forget(nid)  # the delete completes while this read compiles or simulates
        return real(arg)

    monkeypatch.setattr(service_module, step, made_while_deleted)
    try:
        got = getattr(twin, read)(nid)
    except HTTPException as exc:
        assert exc.status_code == 404
    else:
        assert got is not None
    assert not twin.has(nid)
    assert nid not in twin.compiled and nid not in twin.baselines
    assert nid not in twin.networks
    twin.saved.close()


def test_a_network_change_the_store_refuses_leaves_memory_as_the_store_has_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # oracle: the network a restart would load from the store
    twin = Twin(Settings(data_dir=tmp_path))
    network = load_network(example_path())
    nid = twin.add(network)

    def refuse(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(twin.saved, "save_network", refuse)
    with pytest.raises(OSError):
        twin.replace_network(nid, dataclasses.replace(network, name="changed"))
    assert twin.networks[nid].name == twin.saved.load_networks()[nid].name == network.name
    with pytest.raises(OSError):  # an upload the store refuses is not half kept either
        twin.add(network)
    assert twin.networks.keys() == twin.saved.load_networks().keys() == {nid}
    twin.saved.close()
