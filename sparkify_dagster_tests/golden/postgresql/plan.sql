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

SELECT source_file, size, version FROM "load_manifest" WHERE kind = %s AND RIGHT(version, 1) <> '?';

DELETE FROM "staging_songs" WHERE source_file = ANY(%s);

DELETE FROM "load_errors" WHERE source_file = ANY(%s);

DELETE FROM "load_manifest" WHERE source_file = ANY(%s);

COPY "staging_songs" ("num_songs", "artist_id", "artist_latitude", "artist_longitude", "artist_location", "artist_name", "song_id", "title", "duration", "year", "source_file", "source_line") FROM STDIN (FORMAT BINARY);

SELECT source_file, size, version FROM "load_manifest" WHERE kind = %s AND RIGHT(version, 1) <> '?';

DELETE FROM "staging_events" WHERE source_file = ANY(%s);

DELETE FROM "load_errors" WHERE source_file = ANY(%s);

DELETE FROM "load_manifest" WHERE source_file = ANY(%s);

COPY "staging_events" ("artist", "auth", "first_name", "gender", "item_in_session", "last_name", "length", "level", "location", "method", "page", "registration", "session_id", "song", "status", "ts", "user_agent", "user_id", "source_file", "source_line") FROM STDIN (FORMAT BINARY);

COPY "load_errors" ("source_file", "source_line", "kind", "reason", "raw_text", "rejected_at") FROM STDIN (FORMAT BINARY);

COPY "load_manifest" ("source_file", "kind", "size", "version", "checksum", "records", "rejected", "loaded_at") FROM STDIN (FORMAT BINARY);

DELETE FROM "songs";

-- One row per song_id. When several song records carry the same song_id, the first in path
-- order wins. A year of 0 means "unknown" in the source and becomes NULL.
INSERT INTO "songs" ("song_id", "title", "artist_id", "year", "duration")
SELECT song_id, title, artist_id, NULLIF(year, 0), duration
FROM (
    SELECT song_id, title, artist_id, artist_name, year, duration
    FROM (
        SELECT
            song_id, title, artist_id, artist_name, year, duration,
            ROW_NUMBER() OVER (PARTITION BY song_id ORDER BY source_file, source_line) AS first_record
        FROM "staging_songs"
    ) AS records
    WHERE first_record = 1
) AS songs_once;

DELETE FROM "song_matches";

-- The song a play matches, for each title, artist name and duration the catalogue holds: the
-- smallest song_id among the songs that give all three exactly (doubles, never rounded). The
-- plays join this table, so that a day's plays are matched without reading the catalogue again.
INSERT INTO "song_matches" ("title", "artist_name", "duration", "song_id", "artist_id")
SELECT title, artist_name, duration, song_id, artist_id
FROM (
    SELECT
        song_id, artist_id, title, artist_name, duration,
        ROW_NUMBER() OVER (PARTITION BY title, artist_name, duration ORDER BY song_id) AS pick
    FROM (
        SELECT song_id, title, artist_id, artist_name, year, duration
        FROM (
            SELECT
                song_id, title, artist_id, artist_name, year, duration,
                ROW_NUMBER() OVER (PARTITION BY song_id ORDER BY source_file, source_line) AS first_record
            FROM "staging_songs"
        ) AS records
        WHERE first_record = 1
    ) AS songs_once
    WHERE title IS NOT NULL AND artist_name IS NOT NULL AND duration IS NOT NULL
) AS candidates
WHERE pick = 1;

DELETE FROM "artists";

