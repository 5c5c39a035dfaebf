"""One call of every public PrefectClient / SyncPrefectClient method, with small valid arguments.

A spec is `f(client, ctx)`: it returns the client call's result (a coroutine for the async client).
`ctx` holds the objects seeded on that server and makes disposable ones over plain HTTP for calls
that delete or change them, so both servers see the same sequence of requests.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
from prefect import flow, task
from prefect.client.schemas.actions import (
    ArtifactCreate,
    ArtifactUpdate,
    BlockDocumentCreate,
    BlockDocumentUpdate,
    BlockSchemaCreate,
    BlockTypeCreate,
    BlockTypeUpdate,
    DeploymentScheduleCreate,
    DeploymentUpdate,
    GlobalConcurrencyLimitCreate,
    GlobalConcurrencyLimitUpdate,
    LogCreate,
    VariableCreate,
    VariableUpdate,
    WorkPoolCreate,
    WorkPoolUpdate,
)
from prefect.client.schemas.schedules import IntervalSchedule
from prefect.events.actions import DoNothing
from prefect.events.schemas.automations import AutomationCore, EventTrigger
from prefect.states import Pending, Running

from tests.conformance import retrying
from tests.conformance.seed import Seed


class Skip(Exception):
    """The call needs a route this server does not serve yet (its message names the route)."""


class Ctx:
    """One server's seeded objects, and disposable ones made over HTTP."""

    def __init__(self, api_url: str, seed: Seed, is_served: Callable[[str, str], bool]) -> None:
        self.http = httpx.Client(base_url=api_url, timeout=60)
        self.seed = seed
        self.is_served = is_served

    def close(self) -> None:
        self.http.close()

    def id(self, key: str) -> UUID:
        return UUID(self.seed[key])

    def __getitem__(self, key: str) -> str:
        return self.seed[key]

    def post(self, path: str, body: Any) -> dict[str, Any]:
        if not self.is_served("POST", "/api" + path):
            raise Skip(f"route not served: POST /api{path}")
        response = retrying.request(self.http, "POST", path, body)
        assert response.status_code < 300, f"setup POST {path}: {response.status_code} {response.text}"
        return response.json()

    @staticmethod
    def unique(prefix: str) -> str:
        return f"conformance-{prefix}-{uuid.uuid4().hex[:8]}"

    # Disposable objects -------------------------------------------------------------------------
    def new_flow(self) -> UUID:
        return UUID(self.post("/flows/", {"name": self.unique("flow")})["id"])

    def new_flow_run(self) -> UUID:
        return UUID(self.post("/flow_runs/", {"flow_id": self["flows:id"], "name": self.unique("run")})["id"])

    def new_task_run(self) -> UUID:
        body = {"flow_run_id": self["flow_runs:id"], "task_key": self.unique("task"), "dynamic_key": "0", "name": "t"}
        return UUID(self.post("/task_runs/", body)["id"])

    def new_deployment(self) -> UUID:
        body = {
            "name": self.unique("deployment"),
            "flow_id": self["flows:id"],
            "work_pool_name": self["work_pools:name"],
        }
        return UUID(self.post("/deployments/", body)["id"])

    def new_schedule(self, deployment_id: UUID) -> UUID:
        made = self.post(f"/deployments/{deployment_id}/schedules", [{"schedule": {"interval": 3600}, "active": False}])
        return UUID(made[0]["id"])

    def new_pool(self) -> str:
        return self.post("/work_pools/", {"name": self.unique("pool"), "type": "process"})["name"]

    def new_queue(self) -> UUID:
        return UUID(self.post(f"/work_pools/{self['work_pools:name']}/queues", {"name": self.unique("queue")})["id"])

    def new_artifact(self) -> UUID:
        return UUID(self.post("/artifacts/", {"key": self.unique("artifact"), "type": "markdown", "data": "x"})["id"])

    def new_variable(self) -> str:
        return self.post("/variables/", {"name": self.unique("var").replace("-", "_"), "value": 1})["name"]

    def new_limit(self) -> str:
        return self.post("/v2/concurrency_limits/", {"name": self.unique("limit"), "limit": 5})["name"]

    def new_tag_limit(self) -> str:
        return self.post("/concurrency_limits/", {"tag": self.unique("tag"), "concurrency_limit": 5})["tag"]

    def new_automation(self) -> UUID:
        return UUID(self.post("/automations/", automation().model_dump(mode="json"))["id"])

    def new_block_type(self) -> UUID:
        return UUID(self.post("/block_types/", {"name": self.unique("block-type"), "slug": self.unique("slug")})["id"])

    def new_block_schema(self) -> tuple[UUID, UUID]:
        """(block type id, block schema id)"""
        block_type = self.post("/block_types/", {"name": self.unique("block-type"), "slug": self.unique("slug")})
        schema = self.post(
            "/block_schemas/", {"block_type_id": block_type["id"], "fields": {"properties": {}}, "capabilities": []}
        )
        return UUID(block_type["id"]), UUID(schema["id"])

    def new_block_document(self) -> UUID:
        type_id, schema_id = self.new_block_schema()
        document = {
            "name": self.unique("doc"),
            "block_type_id": str(type_id),
            "block_schema_id": str(schema_id),
            "data": {},
        }
        return UUID(self.post("/block_documents/", document)["id"])


