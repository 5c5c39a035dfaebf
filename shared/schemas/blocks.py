"""Block types, block schemas and block documents (Prefect 3.9.1 `schemas.core` / `schemas.actions`).

Field-for-field the reference's JSON: a block type is a kind of block (slug, docs, protected
flag), a block schema is one versioned JSON schema of a type (identified by checksum), and a
block document is a named (or anonymous) instance of a schema holding data, some of it secret.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from shared.schemas.base import ActionBaseModel, ObjectBaseModel
from shared.schemas.types import Name

DEFAULT_BLOCK_SCHEMA_VERSION = "non-versioned"

_LOWER_DASHES = re.compile(r"^[a-z0-9-]*$")


def _lowercase_dashes(label: str) -> Any:
    def check(value: str) -> str:
        if not _LOWER_DASHES.match(value):
            raise ValueError(f"{label} must only contain lowercase letters, numbers, and dashes.")
        return value

    return AfterValidator(check)


# Slugs and document names are parts of URLs (/block_types/slug/{slug}/block_documents/name/{name}).
BlockTypeSlug = Annotated[str, _lowercase_dashes("Block type slug")]
BlockDocumentName = Annotated[Name, _lowercase_dashes("Block document name")]
# The reference strips whitespace around stored URLs rather than validating them.
LaxUrl = Annotated[str, BeforeValidator(lambda value: str(value).strip())]


def _name_required_unless_anonymous(values: Any) -> Any:
    # Anonymous documents (nested blocks saved inline) may be created without a name.
    if isinstance(values, dict) and not values.get("is_anonymous") and not values.get("name"):
        raise ValueError("Names must be provided for block documents.")
    return values


class BlockType(ObjectBaseModel):
    name: Name = Field(description="A block type's name")
    slug: str = Field(description="A block type's slug")
    logo_url: LaxUrl | None = Field(default=None, description="Web URL for the block type's logo")
    documentation_url: LaxUrl | None = Field(default=None, description="Web URL for the block type's documentation")
    description: str | None = Field(
        default=None, description="A short blurb about the corresponding block's intended use"
    )
    code_example: str | None = Field(
        default=None, description="A code snippet demonstrating use of the corresponding block"
    )
    is_protected: bool = Field(default=False, description="Protected block types cannot be modified via API.")


class BlockTypeCreate(ActionBaseModel):
    name: Name = Field(description="A block type's name")
    slug: BlockTypeSlug = Field(description="A block type's slug")
    logo_url: str | None = Field(default=None, description="Web URL for the block type's logo")
    documentation_url: str | None = Field(default=None, description="Web URL for the block type's documentation")
    description: str | None = Field(
        default=None, description="A short blurb about the corresponding block's intended use"
    )
    code_example: str | None = Field(
        default=None, description="A code snippet demonstrating use of the corresponding block"
    )


class BlockTypeUpdate(ActionBaseModel):
    logo_url: str | None = None
    documentation_url: str | None = None
    description: str | None = None
    code_example: str | None = None


class BlockSchema(ObjectBaseModel):
    checksum: str = Field(description="The block schema's unique checksum")
    fields: dict[str, Any] = Field(default_factory=dict, description="The block schema's field schema")
    block_type_id: UUID | None = Field(description="A block type ID")
    block_type: BlockType | None = Field(default=None, description="The associated block type")
    capabilities: list[str] = Field(default_factory=list, description="A list of Block capabilities")
    version: str = Field(
        default=DEFAULT_BLOCK_SCHEMA_VERSION, description="Human readable identifier for the block schema"
    )


class BlockSchemaCreate(ActionBaseModel):
    fields: dict[str, Any] = Field(default_factory=dict, description="The block schema's field schema")
    block_type_id: UUID = Field(description="A block type ID")
    capabilities: list[str] = Field(default_factory=list, description="A list of Block capabilities")
    version: str = Field(
        default=DEFAULT_BLOCK_SCHEMA_VERSION, description="Human readable identifier for the block schema"
    )


class BlockDocument(ObjectBaseModel):
    name: Name | None = Field(
        default=None, description="The block document's name. Not required for anonymous block documents."
    )
    data: dict[str, Any] = Field(default_factory=dict, description="The block document's data")
    block_schema_id: UUID = Field(description="A block schema ID")
    block_schema: BlockSchema | None = Field(default=None, description="The associated block schema")
    block_type_id: UUID = Field(description="A block type ID")
    block_type_name: str | None = Field(default=None, description="The associated block type's name")
    block_type: BlockType | None = Field(default=None, description="The associated block type")
    block_document_references: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Record of the block document's references"
    )
    is_anonymous: bool = Field(
        default=False,
        description="Whether the block is anonymous (anonymous blocks are usually created by Prefect automatically)",
    )

    @model_validator(mode="before")
    @classmethod
    def _named_unless_anonymous(cls, values: Any) -> Any:
        return _name_required_unless_anonymous(values)


class BlockDocumentCreate(ActionBaseModel):
    name: BlockDocumentName | None = Field(
        default=None, description="The block document's name. Not required for anonymous block documents."
    )
    data: dict[str, Any] = Field(default_factory=dict, description="The block document's data")
    block_schema_id: UUID = Field(description="A block schema ID")
    block_type_id: UUID = Field(description="A block type ID")
    is_anonymous: bool = Field(
        default=False,
        description="Whether the block is anonymous (anonymous blocks are usually created by Prefect automatically)",
    )

    @model_validator(mode="before")
    @classmethod
    def _named_unless_anonymous(cls, values: Any) -> Any:
        return _name_required_unless_anonymous(values)


class BlockDocumentUpdate(ActionBaseModel):
    block_schema_id: UUID | None = Field(default=None, description="A block schema ID")
    data: dict[str, Any] = Field(default_factory=dict, description="The block document's data")
    merge_existing_data: bool = True


__all__ = [
    "DEFAULT_BLOCK_SCHEMA_VERSION",
    "BlockDocument",
    "BlockDocumentCreate",
    "BlockDocumentName",
    "BlockDocumentUpdate",
    "BlockSchema",
    "BlockSchemaCreate",
    "BlockType",
    "BlockTypeCreate",
    "BlockTypeSlug",
    "BlockTypeUpdate",
]
