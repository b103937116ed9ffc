"""What exists when the service starts is kept out of the garbage collector's full passes
while it serves (``api.app.freeze_long_lived``), and handed back when it stops."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi.testclient import TestClient

from nettwin.api import Settings, create_app


def test_start_up_objects_are_frozen_while_serving_and_released_after(tmp_path: Path) -> None:
    gc.unfreeze()
    app = create_app(Settings(data_dir=tmp_path, load_example=True))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        network = app.state.twin.networks["example"]
        assert gc.get_freeze_count() > 10_000  # the libraries' code and the examples
        assert not any(o is network for o in gc.get_objects())  # out of every generation
    assert gc.get_freeze_count() == 0
    assert any(o is network for o in gc.get_objects())  # collectable again
