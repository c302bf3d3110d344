"""Docs point only inside the repository: markdown links resolve to files here, and no path of the
machine the project was written on (/work/…, /tmp/…) is given as something to read."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")
OUTSIDE = re.compile(r"(?<![\w.])/(work|tmp|home|root)/")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_links_stay_inside_the_repository(doc):
    text = doc.read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if target.startswith(("#", "mailto:")):
            continue
        assert not re.match(r"[a-z]+://", target), f"{doc.name}: external link {target}"
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), f"{doc.name}: {target}"
    assert not OUTSIDE.search(text), f"{doc.name}: {OUTSIDE.search(text).group(0)}"
