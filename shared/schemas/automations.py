"""Automations: triggers, actions, and the automation itself (Prefect 3.9.1 JSON).

Triggers: `event` (reactive / proactive, bucketed per `for_each` key), `compound`
(require any / all / n of child triggers within a window) and `sequence` (children in
order within a window). Actions: a discriminated union on `type`.
"""

from __future__ import annotations

import datetime
import enum
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union
from uuid import UUID, uuid4

from pydantic import Discriminator, Field, Tag, TypeAdapter, ValidationError, model_validator

from shared.schemas.base import APIBaseModel, ObjectBaseModel
from shared.schemas.events import ReceivedEvent, RelatedResource, Resource, ResourceSpecification
from shared.schemas.states import StateType

PROACTIVE_MINIMUM_WITHIN = datetime.timedelta(seconds=10)
_timedelta = TypeAdapter(datetime.timedelta)


class Posture(str, enum.Enum):
    Reactive = "Reactive"
    Proactive = "Proactive"
    Metric = "Metric"


def event_name_matches(pattern: str, name: str) -> bool:
    """`prefect.flow-run.*`: a trailing (or any) `*` matches one or more characters."""
    return re.fullmatch(re.escape(pattern).replace("\\*", ".+"), name) is not None


class _Trigger(APIBaseModel):
    id: UUID = Field(default_factory=uuid4, description="The unique ID of this trigger")

    def all_triggers(self) -> list[Trigger]:
        return [self]  # type: ignore[list-item]  # every concrete trigger subclass is a Trigger member

    def reset_ids(self) -> None:
        """The server assigns trigger ids (clients may send stale ones)."""
        for trigger in self.all_triggers():
            trigger.id = uuid4()


