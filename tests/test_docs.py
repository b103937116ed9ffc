"""`make docs`: the MkDocs site builds in strict mode (no broken link, no missing object) and
its API reference is generated from the docstrings of the code it documents."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import nettwin
import nettwin.notebook

ROOT = Path(__file__).resolve().parents[1]


def test_docs_site_builds_with_the_generated_reference(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    env = dict(os.environ, PYTHONPATH=str(Path(nettwin.__file__).resolve().parents[1]))
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                           "-d", str(tmp_path / "site")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "site" / "reference" / "notebook" / "index.html").read_text()
    # every public function of the module is documented, with its docstring's first line
    for name, obj in vars(nettwin.notebook).items():
        if callable(obj) and getattr(obj, "__module__", "") == "nettwin.notebook" \
                and not name.startswith("_"):
            assert f'id="nettwin.notebook.{name}"' in page, name
            words = [w for w in (obj.__doc__ or "").split("\n")[0].split() if "`" not in w]
            assert all(w.strip(",.:;()") in page for w in words), (name, words)
