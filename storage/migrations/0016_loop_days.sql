-- The report's loop figures (bot/reports/loop.py, storage.cases.loop_counts) at a big shop's
-- size: a year of cases was counted case by case (four queries of 15–140 ms at 70,000 cases).
-- The tables here are kept by triggers in the same transaction as every change to a case, a
-- review or an order (like review_hours, migration 0010), so a period's figures are sums of at
-- most a few hundred days plus the raw cases of the two partial days at its edges.
-- tests/test_loop_days.py checks that they always equal the raw aggregates.

-- Per UTC day of opened_at ('YYYY-MM-DD'): the cohort counts of the cases opened that day.
CREATE TABLE case_days (
    day        TEXT PRIMARY KEY,
    opened     INTEGER NOT NULL DEFAULT 0,
    in_target  INTEGER NOT NULL DEFAULT 0,   -- first answered by the due time
    confirmed  INTEGER NOT NULL DEFAULT 0,   -- closed with the customer's «Да»
    reopened   INTEGER NOT NULL DEFAULT 0    -- reopened at least once
) WITHOUT ROWID;

-- How long the cases opened on a day took to the first answer ('answer') and to closing
-- ('close'), as counts by bucket: the milliseconds' whole seconds s by their number of digits
-- and first digit (10·len(s) + first digit; 0 below a second), so buckets sort like durations
-- and a day has a few dozen at most. A period's median is found in the bucket counts, then
-- read exactly off cases_answer_time / cases_close_time (storage.cases._median_hours).
CREATE TABLE case_time_days (
    kind    TEXT NOT NULL CHECK (kind IN ('answer', 'close')),
    day     TEXT NOT NULL,
    bucket  INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (kind, day, bucket)
) WITHOUT ROWID;

-- The durations by bucket and milliseconds, with the opening time: the median's bucket is
-- walked in order from here, never from the table's rows. The expressions must stay exactly
-- those of storage.cases (_ms_sql, _bucket_sql), or the planner will not use these.
CREATE INDEX cases_answer_time ON cases(
    CASE WHEN CAST(round((julianday(first_answered_at) - julianday(opened_at)) * 86400000) AS INTEGER) < 1000 THEN 0 ELSE length(CAST(round((julianday(first_answered_at) - julianday(opened_at)) * 86400000) AS INTEGER) / 1000) * 10 + CAST(substr(CAST(round((julianday(first_answered_at) - julianday(opened_at)) * 86400000) AS INTEGER) / 1000, 1, 1) AS INTEGER) END,
    CAST(round((julianday(first_answered_at) - julianday(opened_at)) * 86400000) AS INTEGER),
    opened_at
) WHERE first_answered_at IS NOT NULL;

CREATE INDEX cases_close_time ON cases(
    CASE WHEN CAST(round((julianday(closed_at) - julianday(opened_at)) * 86400000) AS INTEGER) < 1000 THEN 0 ELSE length(CAST(round((julianday(closed_at) - julianday(opened_at)) * 86400000) AS INTEGER) / 1000) * 10 + CAST(substr(CAST(round((julianday(closed_at) - julianday(opened_at)) * 86400000) AS INTEGER) / 1000, 1, 1) AS INTEGER) END,
    CAST(round((julianday(closed_at) - julianday(opened_at)) * 86400000) AS INTEGER),
    opened_at
) WHERE closed_at IS NOT NULL;


