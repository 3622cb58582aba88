SELECT COUNT(*) FROM (SELECT "source_file", "source_line", COUNT(*) AS copies FROM "staging_events" WHERE "source_file" IN (SELECT source_file FROM "log_files" WHERE log_day BETWEEN %s AND %s) GROUP BY "source_file", "source_line" HAVING COUNT(*) > 1) AS failures;

SELECT * FROM (SELECT "source_file", "source_line", COUNT(*) AS copies FROM "staging_events" WHERE "source_file" IN (SELECT source_file FROM "log_files" WHERE log_day BETWEEN %s AND %s) GROUP BY "source_file", "source_line" HAVING COUNT(*) > 1) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT "songplay_id", COUNT(*) AS copies FROM "songplays" WHERE "songplay_id" BETWEEN %s AND %s GROUP BY "songplay_id" HAVING COUNT(*) > 1) AS failures;

SELECT * FROM (SELECT "songplay_id", COUNT(*) AS copies FROM "songplays" WHERE "songplay_id" BETWEEN %s AND %s GROUP BY "songplay_id" HAVING COUNT(*) > 1) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "time" AS parent ON parent."start_time" = child."start_time" WHERE child."start_time" IS NOT NULL AND parent."start_time" IS NULL AND child."songplay_id" BETWEEN %s AND %s) AS failures;

SELECT * FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "time" AS parent ON parent."start_time" = child."start_time" WHERE child."start_time" IS NOT NULL AND parent."start_time" IS NULL AND child."songplay_id" BETWEEN %s AND %s) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "users" AS parent ON parent."user_id" = child."user_id" WHERE child."user_id" IS NOT NULL AND parent."user_id" IS NULL AND child."songplay_id" BETWEEN %s AND %s) AS failures;

SELECT * FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "users" AS parent ON parent."user_id" = child."user_id" WHERE child."user_id" IS NOT NULL AND parent."user_id" IS NULL AND child."songplay_id" BETWEEN %s AND %s) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "songs" AS parent ON parent."song_id" = child."song_id" WHERE child."song_id" IS NOT NULL AND parent."song_id" IS NULL AND child."songplay_id" BETWEEN %s AND %s) AS failures;

SELECT * FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "songs" AS parent ON parent."song_id" = child."song_id" WHERE child."song_id" IS NOT NULL AND parent."song_id" IS NULL AND child."songplay_id" BETWEEN %s AND %s) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "artists" AS parent ON parent."artist_id" = child."artist_id" WHERE child."artist_id" IS NOT NULL AND parent."artist_id" IS NULL AND child."songplay_id" BETWEEN %s AND %s) AS failures;

SELECT * FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "artists" AS parent ON parent."artist_id" = child."artist_id" WHERE child."artist_id" IS NOT NULL AND parent."artist_id" IS NULL AND child."songplay_id" BETWEEN %s AND %s) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT * FROM "songplays" WHERE "level" IS NOT NULL AND "level" NOT IN ('free', 'paid') AND "songplay_id" BETWEEN %s AND %s) AS failures;

SELECT * FROM (SELECT * FROM "songplays" WHERE "level" IS NOT NULL AND "level" NOT IN ('free', 'paid') AND "songplay_id" BETWEEN %s AND %s) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT "start_time", COUNT(*) AS copies FROM "time" WHERE "start_time" IN (SELECT start_time FROM "songplays" WHERE songplay_id BETWEEN %s AND %s) GROUP BY "start_time" HAVING COUNT(*) > 1) AS failures;

SELECT * FROM (SELECT "start_time", COUNT(*) AS copies FROM "time" WHERE "start_time" IN (SELECT start_time FROM "songplays" WHERE songplay_id BETWEEN %s AND %s) GROUP BY "start_time" HAVING COUNT(*) > 1) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT plays.n AS songplays, events.n AS nextsong_events FROM (SELECT COUNT(*) AS n FROM "songplays" WHERE songplay_id BETWEEN %s AND %s) AS plays CROSS JOIN (SELECT COUNT(*) AS n FROM "staging_events" WHERE page = 'NextSong' AND source_file IN (SELECT source_file FROM "log_files" WHERE log_day BETWEEN %s AND %s)) AS events WHERE plays.n <> events.n) AS failures;

SELECT * FROM (SELECT plays.n AS songplays, events.n AS nextsong_events FROM (SELECT COUNT(*) AS n FROM "songplays" WHERE songplay_id BETWEEN %s AND %s) AS plays CROSS JOIN (SELECT COUNT(*) AS n FROM "staging_events" WHERE page = 'NextSong' AND source_file IN (SELECT source_file FROM "log_files" WHERE log_day BETWEEN %s AND %s)) AS events WHERE plays.n <> events.n) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT plays.start_time, COUNT(t.start_time) AS time_rows FROM (SELECT start_time FROM "songplays" WHERE songplay_id BETWEEN %s AND %s GROUP BY start_time) AS plays LEFT JOIN "time" AS t ON t.start_time = plays.start_time GROUP BY plays.start_time HAVING COUNT(t.start_time) <> 1) AS failures;

SELECT * FROM (SELECT plays.start_time, COUNT(t.start_time) AS time_rows FROM (SELECT start_time FROM "songplays" WHERE songplay_id BETWEEN %s AND %s GROUP BY start_time) AS plays LEFT JOIN "time" AS t ON t.start_time = plays.start_time GROUP BY plays.start_time HAVING COUNT(t.start_time) <> 1) AS failures LIMIT 5;
