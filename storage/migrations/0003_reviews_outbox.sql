-- Reviews and the outbox (the customers' messages): indexes for the periodic sweeps, and the
-- name of the admin who resolved an alert.

-- Requests sent and not rated yet: the sweep that expires them reads only these, not every
-- review ever asked (reviews_requested covers all of them).
CREATE INDEX reviews_awaiting_rating ON reviews(requested_at) WHERE status = 'requested';

-- Reviews with a recommendation score and neither a comment nor «Skip» yet: the sweep that
-- completes them once the customer has had a day to write.
CREATE INDEX reviews_awaiting_comment ON reviews(nps_at)
    WHERE nps_at IS NOT NULL AND completed_at IS NULL;

-- Admins are not stored anywhere else; the name Telegram showed when they pressed «Resolved»
-- is what a second admin is told.
ALTER TABLE alerts ADD COLUMN resolved_by_name TEXT;