-- Every counted column's old values leave their day and bucket, the new ones join theirs;
-- status, resolved_at and the rest change often and fire nothing here.
CREATE TRIGGER case_days_insert AFTER INSERT ON cases BEGIN
    INSERT INTO case_days (day, opened, in_target, confirmed, reopened)
    SELECT substr(NEW.opened_at, 1, 10), 1,
        (NEW.first_answered_at IS NOT NULL AND NEW.first_answered_at <= NEW.due_at),
        (NEW.closed_how IS 'confirmed'), (NEW.reopened > 0)
    WHERE true
    ON CONFLICT (day) DO UPDATE SET opened = opened + excluded.opened,
        in_target = in_target + excluded.in_target, confirmed = confirmed + excluded.confirmed,
        reopened = reopened + excluded.reopened;
    INSERT INTO case_time_days (kind, day, bucket, n)
    SELECT 'answer', substr(NEW.opened_at, 1, 10), CASE WHEN ms < 1000 THEN 0 ELSE length(ms / 1000) * 10 + CAST(substr(ms / 1000, 1, 1) AS INTEGER) END, 1
    FROM (SELECT CAST(round((julianday(NEW.first_answered_at) - julianday(NEW.opened_at)) * 86400000) AS INTEGER) AS ms)
    WHERE NEW.first_answered_at IS NOT NULL
    ON CONFLICT (kind, day, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO case_time_days (kind, day, bucket, n)
    SELECT 'close', substr(NEW.opened_at, 1, 10), CASE WHEN ms < 1000 THEN 0 ELSE length(ms / 1000) * 10 + CAST(substr(ms / 1000, 1, 1) AS INTEGER) END, 1
    FROM (SELECT CAST(round((julianday(NEW.closed_at) - julianday(NEW.opened_at)) * 86400000) AS INTEGER) AS ms)
    WHERE NEW.closed_at IS NOT NULL
    ON CONFLICT (kind, day, bucket) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER case_days_update
AFTER UPDATE OF opened_at, first_answered_at, due_at, closed_at, closed_how, reopened ON cases
BEGIN
    INSERT INTO case_days (day, opened, in_target, confirmed, reopened)
    SELECT substr(OLD.opened_at, 1, 10), -1,
        -(OLD.first_answered_at IS NOT NULL AND OLD.first_answered_at <= OLD.due_at),
        -(OLD.closed_how IS 'confirmed'), -(OLD.reopened > 0)
    WHERE NOT (OLD.opened_at IS NEW.opened_at AND OLD.first_answered_at IS NEW.first_answered_at AND OLD.due_at IS NEW.due_at
          AND OLD.closed_how IS NEW.closed_how AND (OLD.reopened > 0) = (NEW.reopened > 0))
    ON CONFLICT (day) DO UPDATE SET opened = opened + excluded.opened,
        in_target = in_target + excluded.in_target, confirmed = confirmed + excluded.confirmed,
        reopened = reopened + excluded.reopened;
    INSERT INTO case_days (day, opened, in_target, confirmed, reopened)
    SELECT substr(NEW.opened_at, 1, 10), 1,
        (NEW.first_answered_at IS NOT NULL AND NEW.first_answered_at <= NEW.due_at),
        (NEW.closed_how IS 'confirmed'), (NEW.reopened > 0)
    WHERE NOT (OLD.opened_at IS NEW.opened_at AND OLD.first_answered_at IS NEW.first_answered_at AND OLD.due_at IS NEW.due_at
          AND OLD.closed_how IS NEW.closed_how AND (OLD.reopened > 0) = (NEW.reopened > 0))
    ON CONFLICT (day) DO UPDATE SET opened = opened + excluded.opened,
        in_target = in_target + excluded.in_target, confirmed = confirmed + excluded.confirmed,
        reopened = reopened + excluded.reopened;
    INSERT INTO case_time_days (kind, day, bucket, n)
    SELECT 'answer', substr(OLD.opened_at, 1, 10), CASE WHEN ms < 1000 THEN 0 ELSE length(ms / 1000) * 10 + CAST(substr(ms / 1000, 1, 1) AS INTEGER) END, -1
    FROM (SELECT CAST(round((julianday(OLD.first_answered_at) - julianday(OLD.opened_at)) * 86400000) AS INTEGER) AS ms)
    WHERE OLD.first_answered_at IS NOT NULL
        AND (OLD.first_answered_at IS NOT NEW.first_answered_at OR OLD.opened_at IS NOT NEW.opened_at)
    ON CONFLICT (kind, day, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO case_time_days (kind, day, bucket, n)
    SELECT 'answer', substr(NEW.opened_at, 1, 10), CASE WHEN ms < 1000 THEN 0 ELSE length(ms / 1000) * 10 + CAST(substr(ms / 1000, 1, 1) AS INTEGER) END, 1
    FROM (SELECT CAST(round((julianday(NEW.first_answered_at) - julianday(NEW.opened_at)) * 86400000) AS INTEGER) AS ms)
    WHERE NEW.first_answered_at IS NOT NULL
        AND (OLD.first_answered_at IS NOT NEW.first_answered_at OR OLD.opened_at IS NOT NEW.opened_at)
    ON CONFLICT (kind, day, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO case_time_days (kind, day, bucket, n)
    SELECT 'close', substr(OLD.opened_at, 1, 10), CASE WHEN ms < 1000 THEN 0 ELSE length(ms / 1000) * 10 + CAST(substr(ms / 1000, 1, 1) AS INTEGER) END, -1
    FROM (SELECT CAST(round((julianday(OLD.closed_at) - julianday(OLD.opened_at)) * 86400000) AS INTEGER) AS ms)
    WHERE OLD.closed_at IS NOT NULL
        AND (OLD.closed_at IS NOT NEW.closed_at OR OLD.opened_at IS NOT NEW.opened_at)
    ON CONFLICT (kind, day, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO case_time_days (kind, day, bucket, n)
    SELECT 'close', substr(NEW.opened_at, 1, 10), CASE WHEN ms < 1000 THEN 0 ELSE length(ms / 1000) * 10 + CAST(substr(ms / 1000, 1, 1) AS INTEGER) END, 1
    FROM (SELECT CAST(round((julianday(NEW.closed_at) - julianday(NEW.opened_at)) * 86400000) AS INTEGER) AS ms)
    WHERE NEW.closed_at IS NOT NULL
        AND (OLD.closed_at IS NOT NEW.closed_at OR OLD.opened_at IS NOT NEW.opened_at)
    ON CONFLICT (kind, day, bucket) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER case_days_delete AFTER DELETE ON cases BEGIN
    INSERT INTO case_days (day, opened, in_target, confirmed, reopened)
    SELECT substr(OLD.opened_at, 1, 10), -1,
        -(OLD.first_answered_at IS NOT NULL AND OLD.first_answered_at <= OLD.due_at),
        -(OLD.closed_how IS 'confirmed'), -(OLD.reopened > 0)
    WHERE true
    ON CONFLICT (day) DO UPDATE SET opened = opened + excluded.opened,
        in_target = in_target + excluded.in_target, confirmed = confirmed + excluded.confirmed,
        reopened = reopened + excluded.reopened;
    INSERT INTO case_time_days (kind, day, bucket, n)
    SELECT 'answer', substr(OLD.opened_at, 1, 10), CASE WHEN ms < 1000 THEN 0 ELSE length(ms / 1000) * 10 + CAST(substr(ms / 1000, 1, 1) AS INTEGER) END, -1
    FROM (SELECT CAST(round((julianday(OLD.first_answered_at) - julianday(OLD.opened_at)) * 86400000) AS INTEGER) AS ms)
    WHERE OLD.first_answered_at IS NOT NULL
    ON CONFLICT (kind, day, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO case_time_days (kind, day, bucket, n)
    SELECT 'close', substr(OLD.opened_at, 1, 10), CASE WHEN ms < 1000 THEN 0 ELSE length(ms / 1000) * 10 + CAST(substr(ms / 1000, 1, 1) AS INTEGER) END, -1
    FROM (SELECT CAST(round((julianday(OLD.closed_at) - julianday(OLD.opened_at)) * 86400000) AS INTEGER) AS ms)
    WHERE OLD.closed_at IS NOT NULL
    ON CONFLICT (kind, day, bucket) DO UPDATE SET n = n + excluded.n;
END;

-- What is there already.
INSERT INTO case_days (day, opened, in_target, confirmed, reopened)
SELECT substr(opened_at, 1, 10), COUNT(*),
    SUM(first_answered_at IS NOT NULL AND first_answered_at <= due_at),
    SUM(closed_how IS 'confirmed'), SUM(reopened > 0)
FROM cases GROUP BY 1;
INSERT INTO case_time_days (kind, day, bucket, n)
SELECT kind, day, CASE WHEN ms < 1000 THEN 0 ELSE length(ms / 1000) * 10 + CAST(substr(ms / 1000, 1, 1) AS INTEGER) END, COUNT(*)
FROM (
    SELECT 'answer' AS kind, substr(opened_at, 1, 10) AS day,
        CAST(round((julianday(first_answered_at) - julianday(opened_at)) * 86400000) AS INTEGER) AS ms
    FROM cases WHERE first_answered_at IS NOT NULL
    UNION ALL
    SELECT 'close', substr(opened_at, 1, 10),
        CAST(round((julianday(closed_at) - julianday(opened_at)) * 86400000) AS INTEGER)
    FROM cases WHERE closed_at IS NOT NULL
)
GROUP BY 1, 2, 3;

-- Closed complaints and whether their customer came back (rated 4–5 or bought) within 60 days
-- after the resolution (bot.cases.timing.RECOVERY_WINDOW; loop_counts counts raw for any other
-- window). One row per complaint that may recover; `until` is resolved_at + 60 days in the
-- stored form. A report counts a period's customers off case_recovery_opened, never running
-- two lookups per complaint of the year.
CREATE TABLE case_recovery (
    case_id      INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL,
    opened_at    TEXT NOT NULL,
    resolved_at  TEXT NOT NULL,
    until        TEXT NOT NULL,
    recovered    INTEGER NOT NULL
);
CREATE INDEX case_recovery_customer ON case_recovery(customer_id);
CREATE INDEX case_recovery_opened ON case_recovery(opened_at, customer_id) WHERE recovered = 1;

-- A case enters when it becomes a closed complaint with a resolution and leaves when it stops
-- being one; its flag is computed on entry.
CREATE TRIGGER case_recovery_insert AFTER INSERT ON cases
WHEN NEW.topic = 'complaint' AND NEW.status = 'closed' AND NEW.resolved_at IS NOT NULL BEGIN
    INSERT INTO case_recovery (case_id, customer_id, opened_at, resolved_at, until, recovered)
    SELECT NEW.id, NEW.customer_id, NEW.opened_at, NEW.resolved_at, until, EXISTS (
        SELECT 1 FROM reviews r WHERE r.customer_id = NEW.customer_id AND r.rating >= 4
        AND r.rated_at > NEW.resolved_at AND r.rated_at <= until
    ) OR EXISTS (
        SELECT 1 FROM orders o WHERE o.customer_id = NEW.customer_id
        AND o.purchased_at > NEW.resolved_at AND o.purchased_at <= until
    )
    FROM (SELECT strftime('%Y-%m-%dT%H:%M:%S', NEW.resolved_at, '+60 days')
                 || substr(NEW.resolved_at, 20) AS until);
END;

CREATE TRIGGER case_recovery_update
AFTER UPDATE OF id, customer_id, topic, status, opened_at, resolved_at ON cases
WHEN (OLD.topic = 'complaint' AND OLD.status = 'closed' AND OLD.resolved_at IS NOT NULL)
  OR (NEW.topic = 'complaint' AND NEW.status = 'closed' AND NEW.resolved_at IS NOT NULL) BEGIN
    DELETE FROM case_recovery WHERE case_id = OLD.id;
    INSERT INTO case_recovery (case_id, customer_id, opened_at, resolved_at, until, recovered)
    SELECT NEW.id, NEW.customer_id, NEW.opened_at, NEW.resolved_at, until, EXISTS (
        SELECT 1 FROM reviews r WHERE r.customer_id = NEW.customer_id AND r.rating >= 4
        AND r.rated_at > NEW.resolved_at AND r.rated_at <= until
    ) OR EXISTS (
        SELECT 1 FROM orders o WHERE o.customer_id = NEW.customer_id
        AND o.purchased_at > NEW.resolved_at AND o.purchased_at <= until
    )
    FROM (SELECT strftime('%Y-%m-%dT%H:%M:%S', NEW.resolved_at, '+60 days')
                 || substr(NEW.resolved_at, 20) AS until)
    WHERE NEW.topic = 'complaint' AND NEW.status = 'closed' AND NEW.resolved_at IS NOT NULL;
END;

CREATE TRIGGER case_recovery_delete AFTER DELETE ON cases BEGIN
    DELETE FROM case_recovery WHERE case_id = OLD.id;
END;

-- A new rating of 4–5 or a new purchase can only recover; any other change recomputes the
-- flags of the customers it touches (a customer has a handful of complaints at most, found by
-- case_recovery_customer; a customer without any costs one index lookup).
CREATE TRIGGER case_recovery_rating_insert AFTER INSERT ON reviews
WHEN NEW.rating >= 4 AND NEW.rated_at IS NOT NULL BEGIN
    UPDATE case_recovery SET recovered = 1
    WHERE customer_id = NEW.customer_id AND recovered = 0
      AND NEW.rated_at > resolved_at AND NEW.rated_at <= until;
END;

CREATE TRIGGER case_recovery_rating_update AFTER UPDATE OF customer_id, rating, rated_at ON reviews
WHEN OLD.rating >= 4 OR NEW.rating >= 4 BEGIN
    UPDATE case_recovery SET recovered = EXISTS (
        SELECT 1 FROM reviews r WHERE r.customer_id = case_recovery.customer_id
        AND r.rating >= 4 AND r.rated_at > case_recovery.resolved_at
        AND r.rated_at <= case_recovery.until
    ) OR EXISTS (
        SELECT 1 FROM orders o WHERE o.customer_id = case_recovery.customer_id
        AND o.purchased_at > case_recovery.resolved_at AND o.purchased_at <= case_recovery.until
    )
    WHERE customer_id IN (OLD.customer_id, NEW.customer_id);
END;

CREATE TRIGGER case_recovery_rating_delete AFTER DELETE ON reviews WHEN OLD.rating >= 4 BEGIN
    UPDATE case_recovery SET recovered = EXISTS (
        SELECT 1 FROM reviews r WHERE r.customer_id = case_recovery.customer_id
        AND r.rating >= 4 AND r.rated_at > case_recovery.resolved_at
        AND r.rated_at <= case_recovery.until
    ) OR EXISTS (
        SELECT 1 FROM orders o WHERE o.customer_id = case_recovery.customer_id
        AND o.purchased_at > case_recovery.resolved_at AND o.purchased_at <= case_recovery.until
    )
    WHERE customer_id = OLD.customer_id;
END;

CREATE TRIGGER case_recovery_order_insert AFTER INSERT ON orders BEGIN
    UPDATE case_recovery SET recovered = 1
    WHERE customer_id = NEW.customer_id AND recovered = 0
      AND NEW.purchased_at > resolved_at AND NEW.purchased_at <= until;
END;

CREATE TRIGGER case_recovery_order_update AFTER UPDATE OF customer_id, purchased_at ON orders
BEGIN
    UPDATE case_recovery SET recovered = EXISTS (
        SELECT 1 FROM reviews r WHERE r.customer_id = case_recovery.customer_id
        AND r.rating >= 4 AND r.rated_at > case_recovery.resolved_at
        AND r.rated_at <= case_recovery.until
    ) OR EXISTS (
        SELECT 1 FROM orders o WHERE o.customer_id = case_recovery.customer_id
        AND o.purchased_at > case_recovery.resolved_at AND o.purchased_at <= case_recovery.until
    )
    WHERE customer_id IN (OLD.customer_id, NEW.customer_id);
END;

CREATE TRIGGER case_recovery_order_delete AFTER DELETE ON orders BEGIN
    UPDATE case_recovery SET recovered = EXISTS (
        SELECT 1 FROM reviews r WHERE r.customer_id = case_recovery.customer_id
        AND r.rating >= 4 AND r.rated_at > case_recovery.resolved_at
        AND r.rated_at <= case_recovery.until
    ) OR EXISTS (
        SELECT 1 FROM orders o WHERE o.customer_id = case_recovery.customer_id
        AND o.purchased_at > case_recovery.resolved_at AND o.purchased_at <= case_recovery.until
    )
    WHERE customer_id = OLD.customer_id;
END;

-- What is there already.
INSERT INTO case_recovery (case_id, customer_id, opened_at, resolved_at, until, recovered)
SELECT c.id, c.customer_id, c.opened_at, c.resolved_at, c.until, EXISTS (
    SELECT 1 FROM reviews r WHERE r.customer_id = c.customer_id AND r.rating >= 4
    AND r.rated_at > c.resolved_at AND r.rated_at <= c.until
) OR EXISTS (
    SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id
    AND o.purchased_at > c.resolved_at AND o.purchased_at <= c.until
)
FROM (SELECT id, customer_id, opened_at, resolved_at,
             strftime('%Y-%m-%dT%H:%M:%S', resolved_at, '+60 days') || substr(resolved_at, 20)
             AS until
      FROM cases WHERE topic = 'complaint' AND status = 'closed' AND resolved_at IS NOT NULL) c;
