-- The web dashboard (issue 13): one-time sign-in links, sessions, and who did what there.
-- Links and sessions are stored as SHA-256 hashes only, so a copy of the database (a backup,
-- an export) signs nobody in.
CREATE TABLE dashboard_links (
    token_hash  TEXT PRIMARY KEY,
    admin_id    INTEGER NOT NULL,             -- the admin's Telegram id
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT                          -- set once: a link signs in one browser
) WITHOUT ROWID;

CREATE TABLE dashboard_sessions (
    id_hash     TEXT PRIMARY KEY,
    admin_id    INTEGER NOT NULL,
    csrf_token  TEXT NOT NULL,                -- every form of the session posts it back
    via         TEXT NOT NULL CHECK (via IN ('link', 'webapp')),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    ended_at    TEXT                          -- «Выйти», or the admin was removed
) WITHOUT ROWID;

-- Every action taken on the dashboard, with who took it.
CREATE TABLE dashboard_actions (
    id          INTEGER PRIMARY KEY,
    admin_id    INTEGER NOT NULL,
    action      TEXT NOT NULL,                -- signed_in, signed_out, replied, resolved, ...
    detail      TEXT,
    at          TEXT NOT NULL
);
CREATE INDEX dashboard_actions_at ON dashboard_actions(at);

-- Replies an admin wrote to a customer about a negative review (sent through the outbox,
-- kind 'alert_reply', ref_id = this row).
CREATE TABLE alert_replies (
    id          INTEGER PRIMARY KEY,
    alert_id    INTEGER NOT NULL REFERENCES alerts(id),
    admin_id    INTEGER NOT NULL,
    text        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX alert_replies_alert ON alert_replies(alert_id, id);
-- The cases figures: open ones counted off a small index, the time to the first answer of the
-- cases of a period read by their creation time.
CREATE INDEX alerts_open ON alerts(id) WHERE resolved_at IS NULL;
CREATE INDEX alerts_created ON alerts(created_at);

-- Hourly aggregates of reviews, kept by triggers in the same transaction as every change to a
-- review or an alert (whichever code writes it), so /report and the dashboard sum at most a few
-- thousand hours instead of scanning millions of reviews. `hour` is the UTC hour of the
-- timestamp each group is counted by, 'YYYY-MM-DDTHH':
--   requested, answered      by requested_at (answered: a rating or an NPS answer by now);
--   r1..r5 (ratings of 1..5), s1..s5 (of them, with a resolved alert)   by rated_at;
--   promoters, passives, detractors                                   by nps_at.
-- bot/reports/rollup.py reads it; tests/test_review_hours.py checks it always equals the raw
-- aggregates.
CREATE TABLE review_hours (
    hour        TEXT PRIMARY KEY,
    requested   INTEGER NOT NULL DEFAULT 0,
    answered    INTEGER NOT NULL DEFAULT 0,
    r1 INTEGER NOT NULL DEFAULT 0, r2 INTEGER NOT NULL DEFAULT 0, r3 INTEGER NOT NULL DEFAULT 0,
    r4 INTEGER NOT NULL DEFAULT 0, r5 INTEGER NOT NULL DEFAULT 0,
    s1 INTEGER NOT NULL DEFAULT 0, s2 INTEGER NOT NULL DEFAULT 0, s3 INTEGER NOT NULL DEFAULT 0,
    s4 INTEGER NOT NULL DEFAULT 0, s5 INTEGER NOT NULL DEFAULT 0,
    promoters   INTEGER NOT NULL DEFAULT 0,
    passives    INTEGER NOT NULL DEFAULT 0,
    detractors  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TRIGGER review_hours_insert AFTER INSERT ON reviews BEGIN
    INSERT INTO review_hours (hour, requested, answered)
    SELECT substr(NEW.requested_at, 1, 13), 1, 1 * (NEW.rating IS NOT NULL OR NEW.nps IS NOT NULL)
    WHERE NEW.requested_at IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET requested = requested + excluded.requested,
        answered = answered + excluded.answered;
    INSERT INTO review_hours (hour, r1, r2, r3, r4, r5, s1, s2, s3, s4, s5)
    SELECT substr(NEW.rated_at, 1, 13), 1 * (NEW.rating = 1), 1 * (NEW.rating = 2), 1 * (NEW.rating = 3), 1 * (NEW.rating = 4), 1 * (NEW.rating = 5),
        1 * (NEW.rating = 1 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = NEW.id AND a.resolved_at IS NOT NULL)), 1 * (NEW.rating = 2 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = NEW.id AND a.resolved_at IS NOT NULL)), 1 * (NEW.rating = 3 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = NEW.id AND a.resolved_at IS NOT NULL)), 1 * (NEW.rating = 4 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = NEW.id AND a.resolved_at IS NOT NULL)), 1 * (NEW.rating = 5 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = NEW.id AND a.resolved_at IS NOT NULL))
    WHERE NEW.rated_at IS NOT NULL AND NEW.rating IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET r1 = r1 + excluded.r1, r2 = r2 + excluded.r2, r3 = r3 + excluded.r3, r4 = r4 + excluded.r4, r5 = r5 + excluded.r5,
        s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5;
    INSERT INTO review_hours (hour, promoters, passives, detractors)
    SELECT substr(NEW.nps_at, 1, 13), 1 * (NEW.nps >= 9), 1 * (NEW.nps BETWEEN 7 AND 8), 1 * (NEW.nps <= 6)
    WHERE NEW.nps_at IS NOT NULL AND NEW.nps IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET promoters = promoters + excluded.promoters,
        passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;

