"""What every operation is: a frozen pydantic model with its parameter name, the media kind it
applies to, the modifiers that refine it, and how to read it from a query-string value."""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


class Operation(BaseModel):
    """One step of an edit. Subclasses set the class variables and `op: Literal[name]`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: str

    name: ClassVar[str]
    kind: ClassVar[MediaKind]
    syntax: ClassVar[str]  # what the query-string value looks like, e.g. "x,y,w,h"
    modifiers: ClassVar[tuple[str, ...]] = ()  # parameters that refine it, e.g. ("fit",)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        """Read the operation from its query parameter's value and its modifiers' values.

        Raise service.errors.InvalidParameter naming the parameter, the value and what is
        accepted; the helpers of runner.ops.grammar do.
        """
        raise NotImplementedError

    def media_references(self) -> tuple[UUID, ...]:
        """Other media this operation reads (concat); the runner fetches them first."""
        return ()

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
