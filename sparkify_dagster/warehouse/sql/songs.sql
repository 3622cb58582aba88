-- One row per song_id. When several song records carry the same song_id, the first in path
-- order wins. A year of 0 means "unknown" in the source and becomes NULL.
INSERT INTO "songs" ("song_id", "title", "artist_id", "year", "duration")
SELECT song_id, title, artist_id, NULLIF(year, 0), duration
FROM (
    {% filter trim|indent(4) %}{% include "_songs_once.sql" %}{% endfilter %}
) AS songs_once;
