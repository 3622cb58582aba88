-- One row per NextSong event of the days from first to last (bound), all of them. A play
-- matches the song whose title, artist name and duration equal the event's song, artist and
-- length exactly (song_matches: the smallest song_id when several do); when none does, song_id
-- and artist_id are NULL.
-- songplay_id is the log's day, then the play's number in that day's time order: the 42nd play
-- of 2018-11-05's log is 201811050000000042. The same files give the same ids whatever order
-- their days were loaded in, and loading a day never renumbers another day's plays.
{%- set day_id = "CAST(REPLACE(f.log_day, '-', '') AS BIGINT) * " ~ day_span %}
{%- set play_order = "PARTITION BY f.log_day ORDER BY e.ts, e.session_id, e.item_in_session, e.source_file, e.source_line" %}
{%- if engine.row_id %}
-- The plays are numbered on their sort key and row id alone, then joined back to their events:
-- sorting whole rows took two to three times as long, and ran out of memory under a 256 MB cap.
{%- endif %}
INSERT INTO "songplays" (
    "songplay_id", "start_time", "user_id", "level", "song_id", "artist_id",
    "session_id", "location", "user_agent"
)
SELECT
{%- if engine.row_id %}
    o.songplay_id,
{%- else %}
    {{ day_id }} + ROW_NUMBER() OVER (
        {{ play_order }}
    ),
{%- endif %}
    {{ engine.timestamp_from_epoch_ms("e.ts") }},
    e.user_id,
    e.level,
    m.song_id,
    m.artist_id,
    e.session_id,
    e.location,
    e.user_agent
{%- if engine.row_id %}
FROM (
    SELECT
        e.{{ engine.row_id }} AS play,
        {{ day_id }} + ROW_NUMBER() OVER (
            {{ play_order }}
        ) AS songplay_id
    FROM "staging_events" AS e
    JOIN "log_files" AS f ON f.source_file = e.source_file
    WHERE e.page = 'NextSong' AND f.log_day BETWEEN {{ engine.placeholder }} AND {{ engine.placeholder }}
) AS o
JOIN "staging_events" AS e ON e.{{ engine.row_id }} = o.play
{%- else %}
FROM "staging_events" AS e
JOIN "log_files" AS f ON f.source_file = e.source_file
{%- endif %}
LEFT JOIN "song_matches" AS m
    ON m.title = e.song
    AND m.artist_name = e.artist
    AND m.duration = e.length
{%- if not engine.row_id %}
WHERE e.page = 'NextSong' AND f.log_day BETWEEN {{ engine.placeholder }} AND {{ engine.placeholder }}
{%- endif %};
