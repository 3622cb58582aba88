DELETE FROM "staging_songs";

COPY "staging_songs" ("num_songs", "artist_id", "artist_latitude", "artist_longitude", "artist_location", "artist_name", "song_id", "title", "duration", "year")
FROM 's3://udacity-dend/song_data'
IAM_ROLE 'arn:aws:iam::123456789012:role/dwhRole'
FORMAT AS JSON 'auto ignorecase'
REGION 'us-west-2'
COMPUPDATE OFF STATUPDATE OFF
MAXERROR 0;

UPDATE "staging_songs" SET "source_file" = 's3://udacity-dend/song_data' WHERE "source_file" IS NULL;

DELETE FROM "staging_events";

COPY "staging_events" ("artist", "auth", "first_name", "gender", "item_in_session", "last_name", "length", "level", "location", "method", "page", "registration", "session_id", "song", "status", "ts", "user_agent", "user_id")
FROM 's3://udacity-dend/log_data'
IAM_ROLE 'arn:aws:iam::123456789012:role/dwhRole'
FORMAT AS JSON 's3://udacity-dend/log_json_path.json'
REGION 'us-west-2'
COMPUPDATE OFF STATUPDATE OFF
MAXERROR 0;

UPDATE "staging_events" SET "source_file" = 's3://udacity-dend/log_data' WHERE "source_file" IS NULL;
