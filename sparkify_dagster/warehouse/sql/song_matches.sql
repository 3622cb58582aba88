-- The song a play matches, for each title, artist name and duration the catalogue holds: the
-- smallest song_id among the songs that give all three exactly (doubles, never rounded). The
-- plays join this table, so that a day's plays are matched without reading the catalogue again.
INSERT INTO "song_matches" ("title", "artist_name", "duration", "song_id", "artist_id")
{% include "_matches.sql" %};
