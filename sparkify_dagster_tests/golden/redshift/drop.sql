DROP TABLE IF EXISTS "staging_events";

DROP TABLE IF EXISTS "staging_songs";

DROP TABLE IF EXISTS "songplays";

DROP TABLE IF EXISTS "users";

DROP TABLE IF EXISTS "songs";

DROP TABLE IF EXISTS "artists";

DROP TABLE IF EXISTS "time";

DROP TABLE IF EXISTS "load_errors";

DROP TABLE IF EXISTS "load_manifest";

DROP TABLE IF EXISTS "load_folders";

DROP TABLE IF EXISTS "log_files";

DROP TABLE IF EXISTS "song_matches";

DROP TABLE IF EXISTS "users_pending";

DROP TABLE IF EXISTS "times_pending";
