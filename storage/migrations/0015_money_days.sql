-- The money section's period figures (bot/reports/money.py) at a big shop's size: per-UTC-day
-- totals, folded lazily (bot/reports/money_days.py), so that a period reads its whole days from
-- here and counts only its two partial edge days, and any day written since the last fold, from
-- the orders.
--
-- Why lazy folding and not totals kept by triggers: keeping the totals incrementally means doing
-- an order's rounding arithmetic (half to even, as a whole, for every currency the report might
-- call the main one) in the write transaction of every order and item — about half again the cost
-- of ingesting an order, and hundreds of lines of trigger SQL that must agree with the report's
-- query by reasoning alone. Here a write only notes its day (one INSERT OR IGNORE), and a day's
-- totals are recomputed, when a report runs, by the same expressions the report's query uses over
-- that day's range: exact by construction, and a day not folded yet is counted from the orders,
-- so the figures never depend on whether a fold ran.

-- The UTC days (the first 10 characters of purchased_at, 'YYYY-MM-DD') whose orders or items
-- changed since their money_days rows were computed. A day in here is never read from
-- money_days.
CREATE TABLE money_dirty (
    day  TEXT PRIMARY KEY
) WITHOUT ROWID;

-- Per UTC day D and candidate main currency, what the report's period query gives for exactly
-- [D 00:00Z, D+1 00:00Z) with :cur = cur (orders with items, those with a priced item counting in
-- cur, Σ of each order's revenue rounded half to even, Σ of the exact amounts):
--   - one row for each currency named by a priced item of the day;
--   - one row with cur = '', for the main currency '' (a shop that never named one) and for a main
--     currency that no priced item of the day names: either way only the items without a currency
--     count (COALESCE(currency, :cur) = :cur is true for NULL, false for any other name). A day
--     with a priced item whose currency is the empty text itself would make those two differ; no
--     writer stores one (bot/customers/schema.py: three capitals or none), and the fold leaves such
--     a day dirty, counted from the orders.
-- Every day with orders has the row ''. bare (on each row of the day, read from row '') is the
-- day's orders without items: they are no purchase, and on the days without any the buyers are
-- counted from the orders without looking at each one's items. A day without orders has no rows.
CREATE TABLE money_days (
    day      TEXT NOT NULL,
    cur      TEXT NOT NULL,
    orders   INTEGER NOT NULL,
    priced   INTEGER NOT NULL,
    revenue  INTEGER NOT NULL,
    exact    REAL NOT NULL,
    bare     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, cur)
) WITHOUT ROWID;

-- Each write notes the day of every order whose figures it can change: for an update, the old
-- and the new day (or order). An order's customer is in no per-day total (buyers are counted from
-- the orders of the period), so changing it notes nothing. An order's insert is noted before it
-- has items: it is one of the day's orders without items (bare) until they come.
CREATE TRIGGER money_dirty_order_insert AFTER INSERT ON orders BEGIN
    INSERT OR IGNORE INTO money_dirty (day) VALUES (substr(NEW.purchased_at, 1, 10));
END;

CREATE TRIGGER money_dirty_order_update AFTER UPDATE OF id, purchased_at ON orders
WHEN OLD.id IS NOT NEW.id OR OLD.purchased_at IS NOT NEW.purchased_at BEGIN
    INSERT OR IGNORE INTO money_dirty (day)
    VALUES (substr(OLD.purchased_at, 1, 10)), (substr(NEW.purchased_at, 1, 10));
END;

CREATE TRIGGER money_dirty_order_delete AFTER DELETE ON orders BEGIN
    INSERT OR IGNORE INTO money_dirty (day) VALUES (substr(OLD.purchased_at, 1, 10));
END;

CREATE TRIGGER money_dirty_item_insert AFTER INSERT ON order_items BEGIN
    INSERT OR IGNORE INTO money_dirty (day)
    SELECT substr(purchased_at, 1, 10) FROM orders WHERE id = NEW.order_id;
END;

CREATE TRIGGER money_dirty_item_update
AFTER UPDATE OF price_cents, currency, quantity, order_id ON order_items
WHEN OLD.price_cents IS NOT NEW.price_cents OR OLD.currency IS NOT NEW.currency
     OR OLD.quantity IS NOT NEW.quantity OR OLD.order_id IS NOT NEW.order_id BEGIN
    INSERT OR IGNORE INTO money_dirty (day)
    SELECT substr(purchased_at, 1, 10) FROM orders WHERE id IN (OLD.order_id, NEW.order_id);
END;

CREATE TRIGGER money_dirty_item_delete AFTER DELETE ON order_items BEGIN
    INSERT OR IGNORE INTO money_dirty (day)
    SELECT substr(purchased_at, 1, 10) FROM orders WHERE id = OLD.order_id;
END;

-- What is there already: every day with orders is dirty, and the first report folds them (one
-- set-based statement, in its write transaction). Until then the figures are counted from the
-- orders, as before this migration.
INSERT INTO money_dirty (day) SELECT DISTINCT substr(purchased_at, 1, 10) FROM orders;

-- The revenue attributed to messages is driven by each kind's sent messages of a period (without
-- it, SQLite read every order of the period for a kind never sent).
CREATE INDEX outbox_sent ON outbox(kind, sent_at, customer_id) WHERE status = 'sent';
