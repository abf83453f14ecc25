-- The medians' walk inside their bucket reads the period's cases only (issue 13). 0016's
-- indexes held (bucket, duration, opening time): the walk went through the bucket's durations in
-- order and skipped the cases opened outside the period, so it read the bucket's cases of every
-- year up to the median (a 30-day median: 7 ms a call at 200,000 cases, growing with the
-- history). With the opening time second, the period's cases of a bucket are one range, which
-- SQLite reads and sorts for the rank asked (ORDER BY … LIMIT … OFFSET): the cost follows the
-- period's cases, not the years before it.
-- The expressions must stay exactly those of storage.cases (_ms_sql, _bucket_sql).
DROP INDEX cases_answer_time;
CREATE INDEX cases_answer_time ON cases(
    CASE WHEN CAST(round((julianday(first_answered_at) - julianday(opened_at)) * 86400000) AS INTEGER) < 1000 THEN 0 ELSE length(CAST(round((julianday(first_answered_at) - julianday(opened_at)) * 86400000) AS INTEGER) / 1000) * 10 + CAST(substr(CAST(round((julianday(first_answered_at) - julianday(opened_at)) * 86400000) AS INTEGER) / 1000, 1, 1) AS INTEGER) END,
    opened_at,
    CAST(round((julianday(first_answered_at) - julianday(opened_at)) * 86400000) AS INTEGER)
) WHERE first_answered_at IS NOT NULL;

DROP INDEX cases_close_time;
CREATE INDEX cases_close_time ON cases(
    CASE WHEN CAST(round((julianday(closed_at) - julianday(opened_at)) * 86400000) AS INTEGER) < 1000 THEN 0 ELSE length(CAST(round((julianday(closed_at) - julianday(opened_at)) * 86400000) AS INTEGER) / 1000) * 10 + CAST(substr(CAST(round((julianday(closed_at) - julianday(opened_at)) * 86400000) AS INTEGER) / 1000, 1, 1) AS INTEGER) END,
    opened_at,
    CAST(round((julianday(closed_at) - julianday(opened_at)) * 86400000) AS INTEGER)
) WHERE closed_at IS NOT NULL;
