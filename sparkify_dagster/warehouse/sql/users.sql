-- One row per logged-in user (any page, not only plays), as of the user's latest event:
-- its level, names and gender win. Ties on ts go to the later file and line.
INSERT INTO "users" ("user_id", "first_name", "last_name", "gender", "level")
SELECT user_id, first_name, last_name, gender, level
FROM (
    SELECT
        user_id, first_name, last_name, gender, level,
        ROW_NUMBER() OVER (
            PARTITION BY user_id
            ORDER BY ts DESC, source_file DESC, source_line DESC
        ) AS pick
    FROM "staging_events"
    WHERE user_id IS NOT NULL
) AS latest
WHERE pick = 1;
