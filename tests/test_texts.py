"""Every text has its Russian translation, and every translation keeps the placeholders."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from babel.messages.pofile import read_po
from po import RU, catalogue_msgids, code_msgids

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def test_every_text_in_the_code_has_a_russian_translation() -> None:
    missing = sorted(code_msgids() - catalogue_msgids().keys())
    assert missing == []


def test_translations_keep_placeholders_and_markup() -> None:
    for msgid, msgstr in catalogue_msgids().items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid
        assert msgid.count("<b>") == msgstr.count("<b>"), msgid


def test_catalogues_hold_no_dead_or_doubled_texts() -> None:
    counts: dict[str, int] = {}
    for po in sorted(RU.glob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh, locale="ru"):
                if message.id:
                    msgid = message.id if isinstance(message.id, str) else message.id[0]
                    counts[msgid] = counts.get(msgid, 0) + 1
    assert sorted(m for m, n in counts.items() if n > 1) == []
    assert sorted(set(counts) - code_msgids()) == []


def test_no_catalogue_holds_one_msgid_twice() -> None:
    """read_po keeps one of two equal msgids in a file without a word, so the other
    translation is silently lost (the check above sees them once). One-line msgids, as written."""
    for po in sorted(RU.glob("*.po")):
        ids = [
            line
            for line in po.read_text("utf-8").splitlines()
            if line.startswith('msgid "') and line != 'msgid ""'
        ]
        doubled = sorted({line for line in ids if ids.count(line) > 1})
        assert doubled == [], po.name
