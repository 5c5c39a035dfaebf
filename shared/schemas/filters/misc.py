"""Filters for variables and blocks (kept small: same predicate helpers as the run filters)."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from pydantic import Field

from shared.schemas.filters.base import (
    FilterBaseModel,
    FilterContext,
    Hints,
    LeafCounting,
    OperatorFilterBaseModel,
    has_all,
    ilike_contains,
    is_empty,
    is_in,
)


def _get(obj: Any, attr: str) -> Any:
    return getattr(obj, attr, None)


class _AnyAttr(FilterBaseModel):
    """attr in any_; subclasses name the attribute in _attr."""

    _attr: ClassVar[str] = ""

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        any_ = getattr(self, "any_", None)
        return [] if any_ is None else [is_in(_get(obj, self._attr), any_)]

    def _own_hints(self) -> list[Hints]:
        any_ = getattr(self, "any_", None)
        return [] if any_ is None else [{self._attr: list(any_)}]


class _NameAnyLike(_AnyAttr):
    _attr: ClassVar[str] = "name"
    any_: list[str] | None = None
    like_: str | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        checks = super()._checks(obj, ctx)
        if self.like_:
            checks.append(ilike_contains(_get(obj, "name"), self.like_))
        return checks


# --- variables -----------------------------------------------------------------------


class VariableFilterId(_AnyAttr):
    _attr: ClassVar[str] = "id"
    any_: list[UUID] | None = None


class VariableFilterName(_NameAnyLike):
    """name in any_, or ILIKE %like_%."""


class VariableFilterTags(LeafCounting, OperatorFilterBaseModel):
    _criteria_fields: ClassVar[tuple[str, ...]] = ("all_", "is_null_")
    all_: list[str] | None = None
    is_null_: bool | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        tags = _get(obj, "tags")
        checks = []
        if self.all_:
            checks.append(has_all(tags, self.all_))
        if self.is_null_ is not None:
            checks.append(is_empty(tags) == self.is_null_)
        return checks

    def _own_hints(self) -> list[Hints]:
        return []


class VariableFilter(OperatorFilterBaseModel):
    id: VariableFilterId | None = None
    name: VariableFilterName | None = None
    tags: VariableFilterTags | None = None


# --- blocks ---------------------------------------------------------------------------


class BlockTypeFilterName(FilterBaseModel):
    like_: str | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return [ilike_contains(_get(obj, "name"), self.like_)] if self.like_ else []


class BlockTypeFilterSlug(_AnyAttr):
    _attr: ClassVar[str] = "slug"
    any_: list[str] | None = None


class BlockTypeFilter(FilterBaseModel):
    name: BlockTypeFilterName | None = None
    slug: BlockTypeFilterSlug | None = None


class BlockSchemaFilterBlockTypeId(_AnyAttr):
    _attr: ClassVar[str] = "block_type_id"
    any_: list[UUID] | None = None


class BlockSchemaFilterId(_AnyAttr):
    _attr: ClassVar[str] = "id"
    any_: list[UUID] | None = None


class BlockSchemaFilterCapabilities(FilterBaseModel):
    all_: list[str] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return [has_all(_get(obj, "capabilities"), self.all_)] if self.all_ else []


class BlockSchemaFilterVersion(_AnyAttr):
    _attr: ClassVar[str] = "version"
    any_: list[str] | None = None


class BlockSchemaFilter(OperatorFilterBaseModel):
    block_type_id: BlockSchemaFilterBlockTypeId | None = None
    block_capabilities: BlockSchemaFilterCapabilities | None = None
    id: BlockSchemaFilterId | None = None
    version: BlockSchemaFilterVersion | None = None


class BlockDocumentFilterIsAnonymous(FilterBaseModel):
    eq_: bool | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        if self.eq_ is None:
            return []
        return [bool(_get(obj, "is_anonymous")) == self.eq_]


class BlockDocumentFilterBlockTypeId(_AnyAttr):
    _attr: ClassVar[str] = "block_type_id"
    any_: list[UUID] | None = None


class BlockDocumentFilterId(_AnyAttr):
    _attr: ClassVar[str] = "id"
    any_: list[UUID] | None = None


class BlockDocumentFilterName(_NameAnyLike):
    """name in any_, or ILIKE %like_%."""


class BlockDocumentFilter(OperatorFilterBaseModel):
    id: BlockDocumentFilterId | None = None
    # By default anonymous (unnamed, inline) block documents are hidden, as the reference.
    is_anonymous: BlockDocumentFilterIsAnonymous | None = Field(
        default_factory=lambda: BlockDocumentFilterIsAnonymous(eq_=False)
    )
    block_type_id: BlockDocumentFilterBlockTypeId | None = None
    name: BlockDocumentFilterName | None = None


__all__ = [
    "BlockDocumentFilter",
    "BlockDocumentFilterBlockTypeId",
    "BlockDocumentFilterId",
    "BlockDocumentFilterIsAnonymous",
    "BlockDocumentFilterName",
    "BlockSchemaFilter",
    "BlockSchemaFilterBlockTypeId",
    "BlockSchemaFilterCapabilities",
    "BlockSchemaFilterId",
    "BlockSchemaFilterVersion",
    "BlockTypeFilter",
    "BlockTypeFilterName",
    "BlockTypeFilterSlug",
    "VariableFilter",
    "VariableFilterId",
    "VariableFilterName",
    "VariableFilterTags",
]
