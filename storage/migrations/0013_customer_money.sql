-- Per-customer order and revenue aggregates for the report's money section (issue 14):
-- cohorts, LTV and segments read these instead of every order the shop ever had. Kept by
-- triggers, so they change in the same transaction as each order and item (like review_hours).
-- Times: the storage text (first_at, last_at) and whole microseconds since 1970 (UTC), so that
-- gaps are exact integers; gap_us is the median gap between a customer's purchases
-- (bot/winback/rules.usual_interval: gaps of zero left out; NULL with no gap).
CREATE TABLE customer_money (
    customer_id  INTEGER PRIMARY KEY REFERENCES customers(id),
    first_at     TEXT NOT NULL,
    last_at      TEXT NOT NULL,
    orders       INTEGER NOT NULL,
    gap_us       REAL,
    revenue      REAL NOT NULL DEFAULT 0  -- Σ price_cents × quantity of every priced item,
                                          -- whatever its currency (a shop of one currency
                                          -- reads it without customer_revenue)
);
CREATE INDEX customer_money_first ON customer_money(first_at);

-- Σ price_cents × quantity of a customer's priced items, by currency ('' for none given).
CREATE TABLE customer_revenue (
    customer_id  INTEGER NOT NULL,
    currency     TEXT NOT NULL,
    revenue      REAL NOT NULL,
    PRIMARY KEY (customer_id, currency)
) WITHOUT ROWID;

-- A first order makes the customer's row; a later one moves first/last, counts, and recomputes
-- the median gap from the customer's orders (the UPDATE matches no row for a first order, so
-- a new customer costs one insert). Triggers cannot use WITH: the median is nested subqueries,
-- the positive gaps numbered.
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
                        SELECT CAST(strftime('%s', purchased_at) AS INTEGER) * 1000000
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
                    SELECT CAST(strftime('%s', purchased_at) AS INTEGER) * 1000000
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
                    SELECT CAST(strftime('%s', purchased_at) AS INTEGER) * 1000000
                           + CAST(substr(purchased_at, 21, 6) AS INTEGER) AS us
                    FROM orders WHERE customer_id = OLD.customer_id
                )
            ) WHERE gap > 0
        ) WHERE n IN ((total + 1) / 2, (total + 2) / 2)
    )
    FROM orders WHERE customer_id = OLD.customer_id HAVING COUNT(*) > 0;
END;

CREATE TRIGGER customer_revenue_item_insert AFTER INSERT ON order_items
WHEN NEW.price_cents IS NOT NULL BEGIN
    INSERT INTO customer_revenue (customer_id, currency, revenue)
    SELECT customer_id, COALESCE(NEW.currency, ''), NEW.price_cents * NEW.quantity
    FROM orders WHERE id = NEW.order_id
    ON CONFLICT (customer_id, currency) DO UPDATE SET revenue = revenue + excluded.revenue;
    UPDATE customer_money SET revenue = revenue + NEW.price_cents * NEW.quantity
    WHERE customer_id = (SELECT customer_id FROM orders WHERE id = NEW.order_id);
END;

CREATE TRIGGER customer_revenue_item_update
AFTER UPDATE OF price_cents, currency, quantity, order_id ON order_items BEGIN
    UPDATE customer_revenue SET revenue = revenue - OLD.price_cents * OLD.quantity
    WHERE OLD.price_cents IS NOT NULL AND currency = COALESCE(OLD.currency, '')
          AND customer_id = (SELECT customer_id FROM orders WHERE id = OLD.order_id);
    INSERT INTO customer_revenue (customer_id, currency, revenue)
    SELECT customer_id, COALESCE(NEW.currency, ''), NEW.price_cents * NEW.quantity
    FROM orders WHERE id = NEW.order_id AND NEW.price_cents IS NOT NULL
    ON CONFLICT (customer_id, currency) DO UPDATE SET revenue = revenue + excluded.revenue;
    UPDATE customer_money SET revenue = revenue - OLD.price_cents * OLD.quantity
    WHERE OLD.price_cents IS NOT NULL
          AND customer_id = (SELECT customer_id FROM orders WHERE id = OLD.order_id);
    UPDATE customer_money SET revenue = revenue + NEW.price_cents * NEW.quantity
    WHERE NEW.price_cents IS NOT NULL
          AND customer_id = (SELECT customer_id FROM orders WHERE id = NEW.order_id);
END;

CREATE TRIGGER customer_revenue_item_delete AFTER DELETE ON order_items
WHEN OLD.price_cents IS NOT NULL BEGIN
    UPDATE customer_revenue SET revenue = revenue - OLD.price_cents * OLD.quantity
    WHERE currency = COALESCE(OLD.currency, '')
          AND customer_id = (SELECT customer_id FROM orders WHERE id = OLD.order_id);
    UPDATE customer_money SET revenue = revenue - OLD.price_cents * OLD.quantity
    WHERE customer_id = (SELECT customer_id FROM orders WHERE id = OLD.order_id);
END;

-- What is there already.
INSERT INTO customer_revenue (customer_id, currency, revenue)
SELECT o.customer_id, COALESCE(oi.currency, ''), SUM(oi.price_cents * oi.quantity)
FROM order_items oi JOIN orders o ON o.id = oi.order_id
WHERE oi.price_cents IS NOT NULL
GROUP BY o.customer_id, COALESCE(oi.currency, '');

INSERT INTO customer_money (customer_id, first_at, last_at, orders, gap_us, revenue)
SELECT o.customer_id, MIN(o.purchased_at), MAX(o.purchased_at), COUNT(*), NULL,
       COALESCE((SELECT SUM(r.revenue) FROM customer_revenue r
                 WHERE r.customer_id = o.customer_id), 0)
FROM orders o GROUP BY o.customer_id;

UPDATE customer_money SET gap_us = (
    SELECT AVG(gap) FROM (
        SELECT gap, ROW_NUMBER() OVER (ORDER BY gap) AS n, COUNT(*) OVER () AS total
        FROM (
            SELECT us - LAG(us) OVER (ORDER BY us) AS gap FROM (
                SELECT CAST(strftime('%s', purchased_at) AS INTEGER) * 1000000
                       + CAST(substr(purchased_at, 21, 6) AS INTEGER) AS us
                FROM orders WHERE orders.customer_id = customer_money.customer_id
            )
        ) WHERE gap > 0
    ) WHERE n IN ((total + 1) / 2, (total + 2) / 2)
) WHERE orders > 1;
