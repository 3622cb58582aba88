{%- set days = days | default(false) %}
-- One row per distinct songplay start_time. week is the ISO 8601 week; weekday is ISO 8601
-- (1 = Monday ... 7 = Sunday); year is the calendar year.
{%- if days %}
-- For some days only: the start times of their plays (songplay_id from and to, bound three
-- times) that have no row yet. Only the rows of "time" within those plays' span are looked up,
-- so that a day's run reads about a day of "time", not all of it.
{%- endif %}
INSERT INTO "time" ("start_time", "hour", "day", "week", "month", "year", "weekday")
SELECT
    start_time,
    EXTRACT(HOUR FROM start_time),
    EXTRACT(DAY FROM start_time),
    EXTRACT(WEEK FROM start_time),
    EXTRACT(MONTH FROM start_time),
    EXTRACT(YEAR FROM start_time),
    MOD(CAST(EXTRACT(DOW FROM start_time) AS INTEGER) + 6, 7) + 1
FROM (
    SELECT DISTINCT p.start_time
    FROM "songplays" AS p
{%- if days %}
    WHERE p.songplay_id BETWEEN {{ engine.placeholder }} AND {{ engine.placeholder }}
        AND NOT EXISTS (
            SELECT 1 FROM "time" AS t
            WHERE t.start_time = p.start_time
                AND t.start_time BETWEEN (
                    SELECT MIN(start_time) FROM "songplays"
                    WHERE songplay_id BETWEEN {{ engine.placeholder }} AND {{ engine.placeholder }}
                ) AND (
                    SELECT MAX(start_time) FROM "songplays"
                    WHERE songplay_id BETWEEN {{ engine.placeholder }} AND {{ engine.placeholder }}
                )
        )
{%- endif %}
) AS plays;