-- One row per artist_id. Song files disagree about artists; the most complete record wins:
-- one with coordinates first, then one with a non-empty location, then the first song file in
-- path order. An empty location becomes NULL.
INSERT INTO "artists" ("artist_id", "name", "location", "latitude", "longitude")
SELECT artist_id, artist_name, NULLIF(artist_location, ''), artist_latitude, artist_longitude
FROM (
    SELECT
        artist_id, artist_name, artist_location, artist_latitude, artist_longitude,
        ROW_NUMBER() OVER (
            PARTITION BY artist_id
            ORDER BY
                CASE WHEN artist_latitude IS NULL OR artist_longitude IS NULL THEN 1 ELSE 0 END,
                CASE WHEN artist_location IS NULL OR artist_location = '' THEN 1 ELSE 0 END,
                source_file
        ) AS pick
    FROM "staging_songs"
    WHERE artist_id IS NOT NULL
) AS candidates
WHERE pick = 1;

DELETE FROM "users";

-- One row per logged-in user (any page, not only plays), as of the user's latest event:
-- its level, names and gender win. Ties on ts go to the later file and line.
INSERT INTO "users" ("user_id", "first_name", "last_name", "gender", "level")
SELECT user_id, first_name, last_name, gender, level
FROM (
    SELECT
        user_id, first_name, last_name, gender, level,
        ROW_NUMBER() OVER (
            PARTITION BY user_id
            ORDER BY ts DESC, source_file DESC, source_line DESC
        ) AS pick
    FROM "staging_events" AS e
    WHERE e.user_id IS NOT NULL
) AS latest
WHERE pick = 1;

DELETE FROM "users_pending";

INSERT INTO "times_pending" (start_time) SELECT DISTINCT start_time FROM "songplays" WHERE songplay_id BETWEEN %s AND %s;

DELETE FROM "songplays" WHERE songplay_id BETWEEN %s AND %s;

-- One row per NextSong event of the days from first to last (bound), all of them. A play
-- matches the song whose title, artist name and duration equal the event's song, artist and
-- length exactly (song_matches: the smallest song_id when several do); when none does, song_id
-- and artist_id are NULL.
-- songplay_id is the log's day, then the play's number in that day's time order: the 42nd play
-- of 2018-11-05's log is 201811050000000042. The same files give the same ids whatever order
-- their days were loaded in, and loading a day never renumbers another day's plays.
INSERT INTO "songplays" (
    "songplay_id", "start_time", "user_id", "level", "song_id", "artist_id",
    "session_id", "location", "user_agent"
)
SELECT
    CAST(REPLACE(f.log_day, '-', '') AS BIGINT) * 10000000000 + ROW_NUMBER() OVER (
        PARTITION BY f.log_day ORDER BY e.ts, e.session_id, e.item_in_session, e.source_file, e.source_line
    ),
    (TIMESTAMP '1970-01-01 00:00:00' + (e.ts / 1000) * INTERVAL '1 second' + MOD(e.ts, 1000) * INTERVAL '1 millisecond'),
    e.user_id,
    e.level,
    m.song_id,
    m.artist_id,
    e.session_id,
    e.location,
    e.user_agent
FROM "staging_events" AS e
JOIN "log_files" AS f ON f.source_file = e.source_file
LEFT JOIN "song_matches" AS m
    ON m.title = e.song
    AND m.artist_name = e.artist
    AND m.duration = e.length
WHERE e.page = 'NextSong' AND f.log_day BETWEEN %s AND %s;

DELETE FROM "time";

-- One row per distinct songplay start_time. week is the ISO 8601 week; weekday is ISO 8601
-- (1 = Monday ... 7 = Sunday); year is the calendar year.
INSERT INTO "time" ("start_time", "hour", "day", "week", "month", "year", "weekday")
SELECT
    start_time,
    EXTRACT(HOUR FROM start_time),
    EXTRACT(DAY FROM start_time),
    EXTRACT(WEEK FROM start_time),
    EXTRACT(MONTH FROM start_time),
    EXTRACT(YEAR FROM start_time),
    MOD(CAST(EXTRACT(DOW FROM start_time) AS INTEGER) + 6, 7) + 1
FROM (
    SELECT DISTINCT p.start_time
    FROM "songplays" AS p
) AS plays;

DELETE FROM "times_pending";
