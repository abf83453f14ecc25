-- The report's loop figures counted by SQLite (storage.cases.loop_counts) at a big shop's size:
-- a complaint's customer came back when they rated 4–5 later (one range per customer), and CES
-- is the effort answers of a period (a range, not a scan of every review).
CREATE INDEX reviews_good_rating ON reviews(customer_id, rated_at) WHERE rating >= 4;
CREATE INDEX reviews_effort ON reviews(ces_at, ces) WHERE ces IS NOT NULL;
