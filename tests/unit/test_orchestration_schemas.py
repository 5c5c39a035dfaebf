"""State / response JSON is what the prefect 3.9.1 client parses."""

from __future__ import annotations

import pytest

from shared.schemas.responses import OrchestrationResult, SetStateStatus, StateWaitDetails
from shared.schemas.states import State, StateCreate, StateType

client_objects = pytest.importorskip("prefect.client.schemas.objects")
client_responses = pytest.importorskip("prefect.client.schemas.responses")


def test_state_defaults_match_reference() -> None:
    assert StateCreate(type=StateType.CANCELLING).name == "Cancelling"
    scheduled = StateCreate(type=StateType.SCHEDULED)
    assert scheduled.state_details.scheduled_time is not None
    with pytest.raises(ValueError):
        StateCreate.model_validate({"type": "RUNNING", "bogus": 1})


def test_state_json_round_trips_through_client() -> None:
    ours = State(type=StateType.SCHEDULED, name="AwaitingRetry", data={"type": "unpersisted"})
    theirs = client_objects.State.model_validate_json(ours.model_dump_json())
    assert theirs.name == "AwaitingRetry" and theirs.state_details.scheduled_time is not None
    assert set(State.model_json_schema()["properties"]) >= {
        "id",
        "type",
        "name",
        "timestamp",
        "message",
        "data",
        "state_details",
    }


def test_client_state_create_is_accepted() -> None:
    actions = pytest.importorskip("prefect.client.schemas.actions")
    client_state = actions.StateCreate(type="RUNNING", state_details={"transition_id": None})
    ours = StateCreate.model_validate_json(client_state.model_dump_json())
    assert ours.type == StateType.RUNNING and ours.name == "Running"


def test_orchestration_result_parses_in_client() -> None:
    body = OrchestrationResult(
        state=None, status=SetStateStatus.WAIT, details=StateWaitDetails(delay_seconds=3, reason="later")
    ).model_dump_json()
    parsed = client_responses.OrchestrationResult.model_validate_json(body)
    assert parsed.status.value == "WAIT" and parsed.details.delay_seconds == 3
