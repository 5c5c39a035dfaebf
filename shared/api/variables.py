"""/variables routes (Prefect 3.9.1 `server/api/variables.py` compatible)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Body, Path, status

from shared.api.dependencies import LimitBody
from shared.schemas.filters.misc import VariableFilter
from shared.schemas.sorting import VariableSort
from shared.schemas.variables import Variable, VariableCreate, VariableUpdate
from shared.storage import variables as variable_store
from shared.storage.errors import ObjectNotFound

router = APIRouter(prefix="/variables", tags=["Variables"])


@router.post(
    "/",
    status_code=status.HTTP_201_CREATED,
    description="Create a variable. Names are unique (409 when taken); the value is any JSON of at most 5000 characters.",
)
def create_variable(variable: VariableCreate) -> Variable:
    return variable_store.create(variable)


@router.get("/{id:uuid}", description="Read a variable by id.")
def read_variable(variable_id: UUID = Path(..., alias="id")) -> Variable:
    variable = variable_store.read(variable_id)
    if variable is None:
        raise ObjectNotFound(variable_store.NOT_FOUND)
    return variable


@router.get("/name/{name:str}", description="Read a variable by name.")
def read_variable_by_name(name: str = Path(...)) -> Variable:
    variable = variable_store.read_by_name(name)
    if variable is None:
        raise ObjectNotFound(variable_store.NOT_FOUND)
    return variable


@router.post("/filter", description="Query for variables, by default in name order.")
def read_variables(
    limit: int = LimitBody(),
    offset: int = Body(0, ge=0),
    variables: VariableFilter | None = None,
    sort: VariableSort = Body(VariableSort.NAME_ASC),
) -> list[Variable]:
    return variable_store.filter_variables(variables, sort, offset, limit)


@router.post("/count", description="Count variables matching a filter.")
def count_variables(variables: VariableFilter | None = Body(None, embed=True)) -> int:
    return variable_store.count(variables)


@router.patch("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT, description="Update a variable by id.")
def update_variable(variable: VariableUpdate, variable_id: UUID = Path(..., alias="id")) -> None:
    variable_store.update(variable_id, variable)


@router.patch("/name/{name:str}", status_code=status.HTTP_204_NO_CONTENT, description="Update a variable by name.")
def update_variable_by_name(variable: VariableUpdate, name: str = Path(...)) -> None:
    variable_store.update_by_name(name, variable)


@router.delete("/{id:uuid}", status_code=status.HTTP_204_NO_CONTENT, description="Delete a variable by id.")
def delete_variable(variable_id: UUID = Path(..., alias="id")) -> None:
    variable_store.delete(variable_id)


@router.delete("/name/{name:str}", status_code=status.HTTP_204_NO_CONTENT, description="Delete a variable by name.")
def delete_variable_by_name(name: str = Path(...)) -> None:
    variable_store.delete_by_name(name)
