-- Upgrades and downgrades per calendar day (UTC): the Submit Upgrade / Submit Downgrade pages of
-- the staged events.
SELECT
    CAST({{ engine.timestamp_from_epoch_ms("ts") }} AS DATE) AS day,
    SUM(CASE WHEN page = 'Submit Upgrade' THEN 1 ELSE 0 END) AS upgrades,
    SUM(CASE WHEN page = 'Submit Downgrade' THEN 1 ELSE 0 END) AS downgrades
FROM "staging_events"
WHERE page IN ('Submit Upgrade', 'Submit Downgrade')
GROUP BY CAST({{ engine.timestamp_from_epoch_ms("ts") }} AS DATE)
ORDER BY day;
