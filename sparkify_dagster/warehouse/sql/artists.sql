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
