"""Pure scheduling: run times of cron/interval/rrule schedules, the scheduler's
planning of auto-scheduled runs, and job-variable merging/validation. No AWS, no I/O."""

from shared.scheduling.dates import MAX_ITERATIONS, get_dates, iter_dates
from shared.scheduling.job_variables import (
    JobVariablesError,
    merge_job_variables,
    pool_defaults,
    validate_deployment_job_variables,
    validate_flow_run_job_variables,
    validate_work_pool_defaults,
)
from shared.scheduling.planner import (
    AUTO_SCHEDULED_TAG,
    SchedulerSettings,
    deployment_run_labels,
    is_replaceable_scheduled_run,
    merged_parameters,
    plan_scheduled_runs,
    schedule_needs_runs,
    schedule_times,
    scheduled_flow_run,
    scheduled_run_id,
    scheduled_run_key,
)

__all__ = [
    "AUTO_SCHEDULED_TAG",
    "MAX_ITERATIONS",
    "JobVariablesError",
    "SchedulerSettings",
    "deployment_run_labels",
    "get_dates",
    "is_replaceable_scheduled_run",
    "iter_dates",
    "merge_job_variables",
    "merged_parameters",
    "plan_scheduled_runs",
    "pool_defaults",
    "schedule_needs_runs",
    "schedule_times",
    "scheduled_flow_run",
    "scheduled_run_id",
    "scheduled_run_key",
    "validate_deployment_job_variables",
    "validate_flow_run_job_variables",
    "validate_work_pool_defaults",
]
