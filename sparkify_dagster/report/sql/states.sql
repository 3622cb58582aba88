-- Plays by the state code in the listener's location: eventsim writes "<metro area>, <states>",
-- e.g. "Chicago-Naperville-Elgin, IL-IN-WI", and the first state (IL) is the metro's main one.
-- Locations without ", " give '' (counted as unknown by the report).
SELECT
    SPLIT_PART(SPLIT_PART(location, ', ', 2), '-', 1) AS state,
    COUNT(*) AS plays,
    COUNT(DISTINCT user_id) AS listeners
FROM "songplays"
WHERE location IS NOT NULL
GROUP BY SPLIT_PART(SPLIT_PART(location, ', ', 2), '-', 1)
ORDER BY plays DESC, state;