@flow(name="conformance-client-flow")
def a_flow() -> None:
    """Only its name and metadata are sent (create_flow / create_flow_run)."""


@task(name="conformance-client-task")
def a_task() -> None:
    """Only its name and key are sent (create_task_run)."""


def automation(name: str = "conformance-automation") -> AutomationCore:
    return AutomationCore(
        name=name,
        trigger=EventTrigger(expect={"never.happens"}, posture="Reactive", threshold=1),
        actions=[DoNothing()],
    )


def interval() -> IntervalSchedule:
    return IntervalSchedule(interval=timedelta(hours=1))


Spec = Callable[[Any, Ctx], Any]

SPECS: dict[str, Spec] = {
    # admin / root
    "api_healthcheck": lambda c, x: c.api_healthcheck(),
    "api_version": lambda c, x: c.api_version(),
    "client_version": lambda c, x: c.client_version(),
    "hello": lambda c, x: c.hello(),
    "raise_for_api_version_mismatch": lambda c, x: c.raise_for_api_version_mismatch(),
    "raise_for_api_version_mismatch_once": lambda c, x: c.raise_for_api_version_mismatch_once(),
    "request": lambda c, x: c.request("GET", "/flows/{id}", path_params={"id": x.id("flows:id")}),
    "read_server_default_result_storage": lambda c, x: c.read_server_default_result_storage(),
    "update_server_default_result_storage": lambda c, x: c.update_server_default_result_storage(x.new_block_document()),
    "clear_server_default_result_storage": lambda c, x: c.clear_server_default_result_storage(),
    # flows
    "create_flow": lambda c, x: c.create_flow(a_flow),
    "create_flow_from_name": lambda c, x: c.create_flow_from_name(x.unique("flow")),
    "read_flow": lambda c, x: c.read_flow(x.id("flows:id")),
    "read_flow_by_name": lambda c, x: c.read_flow_by_name(x["flow_name"]),
    "read_flows": lambda c, x: c.read_flows(),
    "delete_flow": lambda c, x: c.delete_flow(x.new_flow()),
    # flow runs
    "create_flow_run": lambda c, x: c.create_flow_run(a_flow),
    "read_flow_run": lambda c, x: c.read_flow_run(x.id("flow_runs:id")),
    "read_flow_runs": lambda c, x: c.read_flow_runs(),
    "count_flow_runs": lambda c, x: c.count_flow_runs(),
    "update_flow_run": lambda c, x: c.update_flow_run(x.id("flow_runs:id"), tags=["conformance"]),
    "update_flow_run_labels": lambda c, x: c.update_flow_run_labels(x.id("flow_runs:id"), {"conformance": "yes"}),
    "set_flow_run_name": lambda c, x: c.set_flow_run_name(x.id("flow_runs:id"), "renamed"),
    "set_flow_run_state": lambda c, x: c.set_flow_run_state(x.new_flow_run(), Pending()),
    "delete_flow_run": lambda c, x: c.delete_flow_run(x.new_flow_run()),
    "resume_flow_run": lambda c, x: c.resume_flow_run(x.new_flow_run()),
    "read_flow_run_state": lambda c, x: c.read_flow_run_state(x.id("flow_run_states:id")),
    "read_flow_run_states": lambda c, x: c.read_flow_run_states(x.id("flow_runs:id")),
    "create_flow_run_input": lambda c, x: c.create_flow_run_input(x.new_flow_run(), "key", "value"),
    "read_flow_run_input": lambda c, x: c.read_flow_run_input(x.new_flow_run(), "missing"),
    "delete_flow_run_input": lambda c, x: c.delete_flow_run_input(x.new_flow_run(), "missing"),
    "filter_flow_run_input": lambda c, x: c.filter_flow_run_input(x.new_flow_run(), "k", 10, set()),
    # task runs
    "create_task_run": lambda c, x: c.create_task_run(a_task, x.id("flow_runs:id"), x.unique("dyn")),
    "read_task_run": lambda c, x: c.read_task_run(x.id("task_runs:id")),
    "read_task_runs": lambda c, x: c.read_task_runs(),
    "read_task_run_states": lambda c, x: c.read_task_run_states(x.id("task_runs:id")),
    "set_task_run_name": lambda c, x: c.set_task_run_name(x.id("task_runs:id"), "renamed"),
    "set_task_run_state": lambda c, x: c.set_task_run_state(x.new_task_run(), Running(), force=True),
    "delete_task_run": lambda c, x: c.delete_task_run(x.new_task_run()),
    # logs, artifacts, events
    "create_logs": lambda c, x: c.create_logs(
        [LogCreate(name="conformance", level=20, message="m", timestamp=x["now"], flow_run_id=x.id("flow_runs:id"))]
    ),
    "read_logs": lambda c, x: c.read_logs(),
    "create_artifact": lambda c, x: c.create_artifact(
        ArtifactCreate(key=x.unique("artifact"), type="markdown", data="x")
    ),
    "read_artifacts": lambda c, x: c.read_artifacts(),
    "read_latest_artifacts": lambda c, x: c.read_latest_artifacts(),
    "update_artifact": lambda c, x: c.update_artifact(x.id("artifacts:id"), ArtifactUpdate(description="d")),
    "delete_artifact": lambda c, x: c.delete_artifact(x.new_artifact()),
    "read_events": lambda c, x: c.read_events(limit=5),
    "read_events_page": lambda c, x: c.read_events_page(
        str(c.api_url).rstrip("/") + "/events/filter/next?page-token=not-a-token"
    ),
    # deployments
    "create_deployment": lambda c, x: c.create_deployment(
        x.id("flows:id"), x.unique("deployment"), work_pool_name=x["work_pools:name"]
    ),
    "read_deployment": lambda c, x: c.read_deployment(x.id("deployments:id")),
    "read_deployment_by_name": lambda c, x: c.read_deployment_by_name(f"{x['flow_name']}/{x['deployment_name']}"),
    "read_deployments": lambda c, x: c.read_deployments(),
    "update_deployment": lambda c, x: c.update_deployment(x.id("deployments:id"), DeploymentUpdate(description="d")),
    "delete_deployment": lambda c, x: c.delete_deployment(x.new_deployment()),
    "pause_deployment": lambda c, x: c.pause_deployment(x.new_deployment()),
    "resume_deployment": lambda c, x: c.resume_deployment(x.new_deployment()),
    "set_deployment_paused_state": lambda c, x: c.set_deployment_paused_state(x.new_deployment(), True),
    "create_flow_run_from_deployment": lambda c, x: c.create_flow_run_from_deployment(x.id("deployments:id")),
    "create_deployment_schedules": lambda c, x: c.create_deployment_schedules(
        x.new_deployment(), [DeploymentScheduleCreate(schedule=interval(), active=False)]
    ),
    "read_deployment_schedules": lambda c, x: c.read_deployment_schedules(x.id("deployments:id")),
    "update_deployment_schedule": lambda c, x: (
        lambda d: c.update_deployment_schedule(d, x.new_schedule(d), active=False)
    )(x.new_deployment()),
    "delete_deployment_schedule": lambda c, x: (lambda d: c.delete_deployment_schedule(d, x.new_schedule(d)))(
        x.new_deployment()
    ),
    "get_scheduled_flow_runs_for_deployments": lambda c, x: c.get_scheduled_flow_runs_for_deployments(
        [x.id("deployments:id")]
    ),
    "create_deployment_branch": lambda c, x: c.create_deployment_branch(x.new_deployment(), "conformance-branch"),
    "apply_slas_for_deployment": lambda c, x: c.apply_slas_for_deployment(x.id("deployments:id"), []),
    # work pools, queues, workers
    "create_work_pool": lambda c, x: c.create_work_pool(WorkPoolCreate(name=x.unique("pool"), type="process")),
    "read_work_pool": lambda c, x: c.read_work_pool(x["work_pools:name"]),
    "read_work_pools": lambda c, x: c.read_work_pools(),
    "update_work_pool": lambda c, x: c.update_work_pool(x["work_pools:name"], WorkPoolUpdate(description="d")),
    "delete_work_pool": lambda c, x: c.delete_work_pool(x.new_pool()),
    "read_work_pool_concurrency_status": lambda c, x: c.read_work_pool_concurrency_status(x["work_pools:name"]),
    "get_scheduled_flow_runs_for_work_pool": lambda c, x: c.get_scheduled_flow_runs_for_work_pool(x["work_pools:name"]),
    "send_worker_heartbeat": lambda c, x: c.send_worker_heartbeat(x["work_pools:name"], "conformance-worker"),
    "read_workers_for_work_pool": lambda c, x: c.read_workers_for_work_pool(x["work_pools:name"]),
    "read_worker_metadata": lambda c, x: c.read_worker_metadata(),
    "create_work_queue": lambda c, x: c.create_work_queue(x.unique("queue"), work_pool_name=x["work_pools:name"]),
    "read_work_queue": lambda c, x: c.read_work_queue(x.id("work_queues:id")),
    "read_work_queue_by_name": lambda c, x: c.read_work_queue_by_name(
        x["queues:name"], work_pool_name=x["work_pools:name"]
    ),
    "read_work_queues": lambda c, x: c.read_work_queues(work_pool_name=x["work_pools:name"]),
    "read_work_queue_status": lambda c, x: c.read_work_queue_status(x.id("work_queues:id")),
    "read_work_queue_concurrency_status": lambda c, x: c.read_work_queue_concurrency_status(x.id("work_queues:id")),
    "update_work_queue": lambda c, x: c.update_work_queue(x.id("work_queues:id"), description="d"),
    "delete_work_queue_by_id": lambda c, x: c.delete_work_queue_by_id(x.new_queue()),
    "get_runs_in_work_queue": lambda c, x: c.get_runs_in_work_queue(x.id("work_queues:id")),
    "match_work_queues": lambda c, x: c.match_work_queues(["conformance"], work_pool_name=x["work_pools:name"]),
    # variables
    "create_variable": lambda c, x: c.create_variable(VariableCreate(name=x.unique("var").replace("-", "_"), value=1)),
    "read_variable_by_name": lambda c, x: c.read_variable_by_name(x.new_variable()),
    "read_variables": lambda c, x: c.read_variables(),
    "update_variable": lambda c, x: c.update_variable(VariableUpdate(name=x.new_variable(), value=2)),
    "delete_variable_by_name": lambda c, x: c.delete_variable_by_name(x.new_variable()),
    # concurrency limits (v2 "global" and v1 tag limits)
    "create_global_concurrency_limit": lambda c, x: c.create_global_concurrency_limit(
        GlobalConcurrencyLimitCreate(name=x.unique("limit"), limit=5)
    ),
    "read_global_concurrency_limit_by_name": lambda c, x: c.read_global_concurrency_limit_by_name(x.new_limit()),
    "read_global_concurrency_limits": lambda c, x: c.read_global_concurrency_limits(),
    "update_global_concurrency_limit": lambda c, x: c.update_global_concurrency_limit(
        x.new_limit(), GlobalConcurrencyLimitUpdate(limit=6)
    ),
    "delete_global_concurrency_limit_by_name": lambda c, x: c.delete_global_concurrency_limit_by_name(x.new_limit()),
    "upsert_global_concurrency_limit_by_name": lambda c, x: c.upsert_global_concurrency_limit_by_name(
        x.unique("limit"), 3
    ),
    "increment_concurrency_slots": lambda c, x: c.increment_concurrency_slots([x.new_limit()], 1, "concurrency"),
    "increment_concurrency_slots_with_lease": lambda c, x: c.increment_concurrency_slots_with_lease(
        [x.new_limit()], 1, "concurrency", 60
    ),
    "release_concurrency_slots": lambda c, x: c.release_concurrency_slots([x.new_limit()], 1, 1.0),
    "release_concurrency_slots_with_lease": lambda c, x: c.release_concurrency_slots_with_lease(
        (x.new_limit(), uuid.uuid4())[1]
    ),
    "renew_concurrency_lease": lambda c, x: c.renew_concurrency_lease((x.new_limit(), uuid.uuid4())[1], 60),
    "create_concurrency_limit": lambda c, x: c.create_concurrency_limit(x.unique("tag"), 5),
    "read_concurrency_limit_by_tag": lambda c, x: c.read_concurrency_limit_by_tag(x.new_tag_limit()),
    "read_concurrency_limits": lambda c, x: c.read_concurrency_limits(10, 0),
    "reset_concurrency_limit_by_tag": lambda c, x: c.reset_concurrency_limit_by_tag(x.new_tag_limit()),
    "delete_concurrency_limit_by_tag": lambda c, x: c.delete_concurrency_limit_by_tag(x.new_tag_limit()),
    "increment_v1_concurrency_slots": lambda c, x: c.increment_v1_concurrency_slots([x.new_tag_limit()], uuid.uuid4()),
    "decrement_v1_concurrency_slots": lambda c, x: c.decrement_v1_concurrency_slots(
        [x.new_tag_limit()], uuid.uuid4(), 1.0
    ),
    # automations
    "create_automation": lambda c, x: c.create_automation(automation(x.unique("automation"))),
    "read_automation": lambda c, x: c.read_automation(x.new_automation()),
    "read_automations": lambda c, x: c.read_automations(),
    "read_automations_by_name": lambda c, x: c.read_automations_by_name("conformance-automation"),
    "find_automation": lambda c, x: c.find_automation(x.new_automation()),
    "update_automation": lambda c, x: c.update_automation(x.new_automation(), automation("renamed")),
    "pause_automation": lambda c, x: c.pause_automation(x.new_automation()),
    "resume_automation": lambda c, x: c.resume_automation(x.new_automation()),
    "delete_automation": lambda c, x: c.delete_automation(x.new_automation()),
    "read_resource_related_automations": lambda c, x: c.read_resource_related_automations(
        f"prefect.deployment.{x['deployments:id']}"
    ),
    "delete_resource_owned_automations": lambda c, x: c.delete_resource_owned_automations(
        f"prefect.deployment.{x['deployments:id']}"
    ),
    # blocks
    "create_block_type": lambda c, x: c.create_block_type(
        BlockTypeCreate(name=x.unique("block-type"), slug=x.unique("slug"))
    ),
    "read_block_type_by_slug": lambda c, x: c.read_block_type_by_slug("conformance-missing-slug"),
    "read_block_types": lambda c, x: c.read_block_types(),
    "update_block_type": lambda c, x: c.update_block_type(x.new_block_type(), BlockTypeUpdate(description="d")),
    "delete_block_type": lambda c, x: c.delete_block_type(x.new_block_type()),
    "create_block_schema": lambda c, x: c.create_block_schema(
        BlockSchemaCreate(block_type_id=x.new_block_type(), fields={"properties": {}})
    ),
    "read_block_schemas": lambda c, x: c.read_block_schemas(),
    "read_block_schema_by_checksum": lambda c, x: c.read_block_schema_by_checksum("sha256:missing"),
    "get_most_recent_block_schema_for_block_type": lambda c, x: c.get_most_recent_block_schema_for_block_type(
        x.new_block_type()
    ),
    "create_block_document": lambda c, x: (
        lambda ids: c.create_block_document(
            BlockDocumentCreate(name=x.unique("doc"), block_type_id=ids[0], block_schema_id=ids[1], data={})
        )
    )(x.new_block_schema()),
    "read_block_document": lambda c, x: c.read_block_document(x.new_block_document()),
    "read_block_document_by_name": lambda c, x: c.read_block_document_by_name("missing", "conformance-missing-slug"),
    "read_block_documents": lambda c, x: c.read_block_documents(),
    "read_block_documents_by_type": lambda c, x: c.read_block_documents_by_type("conformance-missing-slug"),
    "update_block_document": lambda c, x: c.update_block_document(x.new_block_document(), BlockDocumentUpdate(data={})),
    "delete_block_document": lambda c, x: c.delete_block_document(x.new_block_document()),
}
