"""Which rules run, in which order (the order matters: the first rule to decide wins).

Orders follow the reference's CoreFlowPolicy / CoreTaskPolicy / Minimal*Policy /
Global*Policy. Concurrency rules decide on the slot state the caller read (ctx.slots).
The release transforms run in the global transforms (the reference has them in both the
core and the minimal policies, so a forced CANCELLED gives the slot back too).
Left out, because they need storage or belong to later work:
- RemoveDeploymentConcurrencyLeaseForOldClientVersions (clients before 3.4.11),
  EnforceDeploymentConcurrencyOnLate (MarkLateRunsPolicy),
- cache rules (CacheRetrieval, CacheInsertion) and background-task queueing
  (EnqueueScheduledTasks, CopyTaskParametersID: BackgroundTaskPolicy only),
- InstrumentFlowRunStateTransitions (metrics/events are emitted by the caller).
"""

from __future__ import annotations

from shared.orchestration.base import Rule, Transform
from shared.orchestration.common_rules import (
    CopyScheduledTime,
    PreventPendingTransitions,
    RenameReruns,
    WaitForScheduledTime,
)
from shared.orchestration.concurrency_rules import (
    ReleaseFlowConcurrencySlots,
    ReleaseTaskConcurrencySlots,
    SecureFlowConcurrencySlots,
    SecureTaskConcurrencySlots,
    ValidateDeploymentConcurrencyAtRunning,
)
from shared.orchestration.flow_rules import (
    BypassCancellingFlowRunsWithNoInfra,
    EnforceCancellingToCancelledTransition,
    EnsureOnlyScheduledFlowsMarkedLate,
    HandleFlowTerminalStateTransitions,
    HandlePausingFlows,
    HandleResumingPausedFlows,
    PreserveDeploymentConcurrencyLeaseId,
    PreventDuplicateTransitions,
    PreventResultDataLoss,
    RetryFailedFlows,
)
from shared.orchestration.task_rules import (
    HandleTaskTerminalStateTransitions,
    PreventRunningTasksFromStoppedFlows,
    RetryFailedTasks,
    UpdateFlowRunTrackerOnTasks,
)
from shared.orchestration.transforms import (
    EnsureMonotonicStateTimestamp,
    IncrementFlowRunCount,
    IncrementRunTime,
    IncrementTaskRunCount,
    RemoveResumingIndicator,
    SetEndTime,
    SetExpectedStartTime,
    SetNextScheduledStartTime,
    SetRunStateTypeAndName,
    SetStartTime,
    UpdateStateDetails,
    UpdateSubflowParentTask,
    UpdateSubflowStateDetails,
)
from shared.schemas.flow_runs import FlowRun
from shared.schemas.task_runs import TaskRun

FlowRules = tuple[type[Rule[FlowRun]], ...]
TaskRules = tuple[type[Rule[TaskRun]], ...]

CORE_FLOW_POLICY: FlowRules = (
    PreserveDeploymentConcurrencyLeaseId,
    PreventDuplicateTransitions,
    HandleFlowTerminalStateTransitions,
    EnforceCancellingToCancelledTransition,
    BypassCancellingFlowRunsWithNoInfra,
    PreventPendingTransitions,
    ValidateDeploymentConcurrencyAtRunning,
    SecureFlowConcurrencySlots,
    EnsureOnlyScheduledFlowsMarkedLate,
    HandlePausingFlows,
    HandleResumingPausedFlows,
    CopyScheduledTime,
    WaitForScheduledTime,
    RetryFailedFlows,
)

# force=True: the client (e.g. a worker setting CANCELLED after killing the process)
# knows better; only data-loss protection and the no-infra cancel shortcut remain.
MINIMAL_FLOW_POLICY: FlowRules = (
    PreserveDeploymentConcurrencyLeaseId,
    PreventResultDataLoss,
    BypassCancellingFlowRunsWithNoInfra,
)

CORE_TASK_POLICY: TaskRules = (
    HandleTaskTerminalStateTransitions,
    PreventRunningTasksFromStoppedFlows,
    SecureTaskConcurrencySlots,
    CopyScheduledTime,
    WaitForScheduledTime,
    RetryFailedTasks,
    RenameReruns,
    UpdateFlowRunTrackerOnTasks,
)

MINIMAL_TASK_POLICY: TaskRules = ()

GLOBAL_FLOW_TRANSFORMS: tuple[type[Transform[FlowRun]], ...] = (
    EnsureMonotonicStateTimestamp,
    SetRunStateTypeAndName,
    SetStartTime,
    SetEndTime,
    IncrementRunTime,
    SetExpectedStartTime,
    SetNextScheduledStartTime,
    UpdateStateDetails,
    UpdateSubflowParentTask,
    UpdateSubflowStateDetails,
    IncrementFlowRunCount,
    RemoveResumingIndicator,
    ReleaseFlowConcurrencySlots,
)

GLOBAL_TASK_TRANSFORMS: tuple[type[Transform[TaskRun]], ...] = (
    EnsureMonotonicStateTimestamp,
    SetRunStateTypeAndName,
    SetStartTime,
    SetEndTime,
    IncrementRunTime,
    SetExpectedStartTime,
    SetNextScheduledStartTime,
    UpdateStateDetails,
    IncrementTaskRunCount,
    ReleaseTaskConcurrencySlots,
)
