SELECT COUNT(*) FROM (SELECT "source_file", "source_line", COUNT(*) AS copies FROM "staging_events" GROUP BY "source_file", "source_line" HAVING COUNT(*) > 1) AS failures;

SELECT * FROM (SELECT "source_file", "source_line", COUNT(*) AS copies FROM "staging_events" GROUP BY "source_file", "source_line" HAVING COUNT(*) > 1) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT * FROM "staging_events" WHERE "source_file" IS NULL) AS failures;

SELECT * FROM (SELECT * FROM "staging_events" WHERE "source_file" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT * FROM "staging_events" WHERE "source_line" IS NULL) AS failures;

SELECT * FROM (SELECT * FROM "staging_events" WHERE "source_line" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT "source_file", "source_line", COUNT(*) AS copies FROM "staging_songs" GROUP BY "source_file", "source_line" HAVING COUNT(*) > 1) AS failures;

SELECT * FROM (SELECT "source_file", "source_line", COUNT(*) AS copies FROM "staging_songs" GROUP BY "source_file", "source_line" HAVING COUNT(*) > 1) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT * FROM "staging_songs" WHERE "source_file" IS NULL) AS failures;

SELECT * FROM (SELECT * FROM "staging_songs" WHERE "source_file" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT "songplay_id", COUNT(*) AS copies FROM "songplays" GROUP BY "songplay_id" HAVING COUNT(*) > 1) AS failures;

SELECT * FROM (SELECT "songplay_id", COUNT(*) AS copies FROM "songplays" GROUP BY "songplay_id" HAVING COUNT(*) > 1) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT * FROM "songplays" WHERE "songplay_id" IS NULL) AS failures;

SELECT * FROM (SELECT * FROM "songplays" WHERE "songplay_id" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "time" AS parent ON parent."start_time" = child."start_time" WHERE child."start_time" IS NOT NULL AND parent."start_time" IS NULL) AS failures;

SELECT * FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "time" AS parent ON parent."start_time" = child."start_time" WHERE child."start_time" IS NOT NULL AND parent."start_time" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "users" AS parent ON parent."user_id" = child."user_id" WHERE child."user_id" IS NOT NULL AND parent."user_id" IS NULL) AS failures;

SELECT * FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "users" AS parent ON parent."user_id" = child."user_id" WHERE child."user_id" IS NOT NULL AND parent."user_id" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "songs" AS parent ON parent."song_id" = child."song_id" WHERE child."song_id" IS NOT NULL AND parent."song_id" IS NULL) AS failures;

SELECT * FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "songs" AS parent ON parent."song_id" = child."song_id" WHERE child."song_id" IS NOT NULL AND parent."song_id" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "artists" AS parent ON parent."artist_id" = child."artist_id" WHERE child."artist_id" IS NOT NULL AND parent."artist_id" IS NULL) AS failures;

SELECT * FROM (SELECT child.* FROM "songplays" AS child LEFT JOIN "artists" AS parent ON parent."artist_id" = child."artist_id" WHERE child."artist_id" IS NOT NULL AND parent."artist_id" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT * FROM "songplays" WHERE "level" IS NOT NULL AND "level" NOT IN ('free', 'paid')) AS failures;

SELECT * FROM (SELECT * FROM "songplays" WHERE "level" IS NOT NULL AND "level" NOT IN ('free', 'paid')) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT "user_id", COUNT(*) AS copies FROM "users" GROUP BY "user_id" HAVING COUNT(*) > 1) AS failures;

SELECT * FROM (SELECT "user_id", COUNT(*) AS copies FROM "users" GROUP BY "user_id" HAVING COUNT(*) > 1) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT * FROM "users" WHERE "user_id" IS NULL) AS failures;

SELECT * FROM (SELECT * FROM "users" WHERE "user_id" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT * FROM "users" WHERE "gender" IS NOT NULL AND "gender" NOT IN ('F', 'M')) AS failures;

SELECT * FROM (SELECT * FROM "users" WHERE "gender" IS NOT NULL AND "gender" NOT IN ('F', 'M')) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT * FROM "users" WHERE "level" IS NOT NULL AND "level" NOT IN ('free', 'paid')) AS failures;

SELECT * FROM (SELECT * FROM "users" WHERE "level" IS NOT NULL AND "level" NOT IN ('free', 'paid')) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT "song_id", COUNT(*) AS copies FROM "songs" GROUP BY "song_id" HAVING COUNT(*) > 1) AS failures;

