-- "Recovered customers" of a period (issue 13) counted without a set of every customer: each
-- recovered complaint (case_recovery, migration 0016) knows when its customer's previous
-- recovered complaint was opened, by (opened_at, case_id), as orders.prev_at does for orders
-- (migration 0018). The customers of the recovered complaints opened in [a, b) are then the
-- complaints of [a, b) whose prev_opened is NULL or before a, each customer counted once: one
-- index range instead of COUNT(DISTINCT customer_id) over a year of them (25 ms at 34,000).
-- A complaint not recovered is not read and not kept; it is linked when it recovers. tests/test_recovery_prev.py holds it
-- equal to LAG() over the recovered complaints through any writes.
ALTER TABLE case_recovery ADD COLUMN prev_opened TEXT;

UPDATE case_recovery SET prev_opened = p.prev
FROM (SELECT case_id, LAG(opened_at) OVER (PARTITION BY customer_id ORDER BY opened_at, case_id)
             AS prev
      FROM case_recovery WHERE recovered = 1) AS p
WHERE p.case_id = case_recovery.case_id;

DROP INDEX case_recovery_opened;
CREATE INDEX case_recovery_opened ON case_recovery(opened_at, prev_opened) WHERE recovered = 1;

-- Any change of a customer's recovered complaints links all of that customer's recovered
-- complaints again (a handful, by case_recovery_customer). The UPDATE sets only prev_opened, so it does
-- not fire the update trigger again.
CREATE TRIGGER case_recovery_prev_insert AFTER INSERT ON case_recovery WHEN NEW.recovered = 1
BEGIN
    UPDATE case_recovery SET prev_opened = (
        SELECT p.opened_at FROM case_recovery p
        WHERE p.customer_id = case_recovery.customer_id AND p.recovered = 1
          AND (p.opened_at < case_recovery.opened_at
               OR p.opened_at = case_recovery.opened_at AND p.case_id < case_recovery.case_id)
        ORDER BY p.opened_at DESC, p.case_id DESC LIMIT 1
    ) WHERE customer_id = NEW.customer_id AND recovered = 1;
END;

CREATE TRIGGER case_recovery_prev_update
AFTER UPDATE OF recovered, customer_id, opened_at, case_id ON case_recovery
WHEN OLD.recovered = 1 OR NEW.recovered = 1 BEGIN
    UPDATE case_recovery SET prev_opened = (
        SELECT p.opened_at FROM case_recovery p
        WHERE p.customer_id = case_recovery.customer_id AND p.recovered = 1
          AND (p.opened_at < case_recovery.opened_at
               OR p.opened_at = case_recovery.opened_at AND p.case_id < case_recovery.case_id)
        ORDER BY p.opened_at DESC, p.case_id DESC LIMIT 1
    ) WHERE customer_id IN (OLD.customer_id, NEW.customer_id) AND recovered = 1;
END;

CREATE TRIGGER case_recovery_prev_delete AFTER DELETE ON case_recovery WHEN OLD.recovered = 1
BEGIN
    UPDATE case_recovery SET prev_opened = (
        SELECT p.opened_at FROM case_recovery p
        WHERE p.customer_id = case_recovery.customer_id AND p.recovered = 1
          AND (p.opened_at < case_recovery.opened_at
               OR p.opened_at = case_recovery.opened_at AND p.case_id < case_recovery.case_id)
        ORDER BY p.opened_at DESC, p.case_id DESC LIMIT 1
    ) WHERE customer_id = OLD.customer_id AND recovered = 1;
END;
