"""Every text of the dashboard's templates has a Russian translation (the .py texts are checked by
tools/po.py, which does not read templates)."""

from __future__ import annotations

import re
from pathlib import Path

from tools.po import catalogue_msgids

TEMPLATES = Path(__file__).resolve().parents[1] / "handlers" / "web" / "dashboard" / "templates"
CALL = re.compile(r"""\bt\(\s*"((?:[^"\\]|\\.)*)"|\bt\(\s*'((?:[^'\\]|\\.)*)'""")


def template_msgids() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        for match in CALL.finditer(path.read_text("utf-8")):
            found.add(match.group(1) if match.group(1) is not None else match.group(2))
    return found


def test_every_template_text_is_translated() -> None:
    msgids = template_msgids()
    assert len(msgids) > 50
    assert sorted(msgids - catalogue_msgids().keys()) == []
