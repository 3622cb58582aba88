CREATE TABLE IF NOT EXISTS "staging_events" (
    "artist" VARCHAR(512),
    "auth" VARCHAR(32),
    "first_name" VARCHAR(256),
    "gender" VARCHAR(16),
    "item_in_session" INTEGER,
    "last_name" VARCHAR(256),
    "length" DOUBLE PRECISION,
    "level" VARCHAR(16),
    "location" VARCHAR(512),
    "method" VARCHAR(16),
    "page" VARCHAR(64),
    "registration" DOUBLE PRECISION,
    "session_id" BIGINT,
    "song" VARCHAR(512),
    "status" INTEGER,
    "ts" BIGINT NOT NULL,
    "user_agent" VARCHAR(1024),
    "user_id" BIGINT,
    "source_file" VARCHAR(1024),
    "source_line" INTEGER
)
DISTSTYLE EVEN COMPOUND SORTKEY ("ts");

CREATE TABLE IF NOT EXISTS "staging_songs" (
    "num_songs" INTEGER,
    "artist_id" VARCHAR(32),
    "artist_latitude" DOUBLE PRECISION,
    "artist_longitude" DOUBLE PRECISION,
    "artist_location" VARCHAR(512),
    "artist_name" VARCHAR(512),
    "song_id" VARCHAR(32) NOT NULL,
    "title" VARCHAR(512),
    "duration" DOUBLE PRECISION,
    "year" INTEGER,
    "source_file" VARCHAR(1024),
    "source_line" INTEGER
)
DISTSTYLE EVEN;

CREATE TABLE IF NOT EXISTS "songplays" (
    "songplay_id" BIGINT NOT NULL,
    "start_time" TIMESTAMP NOT NULL,
    "user_id" BIGINT,
    "level" VARCHAR(16),
    "song_id" VARCHAR(32),
    "artist_id" VARCHAR(32),
    "session_id" BIGINT,
    "location" VARCHAR(512),
    "user_agent" VARCHAR(1024),
    PRIMARY KEY ("songplay_id")
)
DISTSTYLE KEY DISTKEY ("start_time") COMPOUND SORTKEY ("start_time");

CREATE TABLE IF NOT EXISTS "users" (
    "user_id" BIGINT NOT NULL,
    "first_name" VARCHAR(256),
    "last_name" VARCHAR(256),
    "gender" VARCHAR(16),
    "level" VARCHAR(16),
    PRIMARY KEY ("user_id")
)
DISTSTYLE ALL COMPOUND SORTKEY ("user_id");

CREATE TABLE IF NOT EXISTS "songs" (
    "song_id" VARCHAR(32) NOT NULL,
    "title" VARCHAR(512),
    "artist_id" VARCHAR(32),
    "year" INTEGER,
    "duration" DOUBLE PRECISION,
    PRIMARY KEY ("song_id")
)
DISTSTYLE ALL COMPOUND SORTKEY ("song_id");

CREATE TABLE IF NOT EXISTS "artists" (
    "artist_id" VARCHAR(32) NOT NULL,
    "name" VARCHAR(512),
    "location" VARCHAR(512),
    "latitude" DOUBLE PRECISION,
    "longitude" DOUBLE PRECISION,
    PRIMARY KEY ("artist_id")
)
DISTSTYLE ALL COMPOUND SORTKEY ("artist_id");

CREATE TABLE IF NOT EXISTS "time" (
    "start_time" TIMESTAMP NOT NULL,
    "hour" SMALLINT NOT NULL,
    "day" SMALLINT NOT NULL,
    "week" SMALLINT NOT NULL,
    "month" SMALLINT NOT NULL,
    "year" SMALLINT NOT NULL,
    "weekday" SMALLINT NOT NULL,
    PRIMARY KEY ("start_time")
)
DISTSTYLE KEY DISTKEY ("start_time") COMPOUND SORTKEY ("start_time");

CREATE TABLE IF NOT EXISTS "load_errors" (
    "source_file" VARCHAR(1024),
    "source_line" INTEGER,
    "kind" VARCHAR(16) NOT NULL,
    "reason" VARCHAR(1024) NOT NULL,
    "raw_text" VARCHAR(4096),
    "rejected_at" TIMESTAMP NOT NULL
)
DISTSTYLE EVEN;

CREATE TABLE IF NOT EXISTS "load_manifest" (
    "source_file" VARCHAR(1024),
    "kind" VARCHAR(16) NOT NULL,
    "size" BIGINT NOT NULL,
    "version" VARCHAR(256) NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "records" INTEGER NOT NULL,
    "rejected" INTEGER NOT NULL,
    "loaded_at" TIMESTAMP NOT NULL
)
DISTSTYLE EVEN;

CREATE TABLE IF NOT EXISTS "load_folders" (
    "folder" VARCHAR(1024) NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "files" INTEGER NOT NULL,
    "modified_ns" BIGINT
)
DISTSTYLE EVEN;

CREATE TABLE IF NOT EXISTS "log_files" (
    "source_file" VARCHAR(1024),
    "log_day" VARCHAR(10) NOT NULL
)
DISTSTYLE EVEN COMPOUND SORTKEY ("log_day");

CREATE TABLE IF NOT EXISTS "song_matches" (
    "title" VARCHAR(512),
    "artist_name" VARCHAR(512),
    "duration" DOUBLE PRECISION,
    "song_id" VARCHAR(32) NOT NULL,
    "artist_id" VARCHAR(32)
)
DISTSTYLE EVEN;

CREATE TABLE IF NOT EXISTS "users_pending" (
    "user_id" BIGINT NOT NULL
)
DISTSTYLE EVEN;

CREATE TABLE IF NOT EXISTS "times_pending" (
    "start_time" TIMESTAMP NOT NULL
)
DISTSTYLE EVEN;
