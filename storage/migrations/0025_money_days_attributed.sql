-- The money section's attributed revenue (issue 13) folded per day with the rest of money_days
-- (migration 0015): the revenue of a day's orders that a restock reminder (14 days, the order
-- holds the reminded SKU), a review request (14 days) or a win-back message (30 days) sent to
-- the customer before the order counts for, in each candidate main currency. Whether an order
-- counts depends on the order alone, whatever the period it is read for (a period's orders
-- after messages within the window before them), so a day's sums add up; a period reads its
-- folded days here and counts the rest from the orders, as for its revenue. A year of a big
-- shop's messages each looked for its orders on every report cost 50 ms (10,000 reminders).
ALTER TABLE money_days ADD COLUMN restock INTEGER NOT NULL DEFAULT 0;
ALTER TABLE money_days ADD COLUMN review INTEGER NOT NULL DEFAULT 0;
ALTER TABLE money_days ADD COLUMN winback INTEGER NOT NULL DEFAULT 0;

-- Whether an order counts is one seek here: its customer's messages of a kind in the window
-- before it (bot.reports.money.counts_for).
CREATE INDEX outbox_customer_sent ON outbox(customer_id, kind, sent_at) WHERE status = 'sent';

-- Every folded day is folded again, with these.
INSERT OR IGNORE INTO money_dirty (day) SELECT DISTINCT day FROM money_days;

-- Beside the writes 0015 notes, what decides whether an order counts:
-- a message of the three kinds sent, unsent, moved in time or to another customer, or deleted
-- notes the days of its customer's orders within its window (an index range of
-- orders_customer; none, mostly, when it is sent: its orders come later and note their own day);
CREATE TRIGGER money_dirty_message_insert AFTER INSERT ON outbox
WHEN NEW.status = 'sent' AND NEW.kind IN ('restock', 'review_request', 'winback') BEGIN
    INSERT OR IGNORE INTO money_dirty (day)
    SELECT DISTINCT substr(o.purchased_at, 1, 10) FROM orders o
    WHERE o.customer_id = NEW.customer_id AND o.purchased_at >= NEW.sent_at
      AND o.purchased_at <= strftime('%Y-%m-%dT%H:%M:%S', substr(NEW.sent_at, 1, 19),
              CASE NEW.kind WHEN 'winback' THEN '+30 days' ELSE '+14 days' END)
          || substr(NEW.sent_at, 20);
END;

CREATE TRIGGER money_dirty_message_update
AFTER UPDATE OF status, sent_at, customer_id, kind, ref_id ON outbox
WHEN (OLD.status = 'sent' AND OLD.kind IN ('restock', 'review_request', 'winback'))
  OR (NEW.status = 'sent' AND NEW.kind IN ('restock', 'review_request', 'winback')) BEGIN
    INSERT OR IGNORE INTO money_dirty (day)
    SELECT DISTINCT substr(o.purchased_at, 1, 10) FROM orders o, (
        SELECT OLD.customer_id AS customer_id, OLD.sent_at AS sent_at, OLD.kind AS kind
        WHERE OLD.status = 'sent'
        UNION ALL
        SELECT NEW.customer_id, NEW.sent_at, NEW.kind WHERE NEW.status = 'sent'
    ) AS x
    WHERE o.customer_id = x.customer_id AND o.purchased_at >= x.sent_at
      AND o.purchased_at <= strftime('%Y-%m-%dT%H:%M:%S', substr(x.sent_at, 1, 19),
              CASE x.kind WHEN 'winback' THEN '+30 days' ELSE '+14 days' END)
          || substr(x.sent_at, 20);
END;

CREATE TRIGGER money_dirty_message_delete AFTER DELETE ON outbox
WHEN OLD.status = 'sent' AND OLD.kind IN ('restock', 'review_request', 'winback') BEGIN
    INSERT OR IGNORE INTO money_dirty (day)
    SELECT DISTINCT substr(o.purchased_at, 1, 10) FROM orders o
    WHERE o.customer_id = OLD.customer_id AND o.purchased_at >= OLD.sent_at
      AND o.purchased_at <= strftime('%Y-%m-%dT%H:%M:%S', substr(OLD.sent_at, 1, 19),
              CASE OLD.kind WHEN 'winback' THEN '+30 days' ELSE '+14 days' END)
          || substr(OLD.sent_at, 20);
END;

-- an order moved to another customer notes its day (its messages are another customer's);
CREATE TRIGGER money_dirty_order_customer AFTER UPDATE OF customer_id ON orders
WHEN OLD.customer_id IS NOT NEW.customer_id BEGIN
    INSERT OR IGNORE INTO money_dirty (day) VALUES (substr(NEW.purchased_at, 1, 10));
END;

-- an item's SKU changed notes its order's day; and an item a restock reminder is about (its
-- ref_id) inserted, deleted or given another SKU notes the days of the reminded customer's
-- orders within 14 days of each such reminder (none, mostly: outbox_ref finds no reminder).
CREATE VIEW reminded_item_days AS
SELECT x.ref_id AS item_id, substr(o.purchased_at, 1, 10) AS day
FROM outbox x JOIN orders o
    ON o.customer_id = x.customer_id AND o.purchased_at >= x.sent_at
   AND o.purchased_at <= strftime('%Y-%m-%dT%H:%M:%S', substr(x.sent_at, 1, 19), '+14 days')
       || substr(x.sent_at, 20)
WHERE x.kind = 'restock' AND x.status = 'sent';

CREATE TRIGGER money_dirty_item_sku AFTER UPDATE OF sku ON order_items
WHEN OLD.sku IS NOT NEW.sku BEGIN
    INSERT OR IGNORE INTO money_dirty (day)
    SELECT substr(purchased_at, 1, 10) FROM orders WHERE id = NEW.order_id;
    INSERT OR IGNORE INTO money_dirty (day)
    SELECT DISTINCT day FROM reminded_item_days WHERE item_id = NEW.id;
END;

CREATE TRIGGER money_dirty_reminded_item_insert AFTER INSERT ON order_items BEGIN
    INSERT OR IGNORE INTO money_dirty (day)
    SELECT DISTINCT day FROM reminded_item_days WHERE item_id = NEW.id;
END;

CREATE TRIGGER money_dirty_reminded_item_delete AFTER DELETE ON order_items BEGIN
    INSERT OR IGNORE INTO money_dirty (day)
    SELECT DISTINCT day FROM reminded_item_days WHERE item_id = OLD.id;
END;
