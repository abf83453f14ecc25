-- Two more facts per customer for the money section (issue 13), kept with customer_money
-- (migration 0013) in the same transaction as each order:
--   last_us    last_at in whole microseconds since 1970 (UTC), the integer the segments compare
--              with now; computing it from the text for every customer on every report cost
--              three strftime calls a customer (70 ms at 50,000 customers);
--   second_at  the customer's earliest order strictly later than first_at (NULL: none), so a
--              period's repeat buyers among its new customers are one index range:
--              bought again within [a, b) ⇔ first_at in [a, b) and second_at < b.
-- tests/test_customer_money_times.py holds both equal to the orders through any writes.
--
-- Whole seconds are read off the text without its fraction: strftime('%s') of a time with a
-- fraction rounds it to the millisecond first, so 23:59:59.999999 gave the next second, and
-- migration 0013's gaps (gap_us) were a second off for such times. Its three triggers that
-- compute them are replaced below with the exact expression, and every gap is computed again.
ALTER TABLE customer_money ADD COLUMN last_us INTEGER;
ALTER TABLE customer_money ADD COLUMN second_at TEXT;

UPDATE customer_money SET
    last_us = CAST(strftime('%s', substr(last_at, 1, 19)) AS INTEGER) * 1000000
              + CAST(substr(last_at, 21, 6) AS INTEGER),
    second_at = (SELECT MIN(o.purchased_at) FROM orders o
                 WHERE o.customer_id = customer_money.customer_id
                   AND o.purchased_at > customer_money.first_at);

-- The new customers' repeat buyers of a period are a range of this index.
DROP INDEX customer_money_first;
CREATE INDEX customer_money_first ON customer_money(first_at, second_at);

-- Kept at the least cost an order: customer_money's times are written by an INSERT (a first
-- order, and the recomputation after an order is moved or deleted: both times worked out from
-- the orders) or by an UPDATE that sets first_at and last_at (every later order, mostly to the
-- same values: nothing is done then). A later order's own time becomes second_at when it falls
-- between first_at and second_at (orders_second_insert); only an earlier first order sends for
-- the orders. The UPDATEs below set neither first_at nor last_at, so they fire nothing again,
-- and the result does not depend on the order in which these and 0013's triggers run.
CREATE TRIGGER customer_money_times_insert AFTER INSERT ON customer_money BEGIN
    UPDATE customer_money SET
        last_us = CAST(strftime('%s', substr(NEW.last_at, 1, 19)) AS INTEGER) * 1000000
                  + CAST(substr(NEW.last_at, 21, 6) AS INTEGER),
        second_at = (SELECT MIN(o.purchased_at) FROM orders o
                     WHERE o.customer_id = NEW.customer_id AND o.purchased_at > NEW.first_at)
    WHERE customer_id = NEW.customer_id;
END;

CREATE TRIGGER customer_money_times_update AFTER UPDATE OF first_at, last_at ON customer_money
WHEN OLD.first_at IS NOT NEW.first_at OR OLD.last_at IS NOT NEW.last_at BEGIN
    UPDATE customer_money SET
        last_us = CAST(strftime('%s', substr(NEW.last_at, 1, 19)) AS INTEGER) * 1000000
                  + CAST(substr(NEW.last_at, 21, 6) AS INTEGER),
        second_at = CASE WHEN OLD.first_at IS NOT NEW.first_at THEN (
            SELECT MIN(o.purchased_at) FROM orders o
            WHERE o.customer_id = NEW.customer_id AND o.purchased_at > NEW.first_at
        ) ELSE second_at END
    WHERE customer_id = NEW.customer_id;
END;

CREATE TRIGGER orders_second_insert AFTER INSERT ON orders BEGIN
    UPDATE customer_money SET second_at = NEW.purchased_at
    WHERE customer_id = NEW.customer_id AND NEW.purchased_at > first_at
      AND (second_at IS NULL OR NEW.purchased_at < second_at);
END;

-- Migration 0013's triggers, the same but for the whole seconds of each order's time.
DROP TRIGGER customer_money_order_insert;
CREATE TRIGGER customer_money_order_insert AFTER INSERT ON orders BEGIN
    UPDATE customer_money SET
        first_at = min(first_at, NEW.purchased_at),
        last_at = max(last_at, NEW.purchased_at),
        orders = orders + 1,
        gap_us = (
            SELECT AVG(gap) FROM (
                SELECT gap, ROW_NUMBER() OVER (ORDER BY gap) AS n, COUNT(*) OVER () AS total
                FROM (
                    SELECT us - LAG(us) OVER (ORDER BY us) AS gap FROM (
                        SELECT CAST(strftime('%s', substr(purchased_at, 1, 19)) AS INTEGER) * 1000000
                               + CAST(substr(purchased_at, 21, 6) AS INTEGER) AS us
                        FROM orders WHERE customer_id = NEW.customer_id
                    )
                ) WHERE gap > 0
            ) WHERE n IN ((total + 1) / 2, (total + 2) / 2)
        )
    WHERE customer_id = NEW.customer_id;
    INSERT OR IGNORE INTO customer_money (customer_id, first_at, last_at, orders, gap_us, revenue)
    VALUES (NEW.customer_id, NEW.purchased_at, NEW.purchased_at, 1, NULL, 0);
