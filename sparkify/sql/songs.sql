-- One row per song_id. When several song files carry the same song_id, the first file in path
-- order wins. A year of 0 means "unknown" in the source and becomes NULL.
INSERT INTO "songs" ("song_id", "title", "artist_id", "year", "duration")
SELECT song_id, title, artist_id, NULLIF(year, 0), duration
FROM (
    SELECT
        song_id, title, artist_id, year, duration,
        ROW_NUMBER() OVER (PARTITION BY song_id ORDER BY source_file) AS pick
    FROM "staging_songs"
) AS candidates
WHERE pick = 1;