CREATE TRIGGER review_hours_update AFTER UPDATE OF requested_at, rating, rated_at, nps, nps_at ON reviews BEGIN
    INSERT INTO review_hours (hour, requested, answered)
    SELECT substr(OLD.requested_at, 1, 13), -1, -1 * (OLD.rating IS NOT NULL OR OLD.nps IS NOT NULL)
    WHERE OLD.requested_at IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET requested = requested + excluded.requested,
        answered = answered + excluded.answered;
    INSERT INTO review_hours (hour, r1, r2, r3, r4, r5, s1, s2, s3, s4, s5)
    SELECT substr(OLD.rated_at, 1, 13), -1 * (OLD.rating = 1), -1 * (OLD.rating = 2), -1 * (OLD.rating = 3), -1 * (OLD.rating = 4), -1 * (OLD.rating = 5),
        -1 * (OLD.rating = 1 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = OLD.id AND a.resolved_at IS NOT NULL)), -1 * (OLD.rating = 2 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = OLD.id AND a.resolved_at IS NOT NULL)), -1 * (OLD.rating = 3 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = OLD.id AND a.resolved_at IS NOT NULL)), -1 * (OLD.rating = 4 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = OLD.id AND a.resolved_at IS NOT NULL)), -1 * (OLD.rating = 5 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = OLD.id AND a.resolved_at IS NOT NULL))
    WHERE OLD.rated_at IS NOT NULL AND OLD.rating IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET r1 = r1 + excluded.r1, r2 = r2 + excluded.r2, r3 = r3 + excluded.r3, r4 = r4 + excluded.r4, r5 = r5 + excluded.r5,
        s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5;
    INSERT INTO review_hours (hour, promoters, passives, detractors)
    SELECT substr(OLD.nps_at, 1, 13), -1 * (OLD.nps >= 9), -1 * (OLD.nps BETWEEN 7 AND 8), -1 * (OLD.nps <= 6)
    WHERE OLD.nps_at IS NOT NULL AND OLD.nps IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET promoters = promoters + excluded.promoters,
        passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO review_hours (hour, requested, answered)
    SELECT substr(NEW.requested_at, 1, 13), 1, 1 * (NEW.rating IS NOT NULL OR NEW.nps IS NOT NULL)
    WHERE NEW.requested_at IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET requested = requested + excluded.requested,
        answered = answered + excluded.answered;
    INSERT INTO review_hours (hour, r1, r2, r3, r4, r5, s1, s2, s3, s4, s5)
    SELECT substr(NEW.rated_at, 1, 13), 1 * (NEW.rating = 1), 1 * (NEW.rating = 2), 1 * (NEW.rating = 3), 1 * (NEW.rating = 4), 1 * (NEW.rating = 5),
        1 * (NEW.rating = 1 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = NEW.id AND a.resolved_at IS NOT NULL)), 1 * (NEW.rating = 2 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = NEW.id AND a.resolved_at IS NOT NULL)), 1 * (NEW.rating = 3 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = NEW.id AND a.resolved_at IS NOT NULL)), 1 * (NEW.rating = 4 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = NEW.id AND a.resolved_at IS NOT NULL)), 1 * (NEW.rating = 5 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = NEW.id AND a.resolved_at IS NOT NULL))
    WHERE NEW.rated_at IS NOT NULL AND NEW.rating IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET r1 = r1 + excluded.r1, r2 = r2 + excluded.r2, r3 = r3 + excluded.r3, r4 = r4 + excluded.r4, r5 = r5 + excluded.r5,
        s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5;
    INSERT INTO review_hours (hour, promoters, passives, detractors)
    SELECT substr(NEW.nps_at, 1, 13), 1 * (NEW.nps >= 9), 1 * (NEW.nps BETWEEN 7 AND 8), 1 * (NEW.nps <= 6)
    WHERE NEW.nps_at IS NOT NULL AND NEW.nps IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET promoters = promoters + excluded.promoters,
        passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;

