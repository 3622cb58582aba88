-- Listening sessions (one user's plays in one session_id) by length: minutes from the first play's
-- start to the last play's start. bucket: 1 = one play only, 2 = under 10 min, 3 = 10-30 min,
-- 4 = 30-60 min, 5 = 1-2 h, 6 = 2-4 h, 7 = 4 h or more.
SELECT bucket, COUNT(*) AS sessions, SUM(plays) AS plays
FROM (
    SELECT
        CASE
            WHEN plays = 1 THEN 1
            WHEN minutes < 10 THEN 2
            WHEN minutes < 30 THEN 3
            WHEN minutes < 60 THEN 4
            WHEN minutes < 120 THEN 5
            WHEN minutes < 240 THEN 6
            ELSE 7
        END AS bucket,
        plays
    FROM (
        SELECT
            COUNT(*) AS plays,
            EXTRACT(EPOCH FROM MAX(start_time) - MIN(start_time)) / 60 AS minutes
        FROM "songplays"
        GROUP BY user_id, session_id
    ) AS per_session
) AS bucketed
GROUP BY bucket
ORDER BY bucket;
