-- One row per NextSong event, all of them. A play matches the song whose title, artist name and
-- duration equal the event's song, artist and length exactly (doubles, never rounded); when
-- several songs match, the smallest song_id wins; when none does, song_id and artist_id are NULL.
-- songplay_id numbers the plays in time order, so the same input always gives the same ids.
INSERT INTO "songplays" (
    "songplay_id", "start_time", "user_id", "level", "song_id", "artist_id",
    "session_id", "location", "user_agent"
)
SELECT
    ROW_NUMBER() OVER (
        ORDER BY e.ts, e.session_id, e.item_in_session, e.source_file, e.source_line
    ),
    {{ engine.timestamp_from_epoch_ms("e.ts") }},
    e.user_id,
    e.level,
    m.song_id,
    m.artist_id,
    e.session_id,
    e.location,
    e.user_agent
FROM "staging_events" AS e
LEFT JOIN (
    SELECT
        song_id, artist_id, title, artist_name, duration,
        ROW_NUMBER() OVER (PARTITION BY title, artist_name, duration ORDER BY song_id) AS pick
    FROM (
        {% filter trim|indent(8) %}{% include "_songs_once.sql" %}{% endfilter %}
    ) AS songs_once
) AS m
    ON m.pick = 1
    AND m.title = e.song
    AND m.artist_name = e.artist
    AND m.duration = e.length
WHERE e.page = 'NextSong';
