-- "Recovered customers" of a period (storage.cases._recovered) for each period length of the
-- report (7, 30, 90 and 365 days; a test holds them equal to bot.reports.periods.PERIOD_DAYS),
-- as steps by UTC day, the way migration 0029 keeps the buyers (issue 13). A year-long report
-- counted a year of recovered complaints for each of its two periods (10 ms a call at 126,000
-- complaints, growing with every one); it now sums at most a row a day of this table and reads
-- the complaints of the periods' partial edge days only.
--
-- A recovered complaint opened on day d whose customer's previous recovered complaint
-- (migration 0022's prev_opened) was opened on day q counts for the period [E - span, E) (E a
-- UTC midnight) when E is in [a, e): a = max(d + 1, q + span + 1) (d + 1 without a previous
-- one), e = d + span + 1. It adds 1 at a and takes it back at e; a complaint not recovered
-- has no steps. Kept by the triggers below in the same transaction as each change to
-- case_recovery (its flag and its links change as customers come back);
-- tests/test_recovery_steps.py holds the counts equal to the complaints counted one by one.
CREATE TABLE recovery_steps (
    span       INTEGER NOT NULL,  -- the period's length in days
    day        INTEGER NOT NULL,  -- CAST(julianday('YYYY-MM-DD') AS INTEGER) of a UTC day
    customers  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (span, day)
) WITHOUT ROWID;

INSERT INTO recovery_steps (span, day, customers)
SELECT x.span, CASE k.k WHEN 1 THEN x.a ELSE x.e END,
       SUM(x.sign * CASE k.k WHEN 1 THEN 1 ELSE -1 END)
FROM (
    SELECT s.span, r.sign, r.d + s.span + 1 AS e,
           CASE WHEN r.q IS NULL THEN r.d + 1 ELSE max(r.d + 1, r.q + s.span + 1) END AS a
    FROM (SELECT CAST(julianday(substr(c.opened_at, 1, 10)) AS INTEGER) AS d,
                 CAST(julianday(substr(c.prev_opened, 1, 10)) AS INTEGER) AS q,
                 1 AS sign
          FROM case_recovery AS c WHERE c.recovered = 1
    ) AS r
    CROSS JOIN (SELECT 7 AS span UNION ALL SELECT 30 UNION ALL SELECT 90
                UNION ALL SELECT 365) AS s
) AS x
CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2) AS k
WHERE x.a < x.e
GROUP BY 1, 2;

CREATE TRIGGER recovery_steps_insert AFTER INSERT ON case_recovery WHEN NEW.recovered = 1
BEGIN
    INSERT INTO recovery_steps (span, day, customers)
    SELECT x.span, CASE k.k WHEN 1 THEN x.a ELSE x.e END,
           SUM(x.sign * CASE k.k WHEN 1 THEN 1 ELSE -1 END)
    FROM (
        SELECT s.span, r.sign, r.d + s.span + 1 AS e,
               CASE WHEN r.q IS NULL THEN r.d + 1 ELSE max(r.d + 1, r.q + s.span + 1) END AS a
        FROM (SELECT CAST(julianday(substr(NEW.opened_at, 1, 10)) AS INTEGER) AS d,
                     CAST(julianday(substr(NEW.prev_opened, 1, 10)) AS INTEGER) AS q,
                     1 AS sign
        ) AS r
        CROSS JOIN (SELECT 7 AS span UNION ALL SELECT 30 UNION ALL SELECT 90
                    UNION ALL SELECT 365) AS s
    ) AS x
    CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2) AS k
    WHERE x.a < x.e
    GROUP BY 1, 2
    ON CONFLICT (span, day) DO UPDATE SET customers = customers + excluded.customers;
END;

-- A complaint that recovers or stops being recovered, or is linked again (migration 0022):
-- its old steps are taken back if it was recovered, its new ones added if it is.
CREATE TRIGGER recovery_steps_update
AFTER UPDATE OF recovered, opened_at, prev_opened ON case_recovery
WHEN OLD.recovered = 1 OR NEW.recovered = 1 BEGIN
    INSERT INTO recovery_steps (span, day, customers)
    SELECT x.span, CASE k.k WHEN 1 THEN x.a ELSE x.e END,
           SUM(x.sign * CASE k.k WHEN 1 THEN 1 ELSE -1 END)
    FROM (
        SELECT s.span, r.sign, r.d + s.span + 1 AS e,
               CASE WHEN r.q IS NULL THEN r.d + 1 ELSE max(r.d + 1, r.q + s.span + 1) END AS a
        FROM (SELECT CAST(julianday(substr(OLD.opened_at, 1, 10)) AS INTEGER) AS d,
                     CAST(julianday(substr(OLD.prev_opened, 1, 10)) AS INTEGER) AS q,
                     -1 AS sign
              FROM (SELECT 1) WHERE OLD.recovered = 1
              UNION ALL
              SELECT CAST(julianday(substr(NEW.opened_at, 1, 10)) AS INTEGER) AS d,
                     CAST(julianday(substr(NEW.prev_opened, 1, 10)) AS INTEGER) AS q,
                     1 AS sign
              FROM (SELECT 1) WHERE NEW.recovered = 1
        ) AS r
        CROSS JOIN (SELECT 7 AS span UNION ALL SELECT 30 UNION ALL SELECT 90
                    UNION ALL SELECT 365) AS s
    ) AS x
    CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2) AS k
    WHERE x.a < x.e
    GROUP BY 1, 2
    ON CONFLICT (span, day) DO UPDATE SET customers = customers + excluded.customers;
END;

CREATE TRIGGER recovery_steps_delete AFTER DELETE ON case_recovery WHEN OLD.recovered = 1
BEGIN
    INSERT INTO recovery_steps (span, day, customers)
    SELECT x.span, CASE k.k WHEN 1 THEN x.a ELSE x.e END,
           SUM(x.sign * CASE k.k WHEN 1 THEN 1 ELSE -1 END)
    FROM (
        SELECT s.span, r.sign, r.d + s.span + 1 AS e,
               CASE WHEN r.q IS NULL THEN r.d + 1 ELSE max(r.d + 1, r.q + s.span + 1) END AS a
        FROM (SELECT CAST(julianday(substr(OLD.opened_at, 1, 10)) AS INTEGER) AS d,
                     CAST(julianday(substr(OLD.prev_opened, 1, 10)) AS INTEGER) AS q,
                     -1 AS sign
        ) AS r
        CROSS JOIN (SELECT 7 AS span UNION ALL SELECT 30 UNION ALL SELECT 90
                    UNION ALL SELECT 365) AS s
    ) AS x
    CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2) AS k
    WHERE x.a < x.e
    GROUP BY 1, 2
    ON CONFLICT (span, day) DO UPDATE SET customers = customers + excluded.customers;
END;