CREATE TRIGGER review_hours_delete AFTER DELETE ON reviews BEGIN
    INSERT INTO review_hours (hour, requested, answered)
    SELECT substr(OLD.requested_at, 1, 13), -1, -1 * (OLD.rating IS NOT NULL OR OLD.nps IS NOT NULL)
    WHERE OLD.requested_at IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET requested = requested + excluded.requested,
        answered = answered + excluded.answered;
    INSERT INTO review_hours (hour, r1, r2, r3, r4, r5, s1, s2, s3, s4, s5)
    SELECT substr(OLD.rated_at, 1, 13), -1 * (OLD.rating = 1), -1 * (OLD.rating = 2), -1 * (OLD.rating = 3), -1 * (OLD.rating = 4), -1 * (OLD.rating = 5),
        -1 * (OLD.rating = 1 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = OLD.id AND a.resolved_at IS NOT NULL)), -1 * (OLD.rating = 2 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = OLD.id AND a.resolved_at IS NOT NULL)), -1 * (OLD.rating = 3 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = OLD.id AND a.resolved_at IS NOT NULL)), -1 * (OLD.rating = 4 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = OLD.id AND a.resolved_at IS NOT NULL)), -1 * (OLD.rating = 5 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = OLD.id AND a.resolved_at IS NOT NULL))
    WHERE OLD.rated_at IS NOT NULL AND OLD.rating IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET r1 = r1 + excluded.r1, r2 = r2 + excluded.r2, r3 = r3 + excluded.r3, r4 = r4 + excluded.r4, r5 = r5 + excluded.r5,
        s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5;
    INSERT INTO review_hours (hour, promoters, passives, detractors)
    SELECT substr(OLD.nps_at, 1, 13), -1 * (OLD.nps >= 9), -1 * (OLD.nps BETWEEN 7 AND 8), -1 * (OLD.nps <= 6)
    WHERE OLD.nps_at IS NOT NULL AND OLD.nps IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET promoters = promoters + excluded.promoters,
        passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;

CREATE TRIGGER review_hours_alert_insert AFTER INSERT ON alerts WHEN NEW.resolved_at IS NOT NULL BEGIN
    INSERT INTO review_hours (hour, s1, s2, s3, s4, s5)
    SELECT substr(r.rated_at, 1, 13), 1 * (r.rating = 1), 1 * (r.rating = 2), 1 * (r.rating = 3), 1 * (r.rating = 4), 1 * (r.rating = 5)
    FROM reviews r WHERE r.id = NEW.review_id AND r.rated_at IS NOT NULL AND r.rating IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5;
END;

