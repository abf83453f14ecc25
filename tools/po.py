"""Write a Russian .po catalogue from a {msgid: msgstr} dict (used to start a feature's catalogue).

python tools/po.py check   # every text in the code has a Russian translation
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
RU = ROOT / "bot" / "locales" / "ru" / "LC_MESSAGES"
KEYWORDS = {"_": None, "N_": None, "tr": None, "__": None}


# The dashboard's Jinja templates translate with t("…") (handlers/web/dashboard/templates).
TEMPLATES = ROOT / "handlers" / "web" / "dashboard" / "templates"
_TEMPLATE_CALL = re.compile(r"""\bt\(\s*"((?:[^"\\]|\\.)*)"|\bt\(\s*'((?:[^'\\]|\\.)*)'""")


def template_msgids() -> set[str]:
    found: set[str] = set()
    for path in sorted(TEMPLATES.glob("*.html")):
        for match in _TEMPLATE_CALL.finditer(path.read_text("utf-8")):
            found.add(match.group(1) if match.group(1) is not None else match.group(2))
    return found


def code_msgids() -> set[str]:
    found: set[str] = set()
    for folder in ("bot", "handlers", "scheduler"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found | template_msgids()


def catalogue_msgids() -> dict[str, str]:
    out: dict[str, str] = {}
    for po in sorted(RU.glob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh, locale="ru"):
                if message.id and message.string:
                    out[message.id if isinstance(message.id, str) else message.id[0]] = (
                        message.string if isinstance(message.string, str) else message.string[0]
                    )
    return out


def write_catalogue(name: str, translations: dict[str, str]) -> Path:
    catalog = Catalog(locale="ru", project="feedback-bot", charset="utf-8")
    for msgid, msgstr in translations.items():
        catalog.add(msgid, msgstr)
    path = RU / f"{name}.po"
    with path.open("wb") as fh:
        write_po(fh, catalog, omit_header=False, width=100, no_location=True)
    return path


if __name__ == "__main__":
    if sys.argv[1:] == ["check"]:
        missing = sorted(code_msgids() - catalogue_msgids().keys())
        for msgid in missing:
            print("missing:", msgid.replace("\n", "\\n"))
        sys.exit(1 if missing else 0)
