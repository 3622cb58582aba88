-- The most played catalogue artists; ties go to the name, then the artist_id.
SELECT a.name, COUNT(*) AS plays, COUNT(DISTINCT p.user_id) AS listeners
FROM "songplays" AS p
JOIN "artists" AS a ON a.artist_id = p.artist_id
GROUP BY a.artist_id, a.name
ORDER BY plays DESC, a.name, a.artist_id
LIMIT 10;
