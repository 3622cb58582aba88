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

DELETE FROM "time" WHERE start_time IN (SELECT r.start_time FROM "times_pending" AS r WHERE NOT EXISTS (SELECT 1 FROM "songplays" AS p WHERE p.start_time = r.start_time AND p.start_time BETWEEN (SELECT MIN(start_time) FROM "times_pending") AND (SELECT MAX(start_time) FROM "times_pending")));

-- One row per distinct songplay start_time. week is the ISO 8601 week; weekday is ISO 8601
-- (1 = Monday ... 7 = Sunday); year is the calendar year.
-- For some days only: the start times of their plays (songplay_id from and to, bound three
-- times) that have no row yet. Only the rows of "time" within those plays' span are looked up,
-- so that a day's run reads about a day of "time", not all of it.
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
    WHERE p.songplay_id BETWEEN %s AND %s
        AND NOT EXISTS (
            SELECT 1 FROM "time" AS t
            WHERE t.start_time = p.start_time
                AND t.start_time BETWEEN (
                    SELECT MIN(start_time) FROM "songplays"
                    WHERE songplay_id BETWEEN %s AND %s
                ) AND (
                    SELECT MAX(start_time) FROM "songplays"
                    WHERE songplay_id BETWEEN %s AND %s
                )
        )
) AS plays;

DELETE FROM "times_pending";

DELETE FROM "users" WHERE user_id IN (SELECT user_id FROM "users_pending");

-- One row per logged-in user (any page, not only plays), as of the user's latest event:
-- its level, names and gender win. Ties on ts go to the later file and line.
-- For the users in users_pending only: those whose events were staged or replaced.
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
    WHERE e.user_id IS NOT NULL AND e.user_id IN (SELECT user_id FROM "users_pending")
) AS latest
WHERE pick = 1;

DELETE FROM "users_pending";

SELECT DISTINCT CAST(LEFT(CAST(songplay_id AS VARCHAR(20)), 8) AS BIGINT) * 10000000000 FROM "songplays";

-- The days holding a play whose match the catalogue's change moves: a play of a (title, artist
-- name, duration) that the staged catalogue now matches differently from song_matches, or no
-- longer, or for the first time. Only those days' plays are matched again.
SELECT DISTINCT f.log_day
FROM "staging_events" AS e
JOIN "log_files" AS f ON f.source_file = e.source_file
JOIN (
    SELECT title, artist_name, duration FROM (
        (
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
            WHERE pick = 1
        )
        EXCEPT
        SELECT title, artist_name, duration, song_id, artist_id FROM "song_matches"
    ) AS added
    UNION
    SELECT title, artist_name, duration FROM (
        SELECT title, artist_name, duration, song_id, artist_id FROM "song_matches"
        EXCEPT
        (
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
            WHERE pick = 1
        )
    ) AS removed
) AS moved
    ON moved.title = e.song
    AND moved.artist_name = e.artist
    AND moved.duration = e.length
WHERE e.page = 'NextSong'
ORDER BY f.log_day;
