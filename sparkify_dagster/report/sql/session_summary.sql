-- How many sessions, and the median session's plays and minutes (see _per_session.sql).
SELECT
    COUNT(*) AS sessions,
    PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY plays) AS median_plays,
    PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY minutes) AS median_minutes
FROM (
    {% filter trim|indent(4) %}{% include "report/sql/_per_session.sql" %}{% endfilter %}
) AS per_session;
