"""Where nettwin keeps its state by default: one place for the data folder."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """``NETTWIN_DATA_DIR``, else ``~/.local/share/nettwin`` (tokens, audit log, the live
    twin's history database, lab state). Not created here."""
    return Path(os.environ.get("NETTWIN_DATA_DIR") or Path.home() / ".local" / "share"
                / "nettwin")