CREATE TRIGGER review_hours_alert_update AFTER UPDATE OF resolved_at, review_id ON alerts BEGIN
    INSERT INTO review_hours (hour, s1, s2, s3, s4, s5)
    SELECT substr(r.rated_at, 1, 13), -1 * (r.rating = 1), -1 * (r.rating = 2), -1 * (r.rating = 3), -1 * (r.rating = 4), -1 * (r.rating = 5)
    FROM reviews r WHERE OLD.resolved_at IS NOT NULL AND r.id = OLD.review_id AND r.rated_at IS NOT NULL AND r.rating IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5;
    INSERT INTO review_hours (hour, s1, s2, s3, s4, s5)
    SELECT substr(r.rated_at, 1, 13), 1 * (r.rating = 1), 1 * (r.rating = 2), 1 * (r.rating = 3), 1 * (r.rating = 4), 1 * (r.rating = 5)
    FROM reviews r WHERE NEW.resolved_at IS NOT NULL AND r.id = NEW.review_id AND r.rated_at IS NOT NULL AND r.rating IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5;
END;

CREATE TRIGGER review_hours_alert_delete AFTER DELETE ON alerts WHEN OLD.resolved_at IS NOT NULL BEGIN
    INSERT INTO review_hours (hour, s1, s2, s3, s4, s5)
    SELECT substr(r.rated_at, 1, 13), -1 * (r.rating = 1), -1 * (r.rating = 2), -1 * (r.rating = 3), -1 * (r.rating = 4), -1 * (r.rating = 5)
    FROM reviews r WHERE r.id = OLD.review_id AND r.rated_at IS NOT NULL AND r.rating IS NOT NULL
    ON CONFLICT (hour) DO UPDATE SET s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5;
END;

-- What is there already (the same sums the triggers keep from now on).
INSERT INTO review_hours (hour, requested, answered)
SELECT substr(requested_at, 1, 13), COUNT(*), COUNT(COALESCE(rating, nps))
FROM reviews WHERE requested_at IS NOT NULL GROUP BY 1;
INSERT INTO review_hours (hour, r1, r2, r3, r4, r5, s1, s2, s3, s4, s5)
SELECT substr(r.rated_at, 1, 13), SUM(r.rating = 1), SUM(r.rating = 2), SUM(r.rating = 3), SUM(r.rating = 4), SUM(r.rating = 5),
    SUM(r.rating = 1 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = r.id AND a.resolved_at IS NOT NULL)), SUM(r.rating = 2 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = r.id AND a.resolved_at IS NOT NULL)), SUM(r.rating = 3 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = r.id AND a.resolved_at IS NOT NULL)), SUM(r.rating = 4 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = r.id AND a.resolved_at IS NOT NULL)), SUM(r.rating = 5 AND EXISTS (SELECT 1 FROM alerts a WHERE a.review_id = r.id AND a.resolved_at IS NOT NULL))
FROM reviews r WHERE r.rated_at IS NOT NULL AND r.rating IS NOT NULL GROUP BY 1
ON CONFLICT (hour) DO UPDATE SET r1 = excluded.r1, r2 = excluded.r2, r3 = excluded.r3, r4 = excluded.r4, r5 = excluded.r5, s1 = excluded.s1, s2 = excluded.s2, s3 = excluded.s3, s4 = excluded.s4, s5 = excluded.s5;
INSERT INTO review_hours (hour, promoters, passives, detractors)
SELECT substr(nps_at, 1, 13), SUM(nps >= 9), SUM(nps BETWEEN 7 AND 8), SUM(nps <= 6)
FROM reviews WHERE nps_at IS NOT NULL AND nps IS NOT NULL GROUP BY 1
ON CONFLICT (hour) DO UPDATE SET promoters = excluded.promoters, passives = excluded.passives,
    detractors = excluded.detractors;


-- Admins added in the bot (beside ADMIN_IDS from the environment), and who did what to whom.
CREATE TABLE admins (
    telegram_id  INTEGER PRIMARY KEY,
    added_by     INTEGER,                     -- NULL: the first admin, by /claim
    added_at     TEXT NOT NULL
);
CREATE TABLE admin_log (
    id           INTEGER PRIMARY KEY,
    actor_id     INTEGER NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('claimed', 'added', 'removed')),
    target_id    INTEGER NOT NULL,
    at           TEXT NOT NULL
);
-- The one-time /claim code printed when a bot starts with no admin at all (its hash only).
CREATE TABLE admin_claims (
    code_hash    TEXT PRIMARY KEY,
    created_at   TEXT NOT NULL,
    used_by      INTEGER,
    used_at      TEXT
) WITHOUT ROWID;
