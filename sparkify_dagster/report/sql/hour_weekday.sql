-- Plays by ISO weekday (1 = Monday ... 7 = Sunday) and hour of day (UTC), from the time dimension.
SELECT t.weekday, t.hour, COUNT(*) AS plays
FROM "songplays" AS p
JOIN "time" AS t ON t.start_time = p.start_time
GROUP BY t.weekday, t.hour
ORDER BY t.weekday, t.hour;
