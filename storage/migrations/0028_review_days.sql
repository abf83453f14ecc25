-- The review figures by UTC day (issue 13), summed from review_hours (migration 0010) by
-- triggers on it, so in the same transaction as every change to a review or an alert. A
-- year-long period read 8,760 hourly rows for each of its two periods (about 11 ms); its whole
-- days now come from 365 rows, and only the hours of its two edge days from review_hours
-- (bot/reports/rollup.py). tests/test_review_hours.py holds it equal to the hours summed by day.
CREATE TABLE review_days (
    day         TEXT PRIMARY KEY,  -- substr(hour, 1, 10)
    requested   INTEGER NOT NULL DEFAULT 0,
    answered    INTEGER NOT NULL DEFAULT 0,
    r1          INTEGER NOT NULL DEFAULT 0,
    r2          INTEGER NOT NULL DEFAULT 0,
    r3          INTEGER NOT NULL DEFAULT 0,
    r4          INTEGER NOT NULL DEFAULT 0,
    r5          INTEGER NOT NULL DEFAULT 0,
    s1          INTEGER NOT NULL DEFAULT 0,
    s2          INTEGER NOT NULL DEFAULT 0,
    s3          INTEGER NOT NULL DEFAULT 0,
    s4          INTEGER NOT NULL DEFAULT 0,
    s5          INTEGER NOT NULL DEFAULT 0,
    promoters   INTEGER NOT NULL DEFAULT 0,
    passives    INTEGER NOT NULL DEFAULT 0,
    detractors  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

INSERT INTO review_days (day,
    requested, answered, r1, r2, r3, r4, r5, s1, s2, s3, s4, s5, promoters, passives,
    detractors)
SELECT substr(hour, 1, 10),
       SUM(requested), SUM(answered), SUM(r1), SUM(r2), SUM(r3), SUM(r4), SUM(r5), SUM(s1),
       SUM(s2), SUM(s3), SUM(s4), SUM(s5), SUM(promoters), SUM(passives), SUM(detractors)
FROM review_hours GROUP BY 1;

CREATE TRIGGER review_days_insert AFTER INSERT ON review_hours BEGIN
    INSERT INTO review_days (day,
    requested, answered, r1, r2, r3, r4, r5, s1, s2, s3, s4, s5, promoters, passives,
    detractors)
    VALUES (substr(NEW.hour, 1, 10),
    NEW.requested, NEW.answered, NEW.r1, NEW.r2, NEW.r3, NEW.r4, NEW.r5, NEW.s1, NEW.s2,
    NEW.s3, NEW.s4, NEW.s5, NEW.promoters, NEW.passives, NEW.detractors)
    ON CONFLICT (day) DO UPDATE SET
        requested = requested + excluded.requested, answered = answered + excluded.answered,
        r1 = r1 + excluded.r1, r2 = r2 + excluded.r2, r3 = r3 + excluded.r3,
        r4 = r4 + excluded.r4, r5 = r5 + excluded.r5, s1 = s1 + excluded.s1,
        s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4,
        s5 = s5 + excluded.s5, promoters = promoters + excluded.promoters,
        passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;

-- The reviews' triggers only add to an hour's counts; an hour's key never changes.
CREATE TRIGGER review_days_update AFTER UPDATE ON review_hours BEGIN
    UPDATE review_days SET
        requested = requested + NEW.requested - OLD.requested,
        answered = answered + NEW.answered - OLD.answered, r1 = r1 + NEW.r1 - OLD.r1,
        r2 = r2 + NEW.r2 - OLD.r2, r3 = r3 + NEW.r3 - OLD.r3, r4 = r4 + NEW.r4 - OLD.r4,
        r5 = r5 + NEW.r5 - OLD.r5, s1 = s1 + NEW.s1 - OLD.s1, s2 = s2 + NEW.s2 - OLD.s2,
        s3 = s3 + NEW.s3 - OLD.s3, s4 = s4 + NEW.s4 - OLD.s4, s5 = s5 + NEW.s5 - OLD.s5,
        promoters = promoters + NEW.promoters - OLD.promoters,
        passives = passives + NEW.passives - OLD.passives,
        detractors = detractors + NEW.detractors - OLD.detractors
    WHERE day = substr(NEW.hour, 1, 10);
END;

CREATE TRIGGER review_days_delete AFTER DELETE ON review_hours BEGIN
    UPDATE review_days SET
        requested = requested - OLD.requested, answered = answered - OLD.answered,
        r1 = r1 - OLD.r1, r2 = r2 - OLD.r2, r3 = r3 - OLD.r3, r4 = r4 - OLD.r4,
        r5 = r5 - OLD.r5, s1 = s1 - OLD.s1, s2 = s2 - OLD.s2, s3 = s3 - OLD.s3,
        s4 = s4 - OLD.s4, s5 = s5 - OLD.s5, promoters = promoters - OLD.promoters,
        passives = passives - OLD.passives, detractors = detractors - OLD.detractors
    WHERE day = substr(OLD.hour, 1, 10);
END;
