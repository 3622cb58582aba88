{#- The one record kept for each song_id: the first in path order (then line). -#}
SELECT song_id, title, artist_id, artist_name, year, duration
FROM (
    SELECT
        song_id, title, artist_id, artist_name, year, duration,
        ROW_NUMBER() OVER (PARTITION BY song_id ORDER BY source_file, source_line) AS first_record
    FROM "staging_songs"
) AS records
WHERE first_record = 1
