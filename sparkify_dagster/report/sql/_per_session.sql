{#- One row per listening session (one user's plays in one session_id): its plays, and the minutes
    from the first play's start to the last play's start. -#}
SELECT
    COUNT(*) AS plays,
    EXTRACT(EPOCH FROM MAX(start_time) - MIN(start_time)) / 60 AS minutes
FROM "songplays"
GROUP BY user_id, session_id
