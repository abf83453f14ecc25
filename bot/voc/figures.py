"""The month's customer figures and comments for the voice of the customer (SQL counts only;
the formulas are bot.voc.digest's and bot.reports.metrics')."""

from __future__ import annotations

import json
from datetime import datetime

import aiosqlite

from bot.voc.digest import CommentCandidate, MonthFigures
from storage.timestamps import from_db, to_db

CANDIDATES_MAX = 200  # the newest comments of the month the digest chooses from


async def month_figures(
    conn: aiosqlite.Connection, start: datetime, end: datetime, *, negative_max: int
) -> MonthFigures:
    params = (to_db(start), to_db(end))
    async with conn.execute(
        "SELECT COALESCE(SUM(nps >= 9), 0), COALESCE(SUM(nps BETWEEN 7 AND 8), 0),"
        " COALESCE(SUM(nps <= 6), 0) FROM reviews"
        " WHERE nps_at >= ? AND nps_at < ? AND nps IS NOT NULL",
        params,
    ) as cur:
        promoters, passives, detractors = await cur.fetchone() or (0, 0, 0)
    async with conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(rating >= 4), 0) FROM reviews"
        " WHERE rated_at >= ? AND rated_at < ? AND rating IS NOT NULL",
        params,
    ) as cur:
        ratings, satisfied = await cur.fetchone() or (0, 0)
    # Complaints: the negative reviews of the month (their alerts); answered = resolved.
    async with conn.execute(
        "SELECT a.created_at, a.resolved_at FROM alerts a JOIN reviews r ON r.id = a.review_id"
        " WHERE a.created_at >= ? AND a.created_at < ? AND r.rating <= ?",
        (*params, negative_max),
    ) as cur:
        alerts = await cur.fetchall()
    hours = [
        (from_db(resolved) - from_db(created)).total_seconds() / 3600
        for created, resolved in alerts
        if resolved
    ]
    return MonthFigures(
        nps_promoters=int(promoters),
        nps_passives=int(passives),
        nps_detractors=int(detractors),
        ratings=int(ratings),
        satisfied=int(satisfied),
        complaints=len(alerts),
        complaints_answered=len(hours),
        answer_hours=hours,
    )


async def month_comments(
    conn: aiosqlite.Connection, start: datetime, end: datetime
) -> list[CommentCandidate]:
    """The month's comments with what the scrubber must know: the name and the order ids."""
    async with conn.execute(
        "SELECT r.id, r.customer_id, r.rating, r.comment, c.name,"
        " (SELECT json_group_array(o.order_id) FROM orders o WHERE o.review_id = r.id)"
        " FROM reviews r JOIN customers c ON c.id = r.customer_id"
        " WHERE r.commented_at >= ? AND r.commented_at < ? AND r.comment IS NOT NULL"
        " ORDER BY r.commented_at DESC LIMIT ?",
        (to_db(start), to_db(end), CANDIDATES_MAX),
    ) as cur:
        rows = await cur.fetchall()
    return [
        CommentCandidate(
            review_id=r[0],
            customer_id=r[1],
            rating=r[2],
            body=r[3],
            names=(r[4],) if r[4] else (),
            order_ids=tuple(json.loads(r[5]) if r[5] else ()),
        )
        for r in rows
    ]
