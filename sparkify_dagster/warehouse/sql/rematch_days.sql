-- The days holding a play whose match the catalogue's change moves: a play of a (title, artist
-- name, duration) that the staged catalogue now matches differently from song_matches, or no
-- longer, or for the first time. Only those days' plays are matched again.
SELECT DISTINCT f.log_day
FROM "staging_events" AS e
JOIN "log_files" AS f ON f.source_file = e.source_file
JOIN (
    SELECT title, artist_name, duration FROM (
        (
            {% filter trim|indent(12) %}{% include "_matches.sql" %}{% endfilter %}
        )
        EXCEPT
        SELECT title, artist_name, duration, song_id, artist_id FROM "song_matches"
    ) AS added
    UNION
    SELECT title, artist_name, duration FROM (
        SELECT title, artist_name, duration, song_id, artist_id FROM "song_matches"
        EXCEPT
        (
            {% filter trim|indent(12) %}{% include "_matches.sql" %}{% endfilter %}
        )
    ) AS removed
) AS moved
    ON moved.title = e.song
    AND moved.artist_name = e.artist
    AND moved.duration = e.length
WHERE e.page = 'NextSong'
ORDER BY f.log_day;