SELECT * FROM (SELECT "song_id", COUNT(*) AS copies FROM "songs" GROUP BY "song_id" HAVING COUNT(*) > 1) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT * FROM "songs" WHERE "song_id" IS NULL) AS failures;

SELECT * FROM (SELECT * FROM "songs" WHERE "song_id" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT child.* FROM "songs" AS child LEFT JOIN "artists" AS parent ON parent."artist_id" = child."artist_id" WHERE child."artist_id" IS NOT NULL AND parent."artist_id" IS NULL) AS failures;

SELECT * FROM (SELECT child.* FROM "songs" AS child LEFT JOIN "artists" AS parent ON parent."artist_id" = child."artist_id" WHERE child."artist_id" IS NOT NULL AND parent."artist_id" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT "artist_id", COUNT(*) AS copies FROM "artists" GROUP BY "artist_id" HAVING COUNT(*) > 1) AS failures;

SELECT * FROM (SELECT "artist_id", COUNT(*) AS copies FROM "artists" GROUP BY "artist_id" HAVING COUNT(*) > 1) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT * FROM "artists" WHERE "artist_id" IS NULL) AS failures;

SELECT * FROM (SELECT * FROM "artists" WHERE "artist_id" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT "start_time", COUNT(*) AS copies FROM "time" GROUP BY "start_time" HAVING COUNT(*) > 1) AS failures;

SELECT * FROM (SELECT "start_time", COUNT(*) AS copies FROM "time" GROUP BY "start_time" HAVING COUNT(*) > 1) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT * FROM "time" WHERE "start_time" IS NULL) AS failures;

SELECT * FROM (SELECT * FROM "time" WHERE "start_time" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT "source_file", COUNT(*) AS copies FROM "load_manifest" GROUP BY "source_file" HAVING COUNT(*) > 1) AS failures;

SELECT * FROM (SELECT "source_file", COUNT(*) AS copies FROM "load_manifest" GROUP BY "source_file" HAVING COUNT(*) > 1) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT * FROM "load_manifest" WHERE "source_file" IS NULL) AS failures;

SELECT * FROM (SELECT * FROM "load_manifest" WHERE "source_file" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT "folder", COUNT(*) AS copies FROM "load_folders" GROUP BY "folder" HAVING COUNT(*) > 1) AS failures;

SELECT * FROM (SELECT "folder", COUNT(*) AS copies FROM "load_folders" GROUP BY "folder" HAVING COUNT(*) > 1) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT * FROM "load_folders" WHERE "folder" IS NULL) AS failures;

SELECT * FROM (SELECT * FROM "load_folders" WHERE "folder" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT "source_file", COUNT(*) AS copies FROM "log_files" GROUP BY "source_file" HAVING COUNT(*) > 1) AS failures;

SELECT * FROM (SELECT "source_file", COUNT(*) AS copies FROM "log_files" GROUP BY "source_file" HAVING COUNT(*) > 1) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT * FROM "log_files" WHERE "source_file" IS NULL) AS failures;

SELECT * FROM (SELECT * FROM "log_files" WHERE "source_file" IS NULL) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT plays.n AS songplays, events.n AS nextsong_events FROM (SELECT COUNT(*) AS n FROM "songplays") AS plays CROSS JOIN (SELECT COUNT(*) AS n FROM "staging_events" WHERE page = 'NextSong') AS events WHERE plays.n <> events.n) AS failures;

SELECT * FROM (SELECT plays.n AS songplays, events.n AS nextsong_events FROM (SELECT COUNT(*) AS n FROM "songplays") AS plays CROSS JOIN (SELECT COUNT(*) AS n FROM "staging_events" WHERE page = 'NextSong') AS events WHERE plays.n <> events.n) AS failures LIMIT 5;

SELECT COUNT(*) FROM (SELECT times.n AS time_rows, plays.n AS distinct_start_times FROM (SELECT COUNT(*) AS n FROM "time") AS times CROSS JOIN (SELECT COUNT(DISTINCT start_time) AS n FROM "songplays") AS plays WHERE times.n <> plays.n) AS failures;

SELECT * FROM (SELECT times.n AS time_rows, plays.n AS distinct_start_times FROM (SELECT COUNT(*) AS n FROM "time") AS times CROSS JOIN (SELECT COUNT(DISTINCT start_time) AS n FROM "songplays") AS plays WHERE times.n <> plays.n) AS failures LIMIT 5;
