"""The money section's period figures as bot/reports/money.py counted them before migration 0015
(at 4d25b87): one query over the period's orders joined to their items, grouped by order and by
customer. Kept as the reference the folded per-day totals (money_days) are checked against."""

from __future__ import annotations

from typing import Any

from bot.reports.money import WINDOWS, MoneyFigures, _round, _rows, _shift
from bot.reports.periods import Window, periods
from storage.timestamps import to_db

_PERIOD = f"""
    WITH o AS MATERIALIZED (
        SELECT o.id, o.customer_id AS c, o.purchased_at AS at,
               SUM(CASE WHEN oi.price_cents IS NOT NULL AND COALESCE(oi.currency, :cur) = :cur
                        THEN oi.price_cents * oi.quantity END) AS exact
        FROM orders o JOIN order_items oi ON oi.order_id = o.id
        WHERE o.purchased_at >= :start AND o.purchased_at < :end
        GROUP BY o.id
    ), r AS MATERIALIZED (SELECT id, c, at, exact, {_round("exact")} AS revenue FROM o),
    b AS MATERIALIZED (SELECT c, MAX(at) AS latest FROM r GROUP BY c)
    SELECT COUNT(*) AS orders, COUNT(revenue) AS priced, TOTAL(revenue) AS revenue,
           TOTAL(exact) AS exact,
           (SELECT COUNT(*) FROM b) AS buyers,
           (SELECT COUNT(*) FROM b JOIN customer_money m ON m.customer_id = b.c
            WHERE m.first_at < b.latest) AS repeat_buyers,
           {{restock}} AS restock, {{review}} AS review, {{winback}} AS winback
    FROM r
"""

# The orders of the period a message of the kind sent to its customer within the window before
# counts for (each once), driven by the messages: the customer's orders by orders_customer.
_ATTRIBUTED = """(SELECT TOTAL(r.revenue) FROM r WHERE r.revenue != 0 AND r.id IN (
    SELECT a.id FROM outbox x JOIN orders a ON a.customer_id = x.customer_id
        AND a.purchased_at >= x.sent_at AND a.purchased_at <= {until}
        AND a.purchased_at >= :start AND a.purchased_at < :end
    WHERE x.kind = '{kind}' AND x.status = 'sent' AND x.sent_at >= :earliest
          AND x.sent_at < :end {extra}))"""
_SKU = (
    "AND EXISTS (SELECT 1 FROM order_items mi JOIN order_items ai ON ai.sku = mi.sku "
    "WHERE mi.id = x.ref_id AND ai.order_id = a.id)"
)

_WINBACK = f"""
    SELECT COUNT(*) AS sent, TOTAL(EXISTS (
        SELECT 1 FROM orders a WHERE a.customer_id = x.customer_id
            AND a.purchased_at >= x.sent_at AND a.purchased_at <= {_shift("x.sent_at", 30)}
            AND EXISTS (SELECT 1 FROM order_items ai WHERE ai.order_id = a.id))) AS converted
    FROM outbox x
    WHERE x.kind = 'winback' AND x.status = 'sent' AND x.sent_at >= :start AND x.sent_at < :end
"""


async def old_figures(
    conn: Any, cur: str, window: Window, total: float, later: float
) -> tuple[MoneyFigures, float]:
    """The figures of `window`, and its orders' revenue unrounded; `total`: the revenue ever,
    `later`: that of the orders from `window.end` on (for the LTV up to `window.end`)."""
    params = {"cur": cur, "start": to_db(window.start), "end": to_db(window.end)}
    for kind, span in WINDOWS.items():
        params[f"earliest_{kind}"] = to_db(window.start - span)
    sql = _PERIOD.format(
        **{
            name: _ATTRIBUTED.format(
                kind=kind,
                until=_shift("x.sent_at", WINDOWS[kind].days),
                extra=_SKU if kind == "restock" else "",
            ).replace(":earliest", f":earliest_{kind}")
            for name, kind in (
                ("restock", "restock"),
                ("review", "review_request"),
                ("winback", "winback"),
            )
        }
    )
    row = (await _rows(conn, sql, params))[0]
    wb = (await _rows(conn, _WINBACK, params))[0]
    customers = (
        await _rows(
            conn,
            "SELECT COUNT(*) AS n FROM customer_money WHERE first_at < ?",
            (to_db(window.end),),
        )
    )[0]["n"]
    ltv_revenue = total - later
    figures = MoneyFigures(
        revenue=int(row["revenue"]),
        orders=row["orders"],
        priced_orders=row["priced"],
        buyers=row["buyers"],
        repeat_buyers=row["repeat_buyers"],
        restock_revenue=int(row["restock"]),
        review_revenue=int(row["review"]),
        winback_revenue=int(row["winback"]),
        winback_sent=wb["sent"],
        winback_converted=int(wb["converted"]),
        ltv=round(ltv_revenue / customers) if customers else None,
        customers=customers,
    )
    return figures, row["exact"]


async def old_money_figures(
    conn: Any, cur: str, now: Any, days: int, total: float, later: float
) -> tuple[MoneyFigures, MoneyFigures]:
    """The current and previous periods' figures, as money_report put them together."""
    span = periods(now, days)
    current, exact = await old_figures(conn, cur, span.current, total, later)
    previous, _ = await old_figures(conn, cur, span.previous, total, later + exact)
    return current, previous
