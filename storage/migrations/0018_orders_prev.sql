-- Each order knows when its customer's previous order was (issue 13): the report's buyers and
-- retention are then counts over one index range, instead of a Python set of every buyer of
-- three periods (60 ms a year-long period at 200,000 orders).
--   buyers of [a, b)              = orders in [a, b) whose prev_at is NULL or before a
--                                   (a customer's first order in the period);
--   of them, bought in [p, a) too = those whose prev_at is in [p, a)
--                                   (the last order before a is in the period before).
-- "Previous" is by (purchased_at, id), so of two orders at one moment the second's previous is
-- the first, and a customer is counted once. Kept by the triggers below in the same
-- transaction as each order's write; tests/test_orders_prev.py holds it equal to LAG() over
-- the orders, and the counts equal to the sets.
ALTER TABLE orders ADD COLUMN prev_at TEXT;

UPDATE orders SET prev_at = p.prev
FROM (SELECT id, LAG(purchased_at) OVER (PARTITION BY customer_id ORDER BY purchased_at, id)
             AS prev
      FROM orders) AS p
WHERE p.id = orders.id AND p.prev IS NOT NULL;

CREATE INDEX orders_prev ON orders(purchased_at, prev_at);

-- A new order takes the previous one's time; the order after it (one reported late) takes the
-- new one's. Both are index seeks on orders_customer (customer_id, purchased_at, id).
CREATE TRIGGER orders_prev_insert AFTER INSERT ON orders BEGIN
    UPDATE orders SET prev_at = (
        SELECT p.purchased_at FROM orders p
        WHERE p.customer_id = NEW.customer_id AND p.purchased_at <= NEW.purchased_at
          AND (p.purchased_at < NEW.purchased_at OR p.id < NEW.id)
        ORDER BY p.purchased_at DESC, p.id DESC LIMIT 1
    ) WHERE id = NEW.id;
    UPDATE orders SET prev_at = NEW.purchased_at WHERE id = (
        SELECT s.id FROM orders s
        WHERE s.customer_id = NEW.customer_id AND s.purchased_at >= NEW.purchased_at
          AND (s.purchased_at > NEW.purchased_at OR s.id > NEW.id)
        ORDER BY s.purchased_at, s.id LIMIT 1
    );
END;

-- An order moved in time or to another customer, or deleted: its customers' orders (a handful)
-- are linked again.
CREATE TRIGGER orders_prev_update AFTER UPDATE OF purchased_at, customer_id ON orders BEGIN
    UPDATE orders SET prev_at = (
        SELECT p.purchased_at FROM orders p
        WHERE p.customer_id = orders.customer_id AND p.purchased_at <= orders.purchased_at
          AND (p.purchased_at < orders.purchased_at OR p.id < orders.id)
        ORDER BY p.purchased_at DESC, p.id DESC LIMIT 1
    ) WHERE customer_id IN (OLD.customer_id, NEW.customer_id);
END;

CREATE TRIGGER orders_prev_delete AFTER DELETE ON orders BEGIN
    UPDATE orders SET prev_at = (
        SELECT p.purchased_at FROM orders p
        WHERE p.customer_id = orders.customer_id AND p.purchased_at <= orders.purchased_at
          AND (p.purchased_at < orders.purchased_at OR p.id < orders.id)
        ORDER BY p.purchased_at DESC, p.id DESC LIMIT 1
    ) WHERE customer_id = OLD.customer_id;
END;
