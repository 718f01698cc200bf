"""crop=x,y,w,h, which the image and the video engine both take, declared here once since the
two may not import each other: its rectangle parameter, how it is read from a query and
written back, and how it is checked against the limits and the picture's size, so both engines
refuse a crop in the same words. What differs between them (the examples, the smallest side,
how the pixels are cut) stays in each engine's crop: image/crop.py, video/geometry.py."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal, Self

from runner.engine.ops import grammar
from runner.engine.ops.base import Group, Limits, Operation, SourceFacts
from runner.engine.ops.params import Param
from service.kernel.errors import EditFailed, InvalidParameter

Box = tuple[int, int, int, int]  # a crop's x, y, width, height, in pixels


@dataclass(frozen=True, slots=True, kw_only=True)
class Rectangle:
    """crop=x,y,w,h: the whole parameter and its four parts, in pixels."""

    whole: Param
    x: Param
    y: Param
    width: Param
    height: Param

    def read(self, value: str, *, syntax: str) -> Box:
        """x, y, width and height from `x,y,w,h`; a part refused names itself."""
        texts = grammar.parts(self.whole.name, value, 4, syntax=syntax)
        x, y, width, height = (
            part.read_part(text, of=self.whole.name, whole=value)
            for part, text in zip((self.x, self.y, self.width, self.height), texts, strict=True)
        )
        return x, y, width, height


def rectangle(*, example: Box, min_side: int, description: str) -> Rectangle:
    """The crop rectangle, with sides of at least `min_side` pixels."""
    x, y = (
        Param(name=name, type="integer", minimum=0, description=text, example=str(value))
        for name, text, value in (
            ("x", "Left edge of the rectangle, in pixels from the left.", example[0]),
            ("y", "Top edge of the rectangle, in pixels from the top.", example[1]),
        )
    )
    width, height = (
        Param(
            name=name, type="integer", minimum=min_side, limit="max_output_side",
            example=str(value), description=f"{name.capitalize()} of the rectangle, in pixels.",
        )
        for name, value in (("width", example[2]), ("height", example[3]))
    )  # fmt: skip
    whole = Param(
        name="crop", type="box", parts=(x, y, width, height),
        example=",".join(str(value) for value in example), description=description,
    )  # fmt: skip
    return Rectangle(whole=whole, x=x, y=y, width=width, height=height)


def written_box(box: Box) -> str:
    """The rectangle as crop= writes it: `x,y,w,h`."""
    return ",".join(str(number) for number in box)


def crop_outside(box: Box, size: tuple[int, int]) -> InvalidParameter | None:
    """The refusal of a crop that reaches past an edge of a picture of `size` (width, height),
    naming the edges it passes and by how much; None when it fits. The image's and the video's
    crop both say it: as a 422 before the edit is queued, as its error when a size only known
    while running (after other operations) shows it."""
    x, y, width, height = box
    past = []
    if x + width > size[0]:
        past.append(f"the right edge (x + w = {x + width})")
    if y + height > size[1]:
        past.append(f"the bottom edge (y + h = {y + height})")
    if not past:
        return None
    return InvalidParameter(
        "crop", written_box(box),
        f"reaches past {' and '.join(past)} of the {size[0]}x{size[1]} picture",
        accepted=f"a rectangle inside it: x + w <= {size[0]} and y + h <= {size[1]}",
    )  # fmt: skip


def check_crop_fits(box: Box, facts: SourceFacts) -> None:
    """Refuse a crop past an edge of the picture as `facts` know it (unknown: not judged)."""
    if facts.width is not None and facts.height is not None:
        refusal = crop_outside(box, (facts.width, facts.height))
        if refusal is not None:
            raise refusal


class CropOperation(Operation):
    """The crop of either engine, but for what differs: an engine's crop is
    `class Crop(CropOperation, <its engine's operation>)`, sets `rectangle` (and `parameters`,
    `description`, `example` from it), redeclares the four fields with its rectangle's bounds
    (the smallest side is the engine's) and cuts the pixels, calling check_inside first."""

    op: Literal["crop"] = "crop"
    name: ClassVar[str] = "crop"
    syntax: ClassVar[str] = "crop=x,y,w,h (pixels: left, top, width, height)"
    group: ClassVar[Group] = "geometry"
    rectangle: ClassVar[Rectangle]
    # Redeclared by each engine's crop, in this order, with its rectangle's fields.
    x: int
    y: int
    width: int
    height: int

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        x, y, width, height = cls.rectangle.read(value, syntax=cls.syntax)
        return cls(x=x, y=y, width=width, height=height)

    def check_limits(self, limits: Limits) -> None:
        limits.check_sides("crop", written_box(self.box), width=self.width, height=self.height)

    def check_inside(self, size: tuple[int, int]) -> None:
        """Fail the edit when the crop reaches past a picture of `size` (width, height) only
        known while running, in the words of the 422 on_source gives before queueing."""
        if refusal := crop_outside(self.box, size):
            raise EditFailed(str(refusal))

    def on_source(self, facts: SourceFacts) -> SourceFacts:
        """A crop outside the picture as the operations before it leave it is refused before
        it is queued (an image's size is known until an operation changes it; a video's is
        followed through the crops and turns before it); then the engine says what is known
        after it."""
        check_crop_fits(self.box, facts)
        return super().on_source(facts)

    @property
    def box(self) -> Box:
        return self.x, self.y, self.width, self.height
