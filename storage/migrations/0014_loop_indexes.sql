-- The report's loop figures counted by SQLite (storage.cases.loop_counts) at a big shop's size:
-- a complaint's customer came back when they rated 4–5 later (one range per customer), and CES
-- is the effort answers of a period (a range, not a scan of every review).
CREATE INDEX reviews_good_rating ON reviews(customer_id, rated_at, rating) WHERE rating >= 4;
CREATE INDEX reviews_effort ON reviews(ces_at, ces) WHERE ces IS NOT NULL;

-- A complaint's page and the review's messages find the review's orders by review_id. Most
-- orders of a big shop have none yet (their review is not due), and with ANALYZE's statistics
-- SQLite then preferred scanning every order by time (215 ms at 50,000 orders); an index of the
-- orders that have one is always a lookup.
DROP INDEX orders_review;
CREATE INDEX orders_review ON orders(review_id) WHERE review_id IS NOT NULL;

-- The dashboard's «просрочено» count: open cases never answered, by due time.
CREATE INDEX cases_unanswered_due ON cases(due_at) WHERE status = 'open' AND first_answered_at IS NULL;

-- Everything the loop figures read of a case, by opening time: a year of a big shop's cases is
-- counted from this index alone, never from the table's rows (it serves what cases_opened did).
DROP INDEX cases_opened;
CREATE INDEX cases_loop ON cases(
    opened_at, first_answered_at, due_at, closed_at, closed_how, reopened, topic, status,
    resolved_at, customer_id
);

-- The dashboard counts cases by status on every cases page and the overview (4 ms instead of
-- 17 ms at 70,000 cases: no sort into a temporary B-tree).
CREATE INDEX cases_status ON cases(status);
