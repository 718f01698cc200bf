"""resize=WxH, Wx or xH: scale the picture; the aspect is kept unless both sides are given."""

from collections.abc import Mapping, Sequence
from typing import ClassVar, Self

from runner.engine.ops.base import NOTHING_KNOWN, Limits, MediaKind, Operation, SourceFacts
from runner.engine.ops.params import Param
from runner.engine.ops.resize_operation import ResizeOperation
from service.kernel.errors import InvalidParameter

SYNTAX = "resize=WxH, Wx or xH in even pixels"
RESIZE = Param(
    # 16384: the largest side any of our encoders takes
    name="resize", type="size", minimum=2, maximum=16384, multiple_of=2,
    limit="max_output_side", example="1280x720",
    description="The new size in even pixels: WxH, or Wx or xH to keep the aspect.",
)  # fmt: skip


class Resize(ResizeOperation):
    """Sides are even because every video encoder here subsamples chroma by two; a side
    computed from the aspect is rounded to the nearest even number."""

    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    keeps_duration: ClassVar[bool] = True
    syntax: ClassVar[str] = SYNTAX
    description: ClassVar[str] = (
        "Scale the picture; the aspect is kept unless both sides are given."
    )
    example: ClassVar[str] = "resize=1280x"
    size_param: ClassVar[Param] = RESIZE
    parameters: ClassVar[tuple[Param, ...]] = (RESIZE,)
    width: int | None = RESIZE.field(optional=True)
    height: int | None = RESIZE.field(optional=True)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        width, height = cls.read_sides(value)
        if any(side is not None and side % 2 for side in (width, height)):
            raise InvalidParameter("resize", value, "a side is odd", accepted=SYNTAX)
        return cls(width=width, height=height)

    def check_in_edit(
        self, limits: Limits, *, later: Sequence[Operation], source: SourceFacts = NOTHING_KNOWN
    ) -> None:
        """Held as the plan holds the result (plan.py `_decide`): a still made of it (a
        thumbnail or frames after it) is written by Pillow, held to max_pixels; frames are
        encoded, held to the codecs' largest too, but for frames of the source's own size,
        whose packets the plan copies unless something else in the edit asks for a re-encode.
        Such a size (past the codecs' largest, within max_pixels: no source is larger) is
        refused once the source's size is known to be another; while it is not known (a
        workflow saved, a step after a session's step still to run), the plan judges it."""
        if self.width is None or self.height is None:
            return  # the other side is known once the source's shape gives it (plan.py)
        size = (self.width, self.height)
        if any(operation.produces is MediaKind.IMAGE for operation in later):
            problem = limits.oversized_still(self.width, self.height)
            accepted = f"a size of at most {limits.max_pixels:,} pixels a still"
        elif _may_be_the_sources(size, limits, source):
            return
        else:
            problem = limits.oversized_frames(self.width, self.height)
            accepted = f"a size of at most {limits.max_encoded_pixels:,} pixels a frame"
        if problem:
            raise InvalidParameter("resize", self.written_value(), problem, accepted=accepted)


def _may_be_the_sources(size: tuple[int, int], limits: Limits, source: SourceFacts) -> bool:
    """Whether frames of `size` may be the source's own, copied as they are: within max_pixels
    (as every source is), and the source's picture is of that size or of a size not known."""
    if size[0] * size[1] > limits.max_pixels:
        return False
    return source.width is None or source.height is None or (source.width, source.height) == size
