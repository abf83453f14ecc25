-- The report's buyers, and of them those who had bought before and those who bought in the
-- period before too (bot/reports/buyers.py), for each period length of the report (7, 30, 90
-- and 365 days; bot.reports.periods.PERIOD_DAYS, a test holds them equal), as steps by UTC day
-- (issue 13). A year-long report counted them over the orders of its three periods, three years
-- of orders (about 43 ms at 200,000 orders, growing with every order); now it sums at most a
-- row a day of this table, and reads the orders of the periods' partial edge days only.
--
-- An order at day d (UTC, as a day number) whose previous order of its customer (migration
-- 0018's prev_at) is at day q counts among the buyers of the period [E - span, E) (E a UTC
-- midnight) exactly when E - span <= d < E and q < E - span: for E in [a, e) with
-- a = max(d + 1, q + span + 1) and e = d + span + 1 (a = d + 1 without a previous order). It
-- bought in the period before too when also q >= E - 2 * span: for E in [a, c),
-- c = min(e, q + 2 * span + 1). Each order adds 1 at a and takes it back at e (and at c), so
-- the buyers of the period ending at E are the sum of the steps of the days up to E.
-- Kept by the triggers below in the same transaction as each order's write and each change of
-- prev_at; tests/test_buyer_steps.py holds the counts equal to those of the sets of buyers.
CREATE TABLE buyer_steps (
    span      INTEGER NOT NULL,  -- the period's length in days
    day       INTEGER NOT NULL,  -- CAST(julianday('YYYY-MM-DD') AS INTEGER) of a UTC day
    buyers    INTEGER NOT NULL DEFAULT 0,
    had       INTEGER NOT NULL DEFAULT 0,  -- of them, with an order before the period
    retained  INTEGER NOT NULL DEFAULT 0,  -- of them, with an order in the period before
    PRIMARY KEY (span, day)
) WITHOUT ROWID;

-- Each step: the span, its day, and what it adds to the buyers, to those who had bought before
-- and to those who bought in the period before (k = 1 at a, 2 at e, 3 at c); a row's steps
-- are added (sign 1) or taken back (sign -1).
INSERT INTO buyer_steps (span, day, buyers, had, retained)
SELECT x.span, CASE k.k WHEN 1 THEN x.a WHEN 2 THEN x.e ELSE x.c END,
       SUM(x.sign * CASE k.k WHEN 1 THEN 1 WHEN 2 THEN -1 ELSE 0 END),
       SUM(x.sign * (x.q IS NOT NULL) * CASE k.k WHEN 1 THEN 1 WHEN 2 THEN -1 ELSE 0 END),
       SUM(x.sign * CASE k.k WHEN 1 THEN IFNULL(x.c > x.a, 0) WHEN 3 THEN -1 ELSE 0 END)
FROM (
    SELECT s.span, r.sign, r.q, r.d + s.span + 1 AS e,
           CASE WHEN r.q IS NULL THEN r.d + 1 ELSE max(r.d + 1, r.q + s.span + 1) END AS a,
           min(r.d + s.span + 1, r.q + 2 * s.span + 1) AS c
    FROM (SELECT CAST(julianday(substr(o.purchased_at, 1, 10)) AS INTEGER) AS d,
                 CAST(julianday(substr(o.prev_at, 1, 10)) AS INTEGER) AS q, 1 AS sign
          FROM orders AS o) AS r
    CROSS JOIN (SELECT 7 AS span UNION ALL SELECT 30 UNION ALL SELECT 90
                UNION ALL SELECT 365) AS s
) AS x
CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
WHERE CASE k.k WHEN 3 THEN x.c > x.a ELSE x.a < x.e END
GROUP BY 1, 2;

CREATE TRIGGER buyer_steps_insert AFTER INSERT ON orders BEGIN
    INSERT INTO buyer_steps (span, day, buyers, had, retained)
    SELECT x.span, CASE k.k WHEN 1 THEN x.a WHEN 2 THEN x.e ELSE x.c END,
           SUM(x.sign * CASE k.k WHEN 1 THEN 1 WHEN 2 THEN -1 ELSE 0 END),
           SUM(x.sign * (x.q IS NOT NULL) * CASE k.k WHEN 1 THEN 1 WHEN 2 THEN -1 ELSE 0 END),
           SUM(x.sign * CASE k.k WHEN 1 THEN IFNULL(x.c > x.a, 0) WHEN 3 THEN -1 ELSE 0 END)
    FROM (
        SELECT s.span, r.sign, r.q, r.d + s.span + 1 AS e,
               CASE WHEN r.q IS NULL THEN r.d + 1 ELSE max(r.d + 1, r.q + s.span + 1) END AS a,
               min(r.d + s.span + 1, r.q + 2 * s.span + 1) AS c
        FROM (SELECT CAST(julianday(substr(NEW.purchased_at, 1, 10)) AS INTEGER) AS d,
                     CAST(julianday(substr(NEW.prev_at, 1, 10)) AS INTEGER) AS q, 1 AS sign
        ) AS r
        CROSS JOIN (SELECT 7 AS span UNION ALL SELECT 30 UNION ALL SELECT 90
                    UNION ALL SELECT 365) AS s
    ) AS x
    CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
    WHERE CASE k.k WHEN 3 THEN x.c > x.a ELSE x.a < x.e END
    GROUP BY 1, 2
    ON CONFLICT (span, day) DO UPDATE SET buyers = buyers + excluded.buyers,
        had = had + excluded.had, retained = retained + excluded.retained;
