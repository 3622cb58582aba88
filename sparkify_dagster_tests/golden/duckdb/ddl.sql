CREATE TABLE IF NOT EXISTS "staging_events" (
    "artist" VARCHAR,
    "auth" VARCHAR,
    "first_name" VARCHAR,
    "gender" VARCHAR,
    "item_in_session" INTEGER,
    "last_name" VARCHAR,
    "length" DOUBLE,
    "level" VARCHAR,
    "location" VARCHAR,
    "method" VARCHAR,
    "page" VARCHAR,
    "registration" BIGINT,
    "session_id" BIGINT,
    "song" VARCHAR,
    "status" INTEGER,
    "ts" BIGINT NOT NULL,
    "user_agent" VARCHAR,
    "user_id" BIGINT,
    "source_file" VARCHAR NOT NULL,
    "source_line" INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS "staging_songs" (
    "num_songs" INTEGER,
    "artist_id" VARCHAR,
    "artist_latitude" DOUBLE,
    "artist_longitude" DOUBLE,
    "artist_location" VARCHAR,
    "artist_name" VARCHAR,
    "song_id" VARCHAR NOT NULL,
    "title" VARCHAR,
    "duration" DOUBLE,
    "year" INTEGER,
    "source_file" VARCHAR NOT NULL,
    "source_line" INTEGER
);

CREATE TABLE IF NOT EXISTS "songplays" (
    "songplay_id" BIGINT NOT NULL,
    "start_time" TIMESTAMP NOT NULL,
    "user_id" BIGINT,
    "level" VARCHAR,
    "song_id" VARCHAR,
    "artist_id" VARCHAR,
    "session_id" BIGINT,
    "location" VARCHAR,
    "user_agent" VARCHAR
);

CREATE TABLE IF NOT EXISTS "users" (
    "user_id" BIGINT NOT NULL,
    "first_name" VARCHAR,
    "last_name" VARCHAR,
    "gender" VARCHAR,
    "level" VARCHAR
);

CREATE TABLE IF NOT EXISTS "songs" (
    "song_id" VARCHAR NOT NULL,
    "title" VARCHAR,
    "artist_id" VARCHAR,
    "year" INTEGER,
    "duration" DOUBLE
);

CREATE TABLE IF NOT EXISTS "artists" (
    "artist_id" VARCHAR NOT NULL,
    "name" VARCHAR,
    "location" VARCHAR,
    "latitude" DOUBLE,
    "longitude" DOUBLE
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
    "source_file" VARCHAR NOT NULL,
    "source_line" INTEGER,
    "kind" VARCHAR NOT NULL,
    "reason" VARCHAR NOT NULL,
    "raw_text" VARCHAR,
    "rejected_at" TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS "load_manifest" (
    "source_file" VARCHAR NOT NULL,
    "kind" VARCHAR NOT NULL,
    "size" BIGINT NOT NULL,
    "version" VARCHAR NOT NULL,
    "checksum" VARCHAR NOT NULL,
    "records" INTEGER NOT NULL,
    "rejected" INTEGER NOT NULL,
    "loaded_at" TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS "load_folders" (
    "folder" VARCHAR NOT NULL,
    "kind" VARCHAR NOT NULL,
    "files" INTEGER NOT NULL,
    "modified_ns" BIGINT
);

CREATE TABLE IF NOT EXISTS "log_files" (
    "source_file" VARCHAR NOT NULL,
    "log_day" VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS "song_matches" (
    "title" VARCHAR,
    "artist_name" VARCHAR,
    "duration" DOUBLE,
    "song_id" VARCHAR NOT NULL,
    "artist_id" VARCHAR
);

CREATE TABLE IF NOT EXISTS "users_pending" (
    "user_id" BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS "times_pending" (
    "start_time" TIMESTAMP NOT NULL
);
