-- The medians' walk inside their bucket counts before it sorts (issue 13). A bucket of
-- case_time_days is a first digit of the seconds (10,800–19,999 s is one), and a shop's cases
-- mostly close after about the same time: at 200,000 cases all of a year's closings were in one
-- bucket, and the walk sorted 63,000 durations for each of the report's two periods (18 ms a
-- call). With the first three digits of the seconds second in the index, the walk counts the
-- window's cases of each of those (an index range each, no sort) and sorts only the one that
-- holds the rank asked.
-- The expressions must stay exactly those of storage.cases (_ms_sql, _bucket_sql, _fine_sql).
DROP INDEX cases_answer_time;
CREATE INDEX cases_answer_time ON cases(
    CASE WHEN CAST(round((julianday(first_answered_at) - julianday(opened_at)) * 86400000) AS INTEGER) < 1000 THEN 0 ELSE length(CAST(round((julianday(first_answered_at) - julianday(opened_at)) * 86400000) AS INTEGER) / 1000) * 10 + CAST(substr(CAST(round((julianday(first_answered_at) - julianday(opened_at)) * 86400000) AS INTEGER) / 1000, 1, 1) AS INTEGER) END,
    CAST(substr(CAST(round((julianday(first_answered_at) - julianday(opened_at)) * 86400000) AS INTEGER) / 1000, 1, 3) AS INTEGER),
    opened_at,
    CAST(round((julianday(first_answered_at) - julianday(opened_at)) * 86400000) AS INTEGER)
) WHERE first_answered_at IS NOT NULL;

DROP INDEX cases_close_time;
CREATE INDEX cases_close_time ON cases(
    CASE WHEN CAST(round((julianday(closed_at) - julianday(opened_at)) * 86400000) AS INTEGER) < 1000 THEN 0 ELSE length(CAST(round((julianday(closed_at) - julianday(opened_at)) * 86400000) AS INTEGER) / 1000) * 10 + CAST(substr(CAST(round((julianday(closed_at) - julianday(opened_at)) * 86400000) AS INTEGER) / 1000, 1, 1) AS INTEGER) END,
    CAST(substr(CAST(round((julianday(closed_at) - julianday(opened_at)) * 86400000) AS INTEGER) / 1000, 1, 3) AS INTEGER),
    opened_at,
    CAST(round((julianday(closed_at) - julianday(opened_at)) * 86400000) AS INTEGER)
) WHERE closed_at IS NOT NULL;