END;

-- A late order's next one, and an order moved in time, change prev_at (migration 0018's
-- triggers): the row's old steps are taken back and its new ones added, in one statement.
CREATE TRIGGER buyer_steps_update AFTER UPDATE OF purchased_at, prev_at ON orders
WHEN OLD.purchased_at IS NOT NEW.purchased_at OR OLD.prev_at IS NOT NEW.prev_at BEGIN
    INSERT INTO buyer_steps (span, day, buyers, had, retained)
    SELECT x.span, CASE k.k WHEN 1 THEN x.a WHEN 2 THEN x.e ELSE x.c END,
           SUM(x.sign * CASE k.k WHEN 1 THEN 1 WHEN 2 THEN -1 ELSE 0 END),
           SUM(x.sign * (x.q IS NOT NULL) * CASE k.k WHEN 1 THEN 1 WHEN 2 THEN -1 ELSE 0 END),
           SUM(x.sign * CASE k.k WHEN 1 THEN IFNULL(x.c > x.a, 0) WHEN 3 THEN -1 ELSE 0 END)
    FROM (
        SELECT s.span, r.sign, r.q, r.d + s.span + 1 AS e,
               CASE WHEN r.q IS NULL THEN r.d + 1 ELSE max(r.d + 1, r.q + s.span + 1) END AS a,
               min(r.d + s.span + 1, r.q + 2 * s.span + 1) AS c
        FROM (SELECT CAST(julianday(substr(OLD.purchased_at, 1, 10)) AS INTEGER) AS d,
                     CAST(julianday(substr(OLD.prev_at, 1, 10)) AS INTEGER) AS q, -1 AS sign
              UNION ALL
              SELECT CAST(julianday(substr(NEW.purchased_at, 1, 10)) AS INTEGER) AS d,
                     CAST(julianday(substr(NEW.prev_at, 1, 10)) AS INTEGER) AS q, 1 AS sign
        ) AS r
        CROSS JOIN (SELECT 7 AS span UNION ALL SELECT 30 UNION ALL SELECT 90
                    UNION ALL SELECT 365) AS s
    ) AS x
    CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
    WHERE CASE k.k WHEN 3 THEN x.c > x.a ELSE x.a < x.e END
    GROUP BY 1, 2
    ON CONFLICT (span, day) DO UPDATE SET buyers = buyers + excluded.buyers,
        had = had + excluded.had, retained = retained + excluded.retained;
END;

CREATE TRIGGER buyer_steps_delete AFTER DELETE ON orders BEGIN
    INSERT INTO buyer_steps (span, day, buyers, had, retained)
    SELECT x.span, CASE k.k WHEN 1 THEN x.a WHEN 2 THEN x.e ELSE x.c END,
           SUM(x.sign * CASE k.k WHEN 1 THEN 1 WHEN 2 THEN -1 ELSE 0 END),
           SUM(x.sign * (x.q IS NOT NULL) * CASE k.k WHEN 1 THEN 1 WHEN 2 THEN -1 ELSE 0 END),
           SUM(x.sign * CASE k.k WHEN 1 THEN IFNULL(x.c > x.a, 0) WHEN 3 THEN -1 ELSE 0 END)
    FROM (
        SELECT s.span, r.sign, r.q, r.d + s.span + 1 AS e,
               CASE WHEN r.q IS NULL THEN r.d + 1 ELSE max(r.d + 1, r.q + s.span + 1) END AS a,
               min(r.d + s.span + 1, r.q + 2 * s.span + 1) AS c
        FROM (SELECT CAST(julianday(substr(OLD.purchased_at, 1, 10)) AS INTEGER) AS d,
                     CAST(julianday(substr(OLD.prev_at, 1, 10)) AS INTEGER) AS q, -1 AS sign
        ) AS r
        CROSS JOIN (SELECT 7 AS span UNION ALL SELECT 30 UNION ALL SELECT 90
                    UNION ALL SELECT 365) AS s
    ) AS x
    CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3) AS k
    WHERE CASE k.k WHEN 3 THEN x.c > x.a ELSE x.a < x.e END
    GROUP BY 1, 2
    ON CONFLICT (span, day) DO UPDATE SET buyers = buyers + excluded.buyers,
        had = had + excluded.had, retained = retained + excluded.retained;
END;
