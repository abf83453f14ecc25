"""Every text of the dashboard's templates has a Russian translation: tools/po.py reads the
templates' t("…") calls beside the Python code's."""

from __future__ import annotations

from tools.po import catalogue_msgids, template_msgids


def test_every_template_text_is_found_and_translated() -> None:
    msgids = template_msgids()
    assert len(msgids) > 50  # the pattern finds the templates' texts
    assert "Sign out" in msgids
    assert sorted(msgids - catalogue_msgids().keys()) == []
