"""The code location: every asset, check and resource of Sparkify's warehouse, in one place.

``dagster dev -m sparkify_dagster`` (or ``-w workspace.yaml``) loads ``defs``. Each run executes
in one process: the steps are small SQL statements, a process per step would cost more than the
work, and an embedded DuckDB file has one writer at a time.
"""

from dagster import Definitions, in_process_executor

from sparkify_dagster.alerts import alerts_from_env, run_failure_alert
from sparkify_dagster.assets import TABLE_ASSETS, listening_report, raw_data
from sparkify_dagster.automation import expected_daily, follow_staging
from sparkify_dagster.catalog import with_code_references
from sparkify_dagster.checks import TABLE_CHECKS
from sparkify_dagster.jobs import CLUSTER_JOBS
from sparkify_dagster.resources import cluster_from_env, sources_from_env, warehouse_from_env
from sparkify_dagster.sensors import INTERVAL, SENSORS

defs = Definitions(
    assets=expected_daily(with_code_references([raw_data, *TABLE_ASSETS, listening_report])),
    asset_checks=TABLE_CHECKS,
    jobs=CLUSTER_JOBS,
    resources={
        "warehouse": warehouse_from_env(),
        "sources": sources_from_env(),
        "redshift_cluster": cluster_from_env(),
        "alerts": alerts_from_env(),
    },
    executor=in_process_executor,
    sensors=[*SENSORS, follow_staging(INTERVAL), run_failure_alert],
)
