"""The field reference and JSON Schema in docs/ are generated from the declarations and
must be regenerated when a declaration changes (`nettwin schema --markdown`)."""

from __future__ import annotations

import json
from pathlib import Path

from nettwin.model.schema import export_json_schema, render_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_docs_match_the_field_declarations() -> None:
    assert (DOCS / "model-fields.md").read_text() == render_markdown() + "\n", \
        "regenerate: nettwin schema --markdown > docs/model-fields.md"
    assert json.loads((DOCS / "network.schema.json").read_text()) == export_json_schema(), \
        "regenerate: nettwin schema > docs/network.schema.json"