END;

DROP TRIGGER customer_money_order_update;
CREATE TRIGGER customer_money_order_update AFTER UPDATE OF customer_id, purchased_at ON orders
BEGIN
    DELETE FROM customer_money WHERE customer_id IN (OLD.customer_id, NEW.customer_id);
    INSERT INTO customer_money (customer_id, first_at, last_at, orders, revenue, gap_us)
    SELECT c, MIN(purchased_at), MAX(purchased_at), COUNT(*), (
        SELECT COALESCE(SUM(oi.price_cents * oi.quantity), 0)
        FROM orders AS o3 JOIN order_items AS oi ON oi.order_id = o3.id
        WHERE o3.customer_id = c AND oi.price_cents IS NOT NULL
    ), (
        SELECT AVG(gap) FROM (
            SELECT gap, ROW_NUMBER() OVER (ORDER BY gap) AS n, COUNT(*) OVER () AS total
            FROM (
                SELECT us - LAG(us) OVER (ORDER BY us) AS gap FROM (
                    SELECT CAST(strftime('%s', substr(purchased_at, 1, 19)) AS INTEGER) * 1000000
                           + CAST(substr(purchased_at, 21, 6) AS INTEGER) AS us
                    FROM orders AS o2 WHERE o2.customer_id = c
                )
            ) WHERE gap > 0
        ) WHERE n IN ((total + 1) / 2, (total + 2) / 2)
    )
    FROM (SELECT customer_id AS c, purchased_at FROM orders
          WHERE customer_id IN (OLD.customer_id, NEW.customer_id))
    GROUP BY c;
    -- The order's items move with it.
    UPDATE customer_revenue SET revenue = revenue - (
        SELECT COALESCE(SUM(price_cents * quantity), 0) FROM order_items
        WHERE order_id = NEW.id AND price_cents IS NOT NULL
              AND COALESCE(currency, '') = customer_revenue.currency)
    WHERE customer_id = OLD.customer_id AND OLD.customer_id != NEW.customer_id;
    INSERT INTO customer_revenue (customer_id, currency, revenue)
    SELECT NEW.customer_id, COALESCE(currency, ''), SUM(price_cents * quantity) FROM order_items
    WHERE order_id = NEW.id AND price_cents IS NOT NULL AND OLD.customer_id != NEW.customer_id
    GROUP BY COALESCE(currency, '')
    ON CONFLICT (customer_id, currency) DO UPDATE SET revenue = revenue + excluded.revenue;
END;

DROP TRIGGER customer_money_order_delete;
CREATE TRIGGER customer_money_order_delete AFTER DELETE ON orders BEGIN
    DELETE FROM customer_money WHERE customer_id = OLD.customer_id;
    INSERT INTO customer_money (customer_id, first_at, last_at, orders, revenue, gap_us)
    SELECT OLD.customer_id, MIN(purchased_at), MAX(purchased_at), COUNT(*), (
        SELECT COALESCE(SUM(oi.price_cents * oi.quantity), 0)
        FROM orders AS o3 JOIN order_items AS oi ON oi.order_id = o3.id
        WHERE o3.customer_id = OLD.customer_id AND oi.price_cents IS NOT NULL
    ), (
        SELECT AVG(gap) FROM (
            SELECT gap, ROW_NUMBER() OVER (ORDER BY gap) AS n, COUNT(*) OVER () AS total
            FROM (
                SELECT us - LAG(us) OVER (ORDER BY us) AS gap FROM (
                    SELECT CAST(strftime('%s', substr(purchased_at, 1, 19)) AS INTEGER) * 1000000
                           + CAST(substr(purchased_at, 21, 6) AS INTEGER) AS us
                    FROM orders WHERE customer_id = OLD.customer_id
                )
            ) WHERE gap > 0
        ) WHERE n IN ((total + 1) / 2, (total + 2) / 2)
    )
    FROM orders WHERE customer_id = OLD.customer_id HAVING COUNT(*) > 0;
END;

UPDATE customer_money SET gap_us = (
    SELECT AVG(gap) FROM (
        SELECT gap, ROW_NUMBER() OVER (ORDER BY gap) AS n, COUNT(*) OVER () AS total
        FROM (
            SELECT us - LAG(us) OVER (ORDER BY us) AS gap FROM (
                SELECT CAST(strftime('%s', substr(purchased_at, 1, 19)) AS INTEGER) * 1000000
                       + CAST(substr(purchased_at, 21, 6) AS INTEGER) AS us
                FROM orders WHERE orders.customer_id = customer_money.customer_id
            )
        ) WHERE gap > 0
    ) WHERE n IN ((total + 1) / 2, (total + 2) / 2)
) WHERE orders > 1;
