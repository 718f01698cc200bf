"""overlay=MEDIA_ID, with overlay_gravity, overlay_scale, overlay_opacity and overlay_tile: lay
another image of the library over this one (a logo, a watermark).

The overlay's first frame is used (on every frame of an animation). overlay_scale is its width
as a fraction of the base image's width (its proportions kept); without it the overlay keeps
its own size, shrunk if need be to fit inside the base image. overlay_gravity places it (any
place, runner.engine.places: a position, a compass point or x:y; kept by the compass, as
resize's gravity is; default se, the bottom-right corner).
overlay_opacity multiplies its alpha. overlay_tile=true repeats it edge to edge over the whole
image, one copy at the gravity's place, for watermarks."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self
from uuid import UUID

from pydantic import field_validator

from runner.engine import places
from runner.engine.image import engine, gravity
from runner.engine.image.base import ImageOperation, Inputs
from runner.engine.image.engine import Picture, Size
from runner.engine.ops import shared_params
from runner.engine.ops.base import Group
from runner.engine.ops.params import Param
from runner.engine.places import Placed
from service.kernel.errors import InvalidParameter

OVERLAY = Param(
    name="overlay", type="uuid", example="0f8fad5b-d9cb-469f-a165-70867728950e",
    description="The id of the image (of this library) to lay over this one.",
)  # fmt: skip
# Kept by the compass (gravity.as_compass), as an image's gravity always has been: the default se.
OVERLAY_GRAVITY = shared_params.place(
    "overlay_gravity", default="se", example="0.1:0.85",
    description="Where the overlay goes, flush with the edges it points to",
)  # fmt: skip
OVERLAY_SCALE = shared_params.overlay_scale(surface="image")
OVERLAY_OPACITY = shared_params.OVERLAY_OPACITY
OVERLAY_TILE = Param(
    name="overlay_tile", type="boolean", default=False, example="true",
    description="Repeat the overlay over the whole image (a watermark).",
)  # fmt: skip
SYNTAX = (
    f"overlay=MEDIA_ID (an image), with overlay_gravity={places.SHORT_SYNTAX}, "
    "overlay_scale=0.01..1, overlay_opacity=0..1, overlay_tile=true|false"
)


class Overlay(ImageOperation):
    op: Literal["overlay"] = "overlay"
    name: ClassVar[str] = "overlay"
    syntax: ClassVar[str] = SYNTAX
    description: ClassVar[str] = "Lay another image over this one: a logo, or a tiled watermark."
    example: ClassVar[str] = (
        "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_gravity=se&overlay_scale=0.2"
        "&overlay_opacity=0.6"
    )
    group: ClassVar[Group] = "colour"
    parameters: ClassVar[tuple[Param, ...]] = (
        OVERLAY, OVERLAY_GRAVITY, OVERLAY_SCALE, OVERLAY_OPACITY, OVERLAY_TILE,
    )  # fmt: skip
    media: UUID
    gravity: Placed = OVERLAY_GRAVITY.field()
    scale: float | None = OVERLAY_SCALE.field()
    opacity: float = OVERLAY_OPACITY.field()
    tile: bool = OVERLAY_TILE.field()

    @field_validator("gravity")
    @classmethod
    def _by_the_compass(cls, place: str) -> str:
        return gravity.as_compass(place)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        try:
            media = UUID(value.strip())
        except ValueError:
            raise InvalidParameter("overlay", value, "not a media id", accepted=SYNTAX) from None
        return cls(
            media=media,
            gravity=OVERLAY_GRAVITY.modifier(modifiers),
            scale=OVERLAY_SCALE.modifier(modifiers),
            opacity=OVERLAY_OPACITY.modifier(modifiers),
            tile=OVERLAY_TILE.modifier(modifiers),
        )

    def media_references(self) -> tuple[UUID, ...]:
        return (self.media,)

    def apply(self, picture: Picture) -> Picture:
        raise NotImplementedError("overlay reads another image: the pipeline calls apply_with")

    def apply_with(self, picture: Picture, inputs: Inputs) -> Picture:
        mark = inputs.first_frame(self.media)
        size = self._mark_size(mark.size, picture.size)
        mark = engine.fade(engine.resize(mark, size), self.opacity)
        at = self._corner(size, picture.size)
        # Made once for the picture: an animation's frames are all of its size.
        if self.tile:
            layer = engine.tiled_layer(mark, picture.size, at=at)
        else:
            layer = engine.mark_layer(mark, picture.size, at=at)
        return picture.map(lambda frame: engine.composited(frame, layer))

    def _mark_size(self, mark: Size, base: Size) -> Size:
        scale = self.scale * base[0] / mark[0] if self.scale else 1.0
        fits = min(scale, base[0] / mark[0], base[1] / mark[1])
        return max(1, round(mark[0] * fits)), max(1, round(mark[1] * fits))

    def _corner(self, mark: Size, base: Size) -> tuple[int, int]:
        """Where the mark's top-left corner goes (a tiled one's copy at the gravity's place)."""
        focus = places.at(self.gravity)
        x, y = (gravity.placed(base[i] - mark[i], focus[i]) for i in (0, 1))
        return x, y