class EventTrigger(_Trigger):
    """Fires on the presence (Reactive) or absence (Proactive) of events within a period."""

    type: Literal["event"] = "event"
    match: ResourceSpecification = Field(
        default_factory=lambda: ResourceSpecification({}),
        description="Labels for resources which this trigger will match.",
    )
    match_related: ResourceSpecification | list[ResourceSpecification] = Field(
        default_factory=lambda: ResourceSpecification({}),
        description="Labels for related resources which this trigger will match.",
    )
    after: set[str] = Field(
        default_factory=set, description="The event(s) which must first been seen to fire this trigger."
    )
    expect: set[str] = Field(default_factory=set, description="The event(s) this trigger is expecting to see.")
    for_each: set[str] = Field(
        default_factory=set, description="Evaluate the trigger separately for each distinct value of these labels."
    )
    posture: Literal[Posture.Reactive, Posture.Proactive] = Field(..., description="Reactive or Proactive.")
    threshold: int = Field(1, description="Events required to fire (Reactive) or expected (Proactive).")
    within: datetime.timedelta = Field(
        datetime.timedelta(0),
        ge=datetime.timedelta(0),
        json_schema_extra={"minimum": 0},
        description="The time period over which the events must occur.",
    )

    @model_validator(mode="before")
    @classmethod
    def _proactive_minimum_within(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "within" in data and data["within"] is None:
            raise ValueError("`within` should be a valid timedelta")
        within = data.get("within")
        if within is not None and not isinstance(within, datetime.timedelta):
            try:
                within = _timedelta.validate_python(within)
            except ValidationError:
                return data  # the field reports it
            data = {**data, "within": within}
        if data.get("posture") == Posture.Proactive.value or data.get("posture") == Posture.Proactive:
            if not within:
                data = {**data, "within": datetime.timedelta(seconds=10)}
            elif within < PROACTIVE_MINIMUM_WITHIN:
                raise ValueError("`within` for Proactive triggers must be greater than or equal to 10 seconds")
        return data

    @property
    def immediate(self) -> bool:
        return self.posture == Posture.Reactive and self.within == datetime.timedelta(0)

    def covers_resources(self, resource: Resource, related: list[RelatedResource]) -> bool:
        if not self.match.includes([resource]):
            return False
        specs = self.match_related if isinstance(self.match_related, list) else [self.match_related]
        return all(spec.includes(related) for spec in specs)

    def covers(self, event: ReceivedEvent) -> bool:
        """Is this trigger interested in the event at all (expected or an `after` event)?"""
        names = self.expect | self.after
        if names and not any(event_name_matches(p, event.event) for p in names):
            return False
        return self.covers_resources(event.resource, event.related)

    def expects(self, name: str) -> bool:
        return not self.expect or any(event_name_matches(p, name) for p in self.expect)

    def starts_after(self, name: str) -> bool:
        return bool(self.after) and any(event_name_matches(p, name) for p in self.after)

    def bucketing_key(self, event: ReceivedEvent) -> tuple[str, ...]:
        return tuple(event.find_resource_label(label) or "" for label in sorted(self.for_each))

    def meets_threshold(self, count: int) -> bool:
        if self.posture == Posture.Reactive:
            return count >= self.threshold
        return count < self.threshold


class CompoundTrigger(_Trigger):
    """Fires when `require` (any, all, or a number) of its triggers fired within `within`."""

    type: Literal["compound"] = "compound"
    triggers: list[Trigger]
    within: datetime.timedelta | None = None
    require: int | Literal["any", "all"]

    def all_triggers(self) -> list[Trigger]:
        return [self, *(t for child in self.triggers for t in child.all_triggers())]

    @property
    def num_expected_firings(self) -> int:
        if self.require == "any":
            return 1
        if self.require == "all":
            return len(self.triggers)
        return int(self.require)

    @model_validator(mode="after")
    def _validate_require(self) -> CompoundTrigger:
        if isinstance(self.require, int):
            if self.require < 1:
                raise ValueError("require must be at least 1")
            if self.require > len(self.triggers):
                raise ValueError("require must be less than or equal to the number of triggers")
        return self


class SequenceTrigger(_Trigger):
    """Fires when its triggers fired in order within `within`."""

    type: Literal["sequence"] = "sequence"
    triggers: list[Trigger]
    within: datetime.timedelta | None = None

    def all_triggers(self) -> list[Trigger]:
        return [self, *(t for child in self.triggers for t in child.all_triggers())]

    @property
    def num_expected_firings(self) -> int:
        return len(self.triggers)


def _trigger_kind(value: Any) -> str:
    """A trigger without a `type` is an event trigger, as the reference's (undiscriminated) union reads it."""
    if isinstance(value, dict):
        return str(value.get("type", "event"))
    return str(getattr(value, "type", "event"))


Trigger = Annotated[
    Annotated[EventTrigger, Tag("event")]
    | Annotated[CompoundTrigger, Tag("compound")]
    | Annotated[SequenceTrigger, Tag("sequence")],
    Discriminator(_trigger_kind),
]
CompoundTrigger.model_rebuild()
SequenceTrigger.model_rebuild()


# --- actions -------------------------------------------------------------------------

Source = Literal["selected", "inferred"]


class _Action(APIBaseModel):
    pass


class DoNothing(_Action):
    type: Literal["do-nothing"] = "do-nothing"


class _Selected(_Action):
    source: Source = Field(
        "selected",
        description="Whether this action applies to a specific object or one inferred from the triggering event",
    )

    @model_validator(mode="after")
    def _selected_needs_id(self) -> _Selected:
        id_field = next(
            name
            for name in ("deployment_id", "work_pool_id", "work_queue_id", "automation_id")
            if name in type(self).model_fields
        )
        value = getattr(self, id_field)
        kind = id_field.removesuffix("_id").replace("_", " ")
        if self.source == "selected" and value is None:
            raise ValueError(f"{id_field} is required when source is 'selected'")
        if self.source == "inferred" and value is not None:
            raise ValueError(f"{id_field} is not allowed when source is 'inferred' (the {kind} is inferred)")
        return self


class RunDeployment(_Selected):
    type: Literal["run-deployment"] = "run-deployment"
    deployment_id: UUID | None = Field(None, description="The identifier of the deployment")
    parameters: dict[str, Any] | None = Field(
        None, description="The parameters to pass to the deployment, or None to use the deployment's default parameters"
    )
    job_variables: dict[str, Any] | None = Field(None, description="The job variables to pass to the created flow run")
    schedule_after: datetime.timedelta = Field(
        datetime.timedelta(0),
        ge=datetime.timedelta(0),
        description="The amount of time to wait before running the deployment.",
    )


class PauseDeployment(_Selected):
    type: Literal["pause-deployment"] = "pause-deployment"
    deployment_id: UUID | None = None


class ResumeDeployment(_Selected):
    type: Literal["resume-deployment"] = "resume-deployment"
    deployment_id: UUID | None = None


class ChangeFlowRunState(_Action):
    type: Literal["change-flow-run-state"] = "change-flow-run-state"
    name: str | None = Field(None, description="The name of the state to change the flow run to")
    state: StateType = Field(..., description="The type of the state to change the flow run to")
    message: str | None = Field(None, description="An optional message to associate with the state change")
    force: bool = Field(
        False, description="Force the state change even if the transition is not allowed by the orchestration rules."
    )


class CancelFlowRun(_Action):
    type: Literal["cancel-flow-run"] = "cancel-flow-run"


class SuspendFlowRun(_Action):
    type: Literal["suspend-flow-run"] = "suspend-flow-run"


class ResumeFlowRun(_Action):
    type: Literal["resume-flow-run"] = "resume-flow-run"


class CallWebhook(_Action):
    type: Literal["call-webhook"] = "call-webhook"
    block_document_id: UUID = Field(..., description="The identifier of the webhook block to use")
    payload: str = Field("", description="An optional templatable payload to send when calling the webhook.")


class SendNotification(_Action):
    type: Literal["send-notification"] = "send-notification"
    block_document_id: UUID = Field(..., description="The identifier of the notification block to use")
    subject: str = "Prefect automated notification"
    body: str = Field(..., description="The text of the notification to send")


class PauseWorkPool(_Selected):
    type: Literal["pause-work-pool"] = "pause-work-pool"
    work_pool_id: UUID | None = None


class ResumeWorkPool(_Selected):
    type: Literal["resume-work-pool"] = "resume-work-pool"
    work_pool_id: UUID | None = None


class PauseWorkQueue(_Selected):
    type: Literal["pause-work-queue"] = "pause-work-queue"
    work_queue_id: UUID | None = None


class ResumeWorkQueue(_Selected):
    type: Literal["resume-work-queue"] = "resume-work-queue"
    work_queue_id: UUID | None = None


class PauseAutomation(_Selected):
    type: Literal["pause-automation"] = "pause-automation"
    automation_id: UUID | None = None


class ResumeAutomation(_Selected):
    type: Literal["resume-automation"] = "resume-automation"
    automation_id: UUID | None = None


_ACTIONS = (
    DoNothing,
    RunDeployment,
    PauseDeployment,
    ResumeDeployment,
    ChangeFlowRunState,
    CancelFlowRun,
    SuspendFlowRun,
    ResumeFlowRun,
    CallWebhook,
    SendNotification,
    PauseWorkPool,
    ResumeWorkPool,
    PauseWorkQueue,
    ResumeWorkQueue,
    PauseAutomation,
    ResumeAutomation,
)


def _action_kind(value: Any) -> str:
    """An action without a `type` is do-nothing: the reference's undiscriminated union takes its first
    member, whose fields all have defaults (the prefect client drops unset fields, `type` among them)."""
    if isinstance(value, dict):
        return str(value.get("type", "do-nothing"))
    return str(getattr(value, "type", "do-nothing"))


if TYPE_CHECKING:
    # What the run-time union below accepts, spelled out for the type checker (which cannot read a union
    # built from a tuple).
    Action = (
        DoNothing
        | RunDeployment
        | PauseDeployment
        | ResumeDeployment
        | ChangeFlowRunState
        | CancelFlowRun
        | SuspendFlowRun
        | ResumeFlowRun
        | CallWebhook
        | SendNotification
        | PauseWorkPool
        | ResumeWorkPool
        | PauseWorkQueue
        | ResumeWorkQueue
        | PauseAutomation
        | ResumeAutomation
    )
else:
    Action = Annotated[
        Union[tuple(Annotated[cls, Tag(cls.model_fields["type"].default)] for cls in _ACTIONS)],  # noqa: UP007 - built from a tuple
        Discriminator(_action_kind),
    ]


# --- automations ---------------------------------------------------------------------

_LOOPING_EVENTS = {
    "prefect.flow-run.Scheduled",
    "prefect.flow-run.Pending",
    "prefect.flow-run.Running",
    "prefect.flow-run.*",
}


class AutomationCore(APIBaseModel):
    name: str = Field(..., description="The name of this automation")
    description: str = Field("", description="A longer description of this automation")
    enabled: bool = Field(True, description="Whether this automation will be evaluated")
    tags: list[str] = Field(default_factory=list, description="A list of tags associated with this automation")
    trigger: Trigger = Field(
        ..., description="The criteria for which events this Automation covers and how it will respond"
    )
    actions: list[Action] = Field(..., description="The actions to perform when this Automation triggers")
    actions_on_trigger: list[Action] = Field(
        default_factory=list, description="The actions to perform when an Automation goes into a triggered state"
    )
    actions_on_resolve: list[Action] = Field(
        default_factory=list, description="The actions to perform when an Automation goes into a resolving state"
    )

    def triggers(self) -> list[Trigger]:
        return self.trigger.all_triggers()

    @model_validator(mode="after")
    def _prevent_run_deployment_loops(self) -> AutomationCore:
        trigger = self.trigger
        if not self.enabled or not isinstance(trigger, EventTrigger) or trigger.posture != Posture.Reactive:
            return self
        if not _LOOPING_EVENTS & trigger.expect:
            return self
        for action in self.actions:
            if isinstance(action, RunDeployment) and action.source == "inferred":
                raise ValueError(
                    "Running an inferred deployment from a flow run state change event will lead to an infinite loop of flow runs."
                )
            if (
                isinstance(action, RunDeployment)
                and not trigger.match.root
                and not (
                    trigger.match_related.root
                    if isinstance(trigger.match_related, ResourceSpecification)
                    else any(s.root for s in trigger.match_related)
                )
            ):
                raise ValueError(
                    "Running a selected deployment from a flow run state change event may lead to an infinite loop of flow runs. "
                    "Please include either match or match_related on this automation's trigger"
                )
        return self


class AutomationCreate(AutomationCore):
    owner_resource: str | None = Field(None, description="The resource to which this automation belongs")


class AutomationUpdate(AutomationCore):
    pass


class AutomationPartialUpdate(APIBaseModel):
    enabled: bool = Field(True, description="Whether this automation will be evaluated")


class Automation(ObjectBaseModel, AutomationCore):
    pass


class AutomationSort(str, enum.Enum):
    CREATED_DESC = "CREATED_DESC"
    UPDATED_DESC = "UPDATED_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"


class AutomationFilterCreated(APIBaseModel):
    before_: datetime.datetime | None = None


class AutomationFilterName(APIBaseModel):
    any_: list[str] | None = None


class AutomationFilterTags(APIBaseModel):
    operator: Literal["and_", "or_"] = "and_"
    all_: list[str] | None = None
    is_null_: bool | None = None


class AutomationFilter(APIBaseModel):
    operator: Literal["and_", "or_"] = "and_"
    name: AutomationFilterName | None = None
    created: AutomationFilterCreated | None = None
    tags: AutomationFilterTags | None = None

    def matches(self, automation: Automation) -> bool:
        checks: list[bool] = []
        if self.name is not None and self.name.any_ is not None:
            checks.append(automation.name in self.name.any_)
        if self.created is not None and self.created.before_ is not None:
            checks.append(automation.created is not None and automation.created <= self.created.before_)
        if self.tags is not None:
            if self.tags.all_ is not None:
                checks.append(all(tag in automation.tags for tag in self.tags.all_))
            if self.tags.is_null_ is not None:
                checks.append((not automation.tags) == self.tags.is_null_)
        if not checks:
            return True
        return all(checks) if self.operator == "and_" else any(checks)
