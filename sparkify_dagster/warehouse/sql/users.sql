{%- set pending = pending | default(false) %}
-- One row per logged-in user (any page, not only plays), as of the user's latest event:
-- its level, names and gender win. Ties on ts go to the later file and line.
{%- if pending %}
-- For the users in users_pending only: those whose events were staged or replaced.
{%- endif %}
{%- set only_pending = ' AND e.user_id IN (SELECT user_id FROM "users_pending")' if pending else '' %}
{%- if engine.row_id %}
-- The latest event is found by its row id (arg_max over the sort key), then joined back for
-- the rest: numbering every event of each user took DuckDB ten times as long at 10M events.
INSERT INTO "users" ("user_id", "first_name", "last_name", "gender", "level")
SELECT e.user_id, e.first_name, e.last_name, e.gender, e.level
FROM (
    SELECT
        arg_max(
            e.{{ engine.row_id }},
            struct_pack(ts := e.ts, source_file := e.source_file, source_line := e.source_line)
        ) AS event
    FROM "staging_events" AS e
    WHERE e.user_id IS NOT NULL{{ only_pending }}
    GROUP BY e.user_id
) AS latest
JOIN "staging_events" AS e ON e.{{ engine.row_id }} = latest.event;
{%- else %}
INSERT INTO "users" ("user_id", "first_name", "last_name", "gender", "level")
SELECT user_id, first_name, last_name, gender, level
FROM (
    SELECT
        user_id, first_name, last_name, gender, level,
        ROW_NUMBER() OVER (
            PARTITION BY user_id
            ORDER BY ts DESC, source_file DESC, source_line DESC
        ) AS pick
    FROM "staging_events" AS e
    WHERE e.user_id IS NOT NULL{{ only_pending }}
) AS latest
WHERE pick = 1;
{%- endif %}
