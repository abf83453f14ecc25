"""Disclosure control: the one place that decides which survey figures any surface may show.

Every surface that shows figures about employees — the Telegram report and its charts, the
weekly digest, the CSV exports, and any page or API added later — takes them from here, never
from the answers table. The rules (issue 9):

1. Minimum group everywhere: no figure for fewer than SURVEY_MIN_GROUP respondents, the company
   as a whole included; below it, counts only.
2. No differencing inside one view: the respondents in no shown group are none or at least
   SURVEY_MIN_GROUP («Others» counts as shown); otherwise the smallest shown department is
   suppressed too, until that holds (complementary suppression).
3. No differencing over time: figures change only by releases, and a release is made only when
   every set of people that the releases so far can tell apart (a *cell*, see
   `rules.is_safe`) keeps at least SURVEY_MIN_GROUP respondents. In particular a group's figures
   change only when it has grown by at least SURVEY_MIN_GROUP since they were last shown, and
   closing the wave does not excuse a smaller step. Answers changed after a release counted them
   are not shown (the figures keep them as they were when first counted).
4. One definition of respondent: complete answers (all six questions); a person's department
   for a wave is the one they had when invited to it (or joining it).
5. Exports show only released respondents, under a per-wave pseudonym, ordered by pseudonym,
   with a department only where the release shows it; every cell is defused against formulas.

The method is the one statistical offices use for tables: a minimum frequency (threshold) rule
for primary suppression and secondary (complementary) suppression so that suppressed cells
cannot be recovered by subtraction from margins — Hundepool, Domingo-Ferrer, Franconi, Giessing,
Nordholt, Spicer, de Wolf, *Statistical Disclosure Control* (Wiley, 2012), ch. 5 (frequency
tables) and the Eurostat/ESSnet *Handbook on Statistical Disclosure Control* (2010), §4.2–4.3
(threshold rule, secondary suppression, disclosure by differencing of linked and successive
tables). Successive releases are handled as linked tables: the cells of `rules.is_safe` are the
common refinement of all released tables of a wave.

What a minimum of 3 cannot protect: two members of a group of three who pool their own answers
learn the third's; one member of a group of three learns the sum of the other two. A group in
which everyone gave the same score shows that score (true of any average). 5 is what survey
products usually use.

Comments (a later feature) have their own, higher threshold, SURVEY_COMMENT_MIN_GROUP
(default 5, as Culture Amp, Officevibe and Lattice use). The API for it is this module's:

    from bot.disclosure import may_show_comments, comment_structure
    may_show_comments(respondents, settings.survey_comment_min_group)  # one group: bool
    comment_structure(counts_by_department, settings.survey_comment_min_group)  # which groups

and, over time, the same release mechanism on its own channel (storage/disclosure.py keeps
releases per channel), so that comments appear only in steps of at least that many people:

    from bot.disclosure import COMMENTS, Respondent
    from bot.disclosure.service import refresh, released
    # in a write transaction, with who has commented (scores unused: ())
    await refresh(conn, wave_id, closed=..., min_group=settings.survey_comment_min_group,
                  now=now, channel=COMMENTS, live=[Respondent(pseudonym, department_id, ())])
    view = await released(conn, wave_id, min_group=settings.survey_comment_min_group,
                          respondents=len(commenters), channel=COMMENTS, with_members=True)
    # view.members: whose comments may be shown; view.department_shown(d): under which name
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.disclosure.csvsafe import neutralise, neutralise_row
from bot.disclosure.keys import (
    KeyCheck,
    KeyFileError,
    check_key,
    export_pseudonym,
    fingerprint,
    parse_key_file,
    wave_pseudonym,
)
from bot.disclosure.rules import (
    Department,
    GroupFigures,
    Member,
    Release,
    Respondent,
    Structure,
    choose_release,
    is_safe,
    plan_structure,
    release_figures,
)

SCORES = "scores"  # the channel of the survey's figures
COMMENTS = "comments"  # the channel a comments feature releases through
COMMENT_MIN_GROUP_DEFAULT = 5


def may_show_comments(respondents: int, comment_min_group: int) -> bool:
    """Whether one group's comments may be shown at all (rule 1 with the comment threshold)."""
    return respondents >= comment_min_group


def comment_structure(counts: Mapping[Department, int], comment_min_group: int) -> Structure | None:
    """Which groups' comments may be shown (rules 1 and 2 with the comment threshold)."""
    return plan_structure(counts, comment_min_group)


__all__ = [
    "COMMENTS",
    "COMMENT_MIN_GROUP_DEFAULT",
    "SCORES",
    "Department",
    "GroupFigures",
    "KeyCheck",
    "KeyFileError",
    "Member",
    "Release",
    "Respondent",
    "Structure",
    "check_key",
    "choose_release",
    "comment_structure",
    "export_pseudonym",
    "fingerprint",
    "is_safe",
    "may_show_comments",
    "neutralise",
    "neutralise_row",
    "parse_key_file",
    "plan_structure",
    "release_figures",
    "wave_pseudonym",
]
