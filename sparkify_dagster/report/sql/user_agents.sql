-- Plays and listeners by raw user agent, most plays first (the report names the browser and
-- operating system of each). NULL is a play without a user agent.
SELECT user_agent, COUNT(*) AS plays, COUNT(DISTINCT user_id) AS listeners
FROM "songplays"
GROUP BY user_agent
ORDER BY plays DESC, user_agent
LIMIT 200;
