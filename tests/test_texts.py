"""Every text has its Russian translation, and every translation keeps the placeholders."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from po import catalogue_msgids, code_msgids

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def test_every_text_in_the_code_has_a_russian_translation() -> None:
    missing = sorted(code_msgids() - catalogue_msgids().keys())
    assert missing == []


def test_translations_keep_placeholders_and_markup() -> None:
    for msgid, msgstr in catalogue_msgids().items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid
        assert msgid.count("<b>") == msgstr.count("<b>"), msgid
