CREATE TABLE IF NOT EXISTS "staging_events" (
    "artist" TEXT,
    "auth" TEXT,
    "first_name" TEXT,
    "gender" TEXT,
    "item_in_session" INTEGER,
    "last_name" TEXT,
    "length" DOUBLE PRECISION,
    "level" TEXT,
    "location" TEXT,
    "method" TEXT,
    "page" TEXT,
    "registration" BIGINT,
    "session_id" BIGINT,
    "song" TEXT,
    "status" INTEGER,
    "ts" BIGINT NOT NULL,
    "user_agent" TEXT,
    "user_id" BIGINT,
    "source_file" TEXT NOT NULL,
    "source_line" INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS "staging_songs" (
    "num_songs" INTEGER,
    "artist_id" TEXT,
    "artist_latitude" DOUBLE PRECISION,
    "artist_longitude" DOUBLE PRECISION,
    "artist_location" TEXT,
    "artist_name" TEXT,
    "song_id" TEXT NOT NULL,
    "title" TEXT,
    "duration" DOUBLE PRECISION,
    "year" INTEGER,
    "source_file" TEXT NOT NULL,
    "source_line" INTEGER
);

CREATE TABLE IF NOT EXISTS "songplays" (
    "songplay_id" BIGINT NOT NULL,
    "start_time" TIMESTAMP NOT NULL,
    "user_id" BIGINT,
    "level" TEXT,
    "song_id" TEXT,
    "artist_id" TEXT,
    "session_id" BIGINT,
    "location" TEXT,
    "user_agent" TEXT
);

CREATE TABLE IF NOT EXISTS "users" (
    "user_id" BIGINT NOT NULL,
    "first_name" TEXT,
    "last_name" TEXT,
    "gender" TEXT,
    "level" TEXT
);

CREATE TABLE IF NOT EXISTS "songs" (
    "song_id" TEXT NOT NULL,
    "title" TEXT,
    "artist_id" TEXT,
    "year" INTEGER,
    "duration" DOUBLE PRECISION
);

CREATE TABLE IF NOT EXISTS "artists" (
    "artist_id" TEXT NOT NULL,
    "name" TEXT,
    "location" TEXT,
    "latitude" DOUBLE PRECISION,
    "longitude" DOUBLE PRECISION
);

CREATE TABLE IF NOT EXISTS "time" (
    "start_time" TIMESTAMP NOT NULL,
    "hour" SMALLINT NOT NULL,
    "day" SMALLINT NOT NULL,
    "week" SMALLINT NOT NULL,
    "month" SMALLINT NOT NULL,
    "year" SMALLINT NOT NULL,
    "weekday" SMALLINT NOT NULL
);

CREATE TABLE IF NOT EXISTS "load_errors" (
    "source_file" TEXT NOT NULL,
    "source_line" INTEGER,
    "kind" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "raw_text" TEXT,
    "rejected_at" TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS "load_manifest" (
    "source_file" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "version" TEXT NOT NULL,
    "checksum" TEXT NOT NULL,
    "records" INTEGER NOT NULL,
    "rejected" INTEGER NOT NULL,
    "loaded_at" TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS "load_folders" (
    "folder" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "files" INTEGER NOT NULL,
    "modified_ns" BIGINT
);

CREATE TABLE IF NOT EXISTS "log_files" (
    "source_file" TEXT NOT NULL,
    "log_day" TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS "song_matches" (
    "title" TEXT,
    "artist_name" TEXT,
    "duration" DOUBLE PRECISION,
    "song_id" TEXT NOT NULL,
    "artist_id" TEXT
);

CREATE TABLE IF NOT EXISTS "users_pending" (
    "user_id" BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS "times_pending" (
    "start_time" TIMESTAMP NOT NULL
);
