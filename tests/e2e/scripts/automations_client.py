"""The real prefect client manages automations: SDK CRUD, `deploy`-style triggers
(`to_deployment(triggers=...).apply()` twice: the redeploy replaces the owned automation).

Prints one JSON document (last line) for the test to assert on.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

from prefect import flow, get_client
from prefect.automations import Automation, DoNothing, EventTrigger, Posture
from prefect.events import DeploymentEventTrigger


@flow
def triggered_flow(x: int = 1) -> int:
    return x


async def deploy_twice(tag: str) -> dict[str, object]:
    deployment_id = None
    for _ in range(2):
        deployment = await triggered_flow.to_deployment(
            f"trig-{tag}", triggers=[DeploymentEventTrigger(expect={f"test.{tag}.go"}, parameters={"x": 5})]
        )
        deployment_id = await deployment.apply()
    async with get_client() as client:
        related = await client.read_resource_related_automations(f"prefect.deployment.{deployment_id}")
    return {
        "deployment_id": str(deployment_id),
        "related": [{"name": a.name, "actions": [a_.model_dump(mode="json") for a_ in a.actions]} for a in related],
    }


def main(tag: str) -> None:
    out: dict[str, object] = {}
    created = Automation(
        name=f"sdk-{tag}",
        trigger=EventTrigger(
            expect={"x.y"}, posture=Posture.Reactive, match={"prefect.resource.id": "r.*"}, threshold=2, within=30
        ),
        actions=[DoNothing()],
    ).create()
    read = Automation.read(id=created.id)
    out["read"] = {
        "name": read.name,
        "threshold": read.trigger.threshold,
        "within": read.trigger.within.total_seconds(),
    }
    read.description = "changed"
    read.update()
    out["updated_description"] = Automation.read(id=created.id).description
    out["by_name"] = str(Automation.read(name=f"sdk-{tag}").id) == str(created.id)
    created.disable()
    out["disabled"] = Automation.read(id=created.id).enabled
    created.enable()
    out["enabled_again"] = Automation.read(id=created.id).enabled
    out["deleted"] = created.delete()
    out["deploy"] = asyncio.run(deploy_twice(tag))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else uuid.uuid4().hex[:8])
