"""Filter models (JSON-compatible with Prefect 3.9.1) that can also evaluate themselves.

Import from here: `from shared.schemas.filters import FlowRunFilter, FilterContext, ...`.
"""

from shared.schemas.filters.artifacts import *  # noqa: F401,F403 - the package re-exports its modules' filters
from shared.schemas.filters.base import (  # noqa: F401 - the package re-exports its modules' filters
    FilterBaseModel,
    FilterContext,
    FilterNeedsContext,
    Hints,
    Operator,
    OperatorFilterBaseModel,
    merge_hints,
)
from shared.schemas.filters.bodies import *  # noqa: F401,F403 - the package re-exports its modules' filters
from shared.schemas.filters.deployments import *  # noqa: F401,F403 - the package re-exports its modules' filters
from shared.schemas.filters.logs import *  # noqa: F401,F403 - the package re-exports its modules' filters
from shared.schemas.filters.misc import *  # noqa: F401,F403 - the package re-exports its modules' filters
from shared.schemas.filters.runs import *  # noqa: F401,F403 - the package re-exports its modules' filters
