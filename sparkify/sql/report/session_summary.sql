-- How many sessions, and the median session's plays and minutes (see sessions.sql).
SELECT
    COUNT(*) AS sessions,
    PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY plays) AS median_plays,
    PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY minutes) AS median_minutes
FROM (
    SELECT
        COUNT(*) AS plays,
        EXTRACT(EPOCH FROM MAX(start_time) - MIN(start_time)) / 60 AS minutes
    FROM "songplays"
    GROUP BY user_id, session_id
) AS per_session;
