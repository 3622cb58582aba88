-- Per calendar day (UTC): plays, users who played at least once, and plays by subscription level
-- at the time of the play.
SELECT
    CAST(start_time AS DATE) AS day,
    COUNT(*) AS plays,
    COUNT(DISTINCT user_id) AS active_users,
    SUM(CASE WHEN level = 'free' THEN 1 ELSE 0 END) AS free_plays,
    SUM(CASE WHEN level = 'paid' THEN 1 ELSE 0 END) AS paid_plays
FROM "songplays"
GROUP BY CAST(start_time AS DATE)
ORDER BY day;
