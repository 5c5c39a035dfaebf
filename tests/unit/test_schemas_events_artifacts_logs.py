"""Events, logs and artifacts: validation rules and client compatibility."""

from __future__ import annotations

import datetime
import uuid

import pytest
from pydantic import ValidationError

from shared.schemas.artifacts import Artifact, ArtifactCollection, ArtifactCreate, ArtifactUpdate
from shared.schemas.events import (
    Event,
    EventFilter,
    EventFilterRequest,
    EventPage,
    RelatedResource,
    Resource,
)
from shared.schemas.logs import Log, LogCreate

NOW = datetime.datetime.now(datetime.UTC)


def client_task_run_event():
    from prefect.events.schemas.events import Event as ClientEvent

    return ClientEvent(
        event="prefect.task-run.Completed",
        resource={"prefect.resource.id": f"prefect.task-run.{uuid.uuid4()}", "prefect.orchestration": "client"},
        related=[{"prefect.resource.id": f"prefect.flow-run.{uuid.uuid4()}", "prefect.resource.role": "flow-run"}],
        payload={"validated_state": {"type": "COMPLETED"}},
    )


def test_client_event_validates_and_received_event_roundtrips():
    from prefect.events.schemas.events import ReceivedEvent as ClientReceivedEvent

    sent = client_task_run_event()
    event = Event.model_validate_json(sent.model_dump_json())
    received = event.receive()
    back = ClientReceivedEvent.model_validate_json(received.model_dump_json())
    assert back.id == sent.id and back.event == sent.event
    assert event.resource_in_role["flow-run"].id.startswith("prefect.flow-run.")
    assert event.find_resource_label("prefect.orchestration") == "client"
    assert event.find_resource_label("related:flow-run:prefect.resource.role") == "flow-run"


def test_resource_rules():
    with pytest.raises(ValidationError):
        Resource({"prefect.resource.name": "x"})
    with pytest.raises(ValidationError):
        Resource({"prefect.resource.id": ""})
    with pytest.raises(ValidationError):
        RelatedResource({"prefect.resource.id": "x"})  # role required
    fid = uuid.uuid4()
    assert Resource({"prefect.resource.id": f"prefect.flow-run.{fid}"}).prefect_object_id("prefect.flow-run") == fid
    with pytest.raises(ValidationError):
        Event(occurred=NOW, event="x" * 1025, resource={"prefect.resource.id": "a"}, id=uuid.uuid4())


def test_event_filter_matches():
    event = Event.model_validate_json(client_task_run_event().model_dump_json())
    assert EventFilter().matches(event)
    assert EventFilter(event={"prefix": ["prefect.task-run."]}).matches(event)
    assert not EventFilter(event={"exclude_name": ["prefect.task-run.Completed"]}).matches(event)
    assert EventFilter(resource={"labels": {"prefect.resource.id": "prefect.task-run.*"}}).matches(event)
    assert not EventFilter(resource={"labels": {"prefect.resource.id": "!prefect.task-run.*"}}).matches(event)
    assert EventFilter(related={"role": ["flow-run"]}).matches(event)
    assert not EventFilter(related=[{"role": ["flow-run"]}, {"role": ["deployment"]}]).matches(event)
    assert EventFilter(any_resource={"id_prefix": ["prefect.flow-run."]}).matches(event)
    assert EventFilter(text={"query": "COMPLETED"}).matches(event)
    old = EventFilter(occurred={"since": NOW - datetime.timedelta(days=2), "until": NOW - datetime.timedelta(days=1)})
    assert not old.matches(event)
    with pytest.raises(ValidationError):
        EventFilter.model_validate({"bogus": {}})


def test_event_page_shape_matches_client():
    from prefect.events.filters import EventFilter as ClientEventFilter

    body = {"filter": ClientEventFilter().model_dump(mode="json"), "limit": 50}
    assert EventFilterRequest.model_validate(body).limit == 50
    with pytest.raises(ValidationError):
        EventFilterRequest.model_validate({"limit": 51})
    event = Event.model_validate_json(client_task_run_event().model_dump_json()).receive()
    page = EventPage(events=[event], total=1, next_page=None).model_dump(mode="json")
    assert set(page) == {"events", "total", "next_page"}


def test_log_create_from_client():
    from prefect.client.schemas.actions import LogCreate as ClientLogCreate

    sent = ClientLogCreate(name="prefect.flow_runs", level=20, message="hi", timestamp=NOW, flow_run_id=uuid.uuid4())
    created = LogCreate.model_validate(sent.model_dump(mode="json"))
    log = Log(**created.model_dump())
    assert log.id.version == 7
    with pytest.raises(ValidationError):
        LogCreate.model_validate({**sent.model_dump(mode="json"), "worker_id": str(uuid.uuid4())})


def test_artifacts_client_compat_and_rules():
    from prefect.client.schemas.actions import ArtifactCreate as ClientArtifactCreate
    from prefect.client.schemas.objects import Artifact as ClientArtifact
    from prefect.client.schemas.objects import ArtifactCollection as ClientArtifactCollection

    sent = ClientArtifactCreate(key="my-report", type="markdown", data="# hi", flow_run_id=uuid.uuid4())
    created = ArtifactCreate.model_validate(sent.model_dump(mode="json", exclude_unset=True))
    artifact = Artifact(**created.model_dump(), created=NOW, updated=NOW)
    ClientArtifact.model_validate_json(artifact.model_dump_json())
    collection = ArtifactCollection.from_artifact(artifact)
    assert ClientArtifactCollection.model_validate_json(collection.model_dump_json()).latest_id == artifact.id
    with pytest.raises(ValidationError):
        ArtifactCreate(key="My_Report")
    assert ArtifactUpdate(metadata_={"k": "v" * 501}).metadata_["k"].endswith("...")
    with pytest.raises(ValidationError):
        ArtifactUpdate(key="x")
