-- One row per NextSong event, all of them. A play matches the song whose title, artist name and
-- duration equal the event's song, artist and length exactly (doubles, never rounded); when
-- several songs match, the smallest song_id wins; when none does, song_id and artist_id are NULL.
-- songplay_id numbers the plays in time order, so the same input always gives the same ids.
{%- set play_order = "ORDER BY e.ts, e.session_id, e.item_in_session, e.source_file, e.source_line" %}
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
    ROW_NUMBER() OVER (
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
        ROW_NUMBER() OVER (
            {{ play_order }}
        ) AS songplay_id
    FROM "staging_events" AS e
    WHERE e.page = 'NextSong'
) AS o
JOIN "staging_events" AS e ON e.{{ engine.row_id }} = o.play
{%- else %}
FROM "staging_events" AS e
{%- endif %}
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
