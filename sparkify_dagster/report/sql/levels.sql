-- Free and paid: plays and distinct listeners by the level at the time of each play, and users by
-- their latest level (a user who upgraded during the period counts as a listener on both levels).
SELECT 'plays' AS measure, level, COUNT(*) AS plays, COUNT(DISTINCT user_id) AS users
FROM "songplays"
GROUP BY level
UNION ALL
SELECT 'users' AS measure, level, 0 AS plays, COUNT(*) AS users
FROM "users"
GROUP BY level
ORDER BY measure, level;
