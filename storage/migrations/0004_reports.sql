-- Reports (bot/reports/): indexes that cover the report's range scans, and the weekly digest.

-- Each customer figure is one range scan over one of these; covering the columns the query
-- reads keeps it an index-only scan (no table lookups) with a million reviews. They replace
-- the single-column indexes of 0001, which are their prefixes.
DROP INDEX IF EXISTS reviews_rated;
CREATE INDEX reviews_rated_rating ON reviews(rated_at, rating);
DROP INDEX IF EXISTS reviews_requested;
CREATE INDEX reviews_requested_answers ON reviews(requested_at, rating, nps);
CREATE INDEX reviews_nps ON reviews(nps_at, nps);
-- Restock reminders sent, by time; partial, so other outbox kinds pay nothing for it.
CREATE INDEX outbox_restock_sent ON outbox(sent_at, converted_at) WHERE kind = 'restock';

-- The scheduled report (REPORT_CRON) for each admin and each scheduled time ("slot"). A row is
-- written before anything is sent, so a restart resumes where it stopped and never sends a
-- slot's digest twice to an admin who already has it.
CREATE TABLE report_digests (
    slot        TEXT NOT NULL,               -- the REPORT_CRON time this digest belongs to
    admin_id    INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'unreachable', 'failed', 'expired')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    PRIMARY KEY (slot, admin_id)
) WITHOUT ROWID;
CREATE INDEX report_digests_pending ON report_digests(status, slot);
