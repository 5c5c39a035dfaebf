"""Filter models (JSON-compatible with Prefect 3.9.1) that can also evaluate themselves.

Import from the module that defines a name (`from shared.schemas.filters.runs import FlowRunFilter`): this
package re-exports nothing, so a Lambda loads only the filters it uses (all of them plus the request bodies
were ~85 ms of every cold start that touched one, issue #13).
"""
