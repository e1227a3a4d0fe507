from __future__ import annotations

from pathlib import Path

import pytest

from interconn.docgen import GENERATED

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_doc_is_committed_and_current(name: str) -> None:
    assert (DOCS / name).read_text(encoding="utf-8") == GENERATED[name](), (
        f"docs/{name} is stale: run `python -m interconn.docgen docs`"
    )
