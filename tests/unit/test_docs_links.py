"""Every relative link in the README, CONTRIBUTING.md, docs/ and connector/README.md points to a file or
folder that exists, and every `#anchor` to a heading of the target page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        ROOT / "connector" / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "docs" / "fivetran").glob("*.md"),
    ]
)
# Pages written on another branch at the same time; drop an entry once its file has landed here.
PENDING: set[str] = set()

_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


def _anchor(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces become hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_anchor(title) for title in _HEADING.findall(_FENCE.sub("", page.read_text(encoding="utf-8")))}


def _links(page: Path) -> list[str]:
    return _LINK.findall(_FENCE.sub("", page.read_text(encoding="utf-8")))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for link in _links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # http:, https:, mailto:
            continue
        if link.startswith("/docs/") and page.parent.name == "fivetran":
            continue  # Fivetran's site-relative links: its destination templates ask for this form
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        relative = target.relative_to(ROOT).as_posix() if target.is_relative_to(ROOT) else str(target)
        if relative in PENDING:
            continue
        if not target.exists():
            broken.append(f"{link} (no such path)")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            broken.append(f"{link} (no heading #{anchor})")
    assert broken == [], f"{page.relative_to(ROOT)}: {broken}"


def test_no_absolute_paths_of_a_machine() -> None:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"(?<![\w.])/(?:work|tmp)/", text), page.relative_to(ROOT)
