-- Every customer's count and revenue, and those of the customers with two orders or more, in one
-- row (issue 13): the money section's segments took them from a scan of every customer_money
-- row on every report (11–14 ms at 50,000 customers, whatever the period). Kept by triggers on
-- customer_money (migration 0013), so in the same transaction as each order and priced item: one
-- UPDATE of this row each time. Revenues are sums of price_cents × quantity: whole cents, or
-- half cents for goods sold by weight in halves, which adding and taking away keeps exact. A
-- weight such as 0.3 may leave a billionth of a cent behind, far under the whole units shown.
-- tests/test_customer_money_times.py holds it equal to customer_money summed.
CREATE TABLE money_totals (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    customers       INTEGER NOT NULL,
    revenue         REAL NOT NULL,     -- Σ customer_money.revenue (every currency)
    repeat          INTEGER NOT NULL,  -- customers with orders >= 2
    repeat_revenue  REAL NOT NULL      -- their revenue
);

INSERT INTO money_totals (id, customers, revenue, repeat, repeat_revenue)
SELECT 1, COUNT(*), TOTAL(revenue), COUNT(*) FILTER (WHERE orders >= 2),
       TOTAL(revenue) FILTER (WHERE orders >= 2)
FROM customer_money;

CREATE TRIGGER money_totals_insert AFTER INSERT ON customer_money BEGIN
    UPDATE money_totals SET
        customers = customers + 1,
        revenue = revenue + NEW.revenue,
        repeat = repeat + (NEW.orders >= 2),
        repeat_revenue = repeat_revenue + CASE WHEN NEW.orders >= 2 THEN NEW.revenue ELSE 0 END;
END;

CREATE TRIGGER money_totals_update AFTER UPDATE OF orders, revenue ON customer_money
WHEN OLD.orders IS NOT NEW.orders OR OLD.revenue IS NOT NEW.revenue BEGIN
    UPDATE money_totals SET
        revenue = revenue + (NEW.revenue - OLD.revenue),
        repeat = repeat + (NEW.orders >= 2) - (OLD.orders >= 2),
        repeat_revenue = repeat_revenue
                         + CASE WHEN NEW.orders >= 2 THEN NEW.revenue ELSE 0 END
                         - CASE WHEN OLD.orders >= 2 THEN OLD.revenue ELSE 0 END;
END;

CREATE TRIGGER money_totals_delete AFTER DELETE ON customer_money BEGIN
    UPDATE money_totals SET
        customers = customers - 1,
        revenue = revenue - OLD.revenue,
        repeat = repeat - (OLD.orders >= 2),
        repeat_revenue = repeat_revenue - CASE WHEN OLD.orders >= 2 THEN OLD.revenue ELSE 0 END;
END;
