-- Headline figures. matched_plays counts plays whose song and artist are in the catalogue; the
-- rest name a song that no song file describes (data coverage).
SELECT
    COUNT(*) AS plays,
    COUNT(song_id) AS matched_plays,
    COUNT(DISTINCT user_id) AS listeners,
    MIN(start_time) AS first_play,
    MAX(start_time) AS last_play
FROM "songplays";
