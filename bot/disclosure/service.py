"""Disclosure control over the database: release what the rules allow, read what was released.

`refresh` runs in a write transaction before a surface shows anything (a report, the digest, an
export): it makes the next release of each wave when the rules allow one. `released` then reads,
from any snapshot, what a surface may show. Surfaces never read survey answers themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import aiosqlite

from bot.disclosure.rules import (
    GroupFigures,
    Member,
    Release,
    Respondent,
    Structure,
    choose_release,
    release_from_groups,
)
from storage import disclosure as store

SCORES = "scores"
QUESTIONS = 6


@dataclass(frozen=True)
class WaveView:
    """What every surface may show of one wave."""

    wave_id: int
    respondents: int  # complete respondents now (the live count: always shown to admins)
    min_group: int
    release: Release | None = None  # None: no figure may be shown yet
    released_at: datetime | None = None
    names: dict[int, str] = field(default_factory=dict)  # department id → name
    members: tuple[Member, ...] = ()  # every released member (only when asked for)
    member_times: dict[int, datetime] = field(default_factory=dict)  # epoch → release time
    counts: dict[int | None, int] = field(default_factory=dict)  # released members by department

    @property
    def counted(self) -> int:
        """Respondents behind the figures (fewer than `respondents` while a step is pending)."""
        return self.release.company.respondents if self.release else 0

    def department_shown(self, department_id: int | None) -> str | None:
        """The department's name where the release shows it on its own, else None."""
        if self.release is None or department_id is None:
            return None
        if department_id in self.release.structure.named:
            return self.names.get(department_id)
        return None


def _member(m: store.StoredMember) -> Member:
    payload = m.payload
    assert isinstance(payload, list)
    return Member(m.respondent, m.department_id, m.epoch, tuple(int(s) for s in payload))


async def refresh(
    conn: aiosqlite.Connection,
    wave_id: int,
    *,
    closed: bool,
    min_group: int,
    now: datetime,
    channel: str = SCORES,
    live: Sequence[Respondent] | None = None,
) -> bool:
    """Make the wave's next release if the rules allow one; True when one was made.

    `live` is who may be counted now: by default the complete responses (the survey's figures);
    another channel (comments) passes its own respondents, with its own `min_group`.
    """
    if await store.is_settled(conn, wave_id, channel):
        return False
    # The decision is a function of the answers, the releases made and the group size alone:
    # when none has changed since it last found nothing to release, it would find nothing again
    # (every surface calls this before showing anything, and reading the answers is the cost).
    version = None
    if live is None and not closed:
        version = await store.answers_version(conn, wave_id)
        if await store.checked(conn, wave_id, channel) == (version, min_group):
            return False
    stored = await store.releases(conn, wave_id, channel)
    history = [Structure.from_json(r.structure) for r in stored]
    members = [_member(m) for m in await store.members(conn, wave_id, channel)]
    if live is None:
        live = [
            Respondent(r.respondent, r.department_id, r.scores)
            for r in await store.complete_responses(conn, wave_id, QUESTIONS)
        ]
    decision = choose_release(members, live, history, min_group, closed=closed)
    if decision is not None:
        await store.add_release(
            conn,
            wave_id,
            channel,
            decision.epoch,
            decision.structure.to_json(),
            [
                store.StoredMember(m.key, m.department, m.epoch, list(m.scores))
                for m in decision.new_members
            ],
            now,
        )
    if closed:
        # No answer can arrive after the close: this decision is the wave's last.
        await store.settle(conn, wave_id, channel, now)
    elif decision is None and version is not None:
        await store.mark_checked(conn, wave_id, channel, version, min_group)
    return decision is not None


async def released(
    conn: aiosqlite.Connection,
    wave_id: int,
    *,
    min_group: int,
    respondents: int | None = None,
    channel: str = SCORES,
    with_members: bool = False,
) -> WaveView:
    """What may be shown of a wave now (from the releases made so far).

    `respondents` is the live count when the caller has it already; otherwise it is counted.
    `with_members` also gives every released member (an export needs them; a report does not).
    """
    if respondents is None:
        respondents = await store.complete_count(conn, wave_id, QUESTIONS)
    stored = await store.releases(conn, wave_id, channel)
    if not stored:
        return WaveView(wave_id, respondents, min_group)
    latest = stored[-1]
    # The latest release counts every member released so far (each release adds the members it
    # counts first), so its sums are the wave's running totals.
    sums = await store.released_totals(conn, wave_id, channel)
    groups = {d: GroupFigures(n, s) for d, n, s in sums}
    release = release_from_groups(groups, Structure.from_json(latest.structure), latest.epoch)
    members = (
        tuple(_member(m) for m in await store.members(conn, wave_id, channel))
        if with_members
        else ()
    )
    return WaveView(
        wave_id,
        respondents,
        min_group,
        release,
        latest.released_at,
        await store.department_names(conn),
        members,
        {r.epoch: r.released_at for r in stored},
        {d: g.respondents for d, g in groups.items()},
    )


async def refresh_all(
    conn: aiosqlite.Connection,
    waves: Sequence[tuple[int, bool]],
    *,
    min_group: int,
    now: datetime,
) -> None:
    """`refresh` for each (wave id, closed) given."""
    for wave_id, closed in waves:
        await refresh(conn, wave_id, closed=closed, min_group=min_group, now=now)
