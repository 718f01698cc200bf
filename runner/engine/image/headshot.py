"""headshot[=PADDING]: a square crop centred on the largest frontal face, which OpenCV's
bundled Haar cascade finds. PADDING (default 0.4) is the room kept on each side of the face,
as a fraction of the face's size; the square is shifted, then shrunk, to stay in the image.
An animation is cropped where the face is in its first frame."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Box, Picture, Size
from runner.engine.ops.base import Group
from runner.engine.ops.params import Param
from service.kernel.errors import EditFailed

HEADSHOT = Param(
    name="headshot", type="number", default=0.4, minimum=0, maximum=3.0, example="0.4",
    description=(
        "Optional: the room kept on each side of the face, in face sizes. headshot alone "
        "uses the default."
    ),
)  # fmt: skip


class Headshot(ImageOperation):
    op: Literal["headshot"] = "headshot"
    name: ClassVar[str] = "headshot"
    syntax: ClassVar[str] = (
        f"headshot, or headshot=PADDING from 0 to {HEADSHOT.maximum:g} "
        f"(room around the face, in face sizes; default {HEADSHOT.default:g})"
    )
    description: ClassVar[str] = "A square crop centred on the largest frontal face."
    example: ClassVar[str] = "headshot"
    group: ClassVar[Group] = "geometry"
    parameters: ClassVar[tuple[Param, ...]] = (HEADSHOT,)
    padding: float = HEADSHOT.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        if not value.strip():
            return cls()
        return cls(padding=HEADSHOT.read(value))

    def output_size(self, size: Size) -> None:
        return None  # where the face is decides it; no larger than the image

    def apply(self, picture: Picture) -> Picture:
        # OpenCV loads where edits run (the sandbox preloads it), not in the API process.
        from runner.engine.image import faces

        face = faces.largest_face(picture.first)
        if face is None:
            raise EditFailed("no face found in the image; headshot needs a visible frontal face")
        box = square_around(face, padding=self.padding, within=picture.size)
        return picture.map(lambda frame: engine.crop(frame, box))


def square_around(face: Box, *, padding: float, within: Size) -> Box:
    """The square centred on `face` with `padding` face sizes on each side, moved (and if need
    be shrunk) to lie inside an image of size `within`."""
    left, top, right, bottom = face
    wanted = round(max(right - left, bottom - top) * (1 + 2 * padding))
    side = min(wanted, *within)
    x = _clamp(round((left + right - side) / 2), 0, within[0] - side)
    y = _clamp(round((top + bottom - side) / 2), 0, within[1] - side)
    return x, y, x + side, y + side


def _clamp(value: int, lowest: int, highest: int) -> int:
    return max(lowest, min(value, highest))
