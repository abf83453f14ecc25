-- Customers and their revenue to date by the UTC day of their first order (issue 13): the money
-- section's cohorts (by local month of the first order) and its LTV's customer counts read a
-- row per day, and only the customers of the partial days at a month's edges off
-- customer_money_first, instead of every customer on every report (27 ms at 50,000 customers).
-- Kept by triggers on customer_money (migration 0013), so in the same transaction as each order
-- and priced item; a row whose customers have all moved away stays with zeros.
-- tests/test_customer_money_times.py holds it equal to customer_money grouped by day.
CREATE TABLE customer_first_days (
    day        TEXT PRIMARY KEY,  -- substr(first_at, 1, 10)
    customers  INTEGER NOT NULL,
    revenue    REAL NOT NULL      -- Σ customer_money.revenue (every currency)
) WITHOUT ROWID;

INSERT INTO customer_first_days (day, customers, revenue)
SELECT substr(first_at, 1, 10), COUNT(*), TOTAL(revenue) FROM customer_money GROUP BY 1;

CREATE TRIGGER customer_first_days_insert AFTER INSERT ON customer_money BEGIN
    INSERT INTO customer_first_days (day, customers, revenue)
    VALUES (substr(NEW.first_at, 1, 10), 1, NEW.revenue)
    ON CONFLICT (day) DO UPDATE SET customers = customers + 1,
                                    revenue = revenue + excluded.revenue;
END;

-- Every later order sets first_at (to the same value, mostly) and every priced item changes the
-- revenue: one UPDATE of the day's row, unless the first order moved to another day.
CREATE TRIGGER customer_first_days_update AFTER UPDATE OF first_at, revenue ON customer_money
WHEN substr(OLD.first_at, 1, 10) = substr(NEW.first_at, 1, 10) AND OLD.revenue != NEW.revenue
BEGIN
    UPDATE customer_first_days SET revenue = revenue + (NEW.revenue - OLD.revenue)
    WHERE day = substr(NEW.first_at, 1, 10);
END;

CREATE TRIGGER customer_first_days_move AFTER UPDATE OF first_at ON customer_money
WHEN substr(OLD.first_at, 1, 10) != substr(NEW.first_at, 1, 10) BEGIN
    UPDATE customer_first_days SET customers = customers - 1, revenue = revenue - OLD.revenue
    WHERE day = substr(OLD.first_at, 1, 10);
    INSERT INTO customer_first_days (day, customers, revenue)
    VALUES (substr(NEW.first_at, 1, 10), 1, NEW.revenue)
    ON CONFLICT (day) DO UPDATE SET customers = customers + 1,
                                    revenue = revenue + excluded.revenue;
END;

CREATE TRIGGER customer_first_days_delete AFTER DELETE ON customer_money BEGIN
    UPDATE customer_first_days SET customers = customers - 1, revenue = revenue - OLD.revenue
    WHERE day = substr(OLD.first_at, 1, 10);
END;
