DELETE FROM "staging_songs";

COPY "staging_songs" ("num_songs", "artist_id", "artist_latitude", "artist_longitude", "artist_location", "artist_name", "song_id", "title", "duration", "year", "source_file", "source_line")
FROM 's3://my-staging/sparkify/staging_songs/manifest.json'
IAM_ROLE 'arn:aws:iam::123456789012:role/dwhRole'
FORMAT AS JSON 'auto ignorecase'
MANIFEST
GZIP
REGION 'us-west-2'
COMPUPDATE OFF STATUPDATE OFF
MAXERROR 10;

INSERT INTO "users_pending" (user_id) SELECT DISTINCT e.user_id FROM "staging_events" AS e JOIN "log_files" AS f ON f.source_file = e.source_file WHERE f.log_day BETWEEN %s AND %s AND e.user_id IS NOT NULL;

DELETE FROM "staging_events" WHERE source_file IN (SELECT source_file FROM "log_files" WHERE log_day BETWEEN %s AND %s);

DELETE FROM "log_files" WHERE log_day BETWEEN %s AND %s;

COPY "staging_events" ("artist", "auth", "first_name", "gender", "item_in_session", "last_name", "length", "level", "location", "method", "page", "registration", "session_id", "song", "status", "ts", "user_agent", "user_id", "source_file", "source_line")
FROM 's3://my-staging/sparkify/staging_events/manifest.json'
IAM_ROLE 'arn:aws:iam::123456789012:role/dwhRole'
FORMAT AS JSON 's3://my-staging/sparkify/jsonpaths/staging_events_lineage.json'
MANIFEST
GZIP
REGION 'us-west-2'
COMPUPDATE OFF STATUPDATE OFF
MAXERROR 10;

INSERT INTO "log_files" (source_file, log_day) VALUES (%s, %s);

INSERT INTO "users_pending" (user_id) SELECT DISTINCT e.user_id FROM "staging_events" AS e JOIN "log_files" AS f ON f.source_file = e.source_file WHERE f.log_day BETWEEN %s AND %s AND e.user_id IS NOT NULL;
