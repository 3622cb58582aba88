-- The most played catalogue songs; ties go to the title, then the song_id, so the list is stable.
SELECT s.title, a.name AS artist, COUNT(*) AS plays, COUNT(DISTINCT p.user_id) AS listeners
FROM "songplays" AS p
JOIN "songs" AS s ON s.song_id = p.song_id
LEFT JOIN "artists" AS a ON a.artist_id = s.artist_id
GROUP BY s.song_id, s.title, a.name
ORDER BY plays DESC, s.title, s.song_id
LIMIT 10;
