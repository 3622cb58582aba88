{#- The match of each (title, artist_name, duration) from the staged catalogue. -#}
SELECT title, artist_name, duration, song_id, artist_id
FROM (
    SELECT
        song_id, artist_id, title, artist_name, duration,
        ROW_NUMBER() OVER (PARTITION BY title, artist_name, duration ORDER BY song_id) AS pick
    FROM (
        {% filter trim|indent(8) %}{% include "_songs_once.sql" %}{% endfilter %}
    ) AS songs_once
    WHERE title IS NOT NULL AND artist_name IS NOT NULL AND duration IS NOT NULL
) AS candidates
WHERE pick = 1
