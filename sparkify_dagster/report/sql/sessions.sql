-- Listening sessions (see _per_session.sql) by length in minutes. bucket: 1 = one play only,
-- 2 = under 10 min, 3 = 10-30 min, 4 = 30-60 min, 5 = 1-2 h, 6 = 2-4 h, 7 = 4 h or more.
SELECT bucket, COUNT(*) AS sessions, SUM(plays) AS plays
FROM (
    SELECT
        CASE
            WHEN plays = 1 THEN 1
            WHEN minutes < 10 THEN 2
            WHEN minutes < 30 THEN 3
            WHEN minutes < 60 THEN 4
            WHEN minutes < 120 THEN 5
            WHEN minutes < 240 THEN 6
            ELSE 7
        END AS bucket,
        plays
    FROM (
        {% filter trim|indent(8) %}{% include "report/sql/_per_session.sql" %}{% endfilter %}
    ) AS per_session
) AS bucketed
GROUP BY bucket
ORDER BY bucket;
