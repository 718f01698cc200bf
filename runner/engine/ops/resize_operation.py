"""resize=WxH, Wx or xH, which the image and the video engine both take, declared here once
since the two may not import each other: a width, a height or both (refused without either, as
JSON; the query's grammar refuses it as it reads), and held to the output limit in the same
words. What differs between them (the sides' bounds, a video's even sides, the image's fit and
other modifiers, how the pixels are scaled) stays in each engine's resize: image/resize.py,
video/resize.py."""

from typing import ClassVar, Literal, Self

from pydantic import model_validator

from runner.engine.ops.base import Group, Limits, Operation
from runner.engine.ops.params import Param


class ResizeOperation(Operation):
    """The resize of either engine, but for what differs: an engine's resize is
    `class Resize(ResizeOperation, <its engine's operation>)`, sets `size_param` (its resize
    parameter, a size), redeclares width and height with that parameter's bounds, reads them
    in from_query with read_sides, and adds its own limits to check_limits (those that depend on
    the rest of the edit to check_in_edit, as the video's resize does)."""

    op: Literal["resize"] = "resize"
    name: ClassVar[str] = "resize"
    group: ClassVar[Group] = "geometry"
    size_param: ClassVar[Param]
    # Redeclared by each engine's resize, in this order, with its sides' bounds.
    width: int | None
    height: int | None

    @model_validator(mode="after")
    def _a_side_is_given(self) -> Self:
        if self.width is None and self.height is None:
            raise ValueError("give a width, a height or both")
        return self

    @classmethod
    def read_sides(cls, value: str) -> tuple[int | None, int | None]:
        """The width and the height of resize=VALUE, either left out (None), not both."""
        sides: tuple[int | None, int | None] = cls.size_param.read(value)
        return sides

    def check_limits(self, limits: Limits) -> None:
        written = self.written_value()  # WxH, Wx or xH
        limits.check_sides("resize", written, width=self.width, height=self.height)
