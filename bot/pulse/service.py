"""The internal service pulse: opening a round, picking departments, rating them; its outbox kind.

A rater is a pseudonym scoped to the round (the survey's key, another message), so a round's
ratings cannot be joined to survey answers or to another round's ratings through the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import PulseDoneCb, PulsePickCb, PulseScoreCb
from bot.i18n import Translator
from bot.outbox import Kind, OutboxRow, Outgoing, RenderContext, Rendered, Skip
from bot.pulse.matrix import MAX_PICKS, PulseMatrix, Score, build_matrix, may_pick
from storage import outbox as outbox_q
from storage import plans as store
from storage import survey as survey_q
from storage.outbox import PULSE_INVITE
from storage.survey import Department, Employee

if TYPE_CHECKING:
    import aiosqlite

    from bot.pseudonym import Pseudonymizer


MAX_DEPARTMENT_BUTTONS = 99


def rater(pseudonyms: Pseudonymizer, round_id: int, telegram_id: int) -> str:
    return "p_" + pseudonyms.scoped(f"pulse:{round_id}", telegram_id)


async def open_round(
    conn: aiosqlite.Connection, admin_id: int, now: datetime
) -> tuple[int, int] | None:
    """Open a round and invite every active employee; None while one is open already."""
    if await store.open_pulse(conn) is not None:
        return None
    round_id = await store.insert_pulse(conn, admin_id, now)
    employees = await survey_q.active_employees(conn)
    for employee in employees:
        await outbox_q.enqueue(
            conn, kind=PULSE_INVITE, due_at=now, now=now, employee_id=employee.id, ref_id=round_id
        )
    return round_id, len(employees)


async def departments(conn: aiosqlite.Connection) -> list[Department]:
    async with conn.execute("SELECT id, name FROM departments ORDER BY name") as cur:
        return [Department(r[0], r[1]) for r in await cur.fetchall()]


@dataclass(frozen=True)
class PulseState:
    round_id: int
    employee: Employee
    respondent: str
    picks: dict[int, int | None]  # served department id → score (None: not rated yet)
    departments: list[Department]

    @property
    def next_unrated(self) -> Department | None:
        for department in self.departments:
            if department.id in self.picks and self.picks[department.id] is None:
                return department
        return None

    @property
    def names(self) -> dict[int, str]:
        return {d.id: d.name for d in self.departments}


async def state_for(
    conn: aiosqlite.Connection, pseudonyms: Pseudonymizer, round_id: int, telegram_id: int
) -> PulseState | None:
    """The employee's place in an open round; None for a closed round or a non-employee."""
    pulse = await store.get_pulse(conn, round_id)
    employee = await survey_q.find_employee(conn, telegram_id)
    if pulse is None or pulse.closed_at is not None or employee is None:
        return None
    respondent = rater(pseudonyms, round_id, telegram_id)
    return PulseState(
        round_id,
        employee,
        respondent,
        await store.pulse_picks(conn, round_id, respondent),
        await departments(conn),
    )


async def toggle_pick(conn: aiosqlite.Connection, state: PulseState, department_id: int) -> bool:
    """Pick a department (or unpick one not rated yet); False when the pick is not allowed."""
    names = state.names
    if department_id not in names:
        return False
    if department_id in state.picks:
        if state.picks[department_id] is not None:
            return False
        await store.remove_pick(conn, state.round_id, state.respondent, department_id)
        return True
    picked = [names[d] for d in state.picks]
    if not may_pick(state.employee.department, picked, names[department_id]):
        return False
    await store.add_pick(
        conn, state.round_id, state.respondent, state.employee.department_id, department_id
    )
    return True


def pick_message(tr: Translator, state: PulseState) -> tuple[str, InlineKeyboardMarkup]:
    text = "\n".join(
        [
            "🤝 <b>" + tr("Internal service pulse") + "</b>",
            tr(
                "Departments are each other's clients. Pick up to {n} departments you work with "
                "(not your own), then press «Done».",
                n=MAX_PICKS,
            ),
        ]
    )
    rows = []
    # Telegram takes 100 buttons at most: the first 99 departments by name, and «Done».
    for department in [d for d in state.departments if d.id != state.employee.department_id][
        :MAX_DEPARTMENT_BUTTONS
    ]:
        mark = "✅ " if department.id in state.picks else ""
        rows.append(
            [
                InlineKeyboardButton(
                    text=mark + department.name,
                    callback_data=PulsePickCb(
                        round=state.round_id, department=department.id
                    ).pack(),
                )
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(
                text=tr("Done"), callback_data=PulseDoneCb(round=state.round_id).pack()
            )
        ]
    )
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def score_message(
    tr: Translator, state: PulseState, department: Department
) -> tuple[str, InlineKeyboardMarkup]:
    text = "\n".join(
        [
            "🤝 "
            + tr(
                "Do you get from the department «{name}» what you need, on time and without "
                "having to chase tasks?",
                name=escape(department.name),
            ),
            tr("1 — never, 5 — always"),
        ]
    )
    buttons = [
        InlineKeyboardButton(
            text=str(score),
            callback_data=PulseScoreCb(
                round=state.round_id, department=department.id, score=score
            ).pack(),
        )
        for score in range(1, 6)
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=[buttons])


def thanks_message(tr: Translator) -> str:
    return tr("Thank you! Your ratings are saved; admins see only groups, never a person.")


async def render_invite(ctx: RenderContext, conn: aiosqlite.Connection, row: OutboxRow) -> Rendered:
    if row.employee_id is None or row.ref_id is None:
        return Skip("failed", "pulse row without employee or round")
    employee = await survey_q.get_employee(conn, row.employee_id)
    if employee is None or employee.telegram_id is None:
        return Skip("cancelled", "employee left")
    state = await state_for(conn, ctx.pseudonyms, row.ref_id, employee.telegram_id)
    if state is None:
        return Skip("cancelled", "pulse closed")
    tr = Translator(ctx.i18n, employee.language)
    text, markup = pick_message(tr, state)
    return Outgoing(employee.telegram_id, text, markup)


async def pulse_matrix(conn: aiosqlite.Connection, min_group: int) -> PulseMatrix | None:
    """The newest closed round's matrix; None before any closed round.

    An open round is never shown: two reports a minute apart would give away the score of
    whoever rated in between (a cell of 3 raters becoming one of 4).
    """
    pulse = await store.latest_closed_pulse(conn)
    if pulse is None:
        return None
    names = {d.id: d.name for d in await departments(conn)}
    scores = [
        Score(respondent, names.get(rater_id) if rater_id else None, names[served], score)
        for respondent, rater_id, served, score in await store.pulse_scores(conn, pulse.id)
        if served in names
    ]
    return build_matrix(scores, min_group)


async def open_round_raters(conn: aiosqlite.Connection) -> int | None:
    """How many have rated in the open round (None: no round is open)."""
    pulse = await store.open_pulse(conn)
    return await store.pulse_raters(conn, pulse.id) if pulse is not None else None


KINDS = (Kind(PULSE_INVITE, render_invite, respects_send_window=False),)
