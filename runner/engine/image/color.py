"""color=brightness:1.2,contrast:0.9,saturation:0,grayscale,sepia,invert: any of these, in the
order written. Factors run from 0 to 5, 1 leaving the image as it was: brightness 0 is black,
contrast 0 is flat grey, saturation 0 is grey. Alpha is left as it was."""

from collections.abc import Callable, Mapping
from typing import ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Frame, Picture
from runner.engine.ops.base import Group
from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter

Effect = Literal["brightness", "contrast", "saturation", "grayscale", "sepia", "invert"]
_ADJUSTMENTS: dict[str, Callable[[Frame, float], Frame]] = {
    "brightness": engine.brightness,
    "contrast": engine.contrast,
    "saturation": engine.saturation,
}
_FILTERS: dict[str, Callable[[Frame], Frame]] = {
    "grayscale": engine.grayscale,
    "sepia": engine.sepia,
    "invert": engine.invert,
}
EFFECTS: tuple[Effect, ...] = (
    "brightness",
    "contrast",
    "saturation",
    "grayscale",
    "sepia",
    "invert",
)
EFFECT = Param(
    name="effect", type="choice", choices=EFFECTS, example="brightness",
    description="brightness, contrast and saturation take a factor; the others none.",
)  # fmt: skip
FACTOR = Param(
    name="factor", type="number", default=None, minimum=0, maximum=5.0, example="1.2",
    description="After a colon: 1 leaves the image as it was, 0 is black, flat grey or grey.",
)  # fmt: skip
MAX_STEPS = 12  # more says nothing a shorter list cannot
SYNTAX = (
    "a comma-separated list of brightness:F, contrast:F, saturation:F (F from 0 to "
    f"{FACTOR.maximum:g}, 1 = unchanged), grayscale, sepia, invert; at most {MAX_STEPS}"
)
COLOR = Param(
    name="color", type="list", max_length=MAX_STEPS, parts=(EFFECT, FACTOR),
    example="brightness:1.2,contrast:0.9,grayscale",
    description="Colour effects, applied in the order written: EFFECT or EFFECT:FACTOR.",
)  # fmt: skip


class ColorStep(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    effect: Effect = EFFECT.field()
    factor: float | None = FACTOR.field()

    @model_validator(mode="after")
    def _factor_where_it_belongs(self) -> Self:
        if (self.effect in _ADJUSTMENTS) != (self.factor is not None):
            raise ValueError(f"{', '.join(_ADJUSTMENTS)} take a factor; the others take none")
        return self

    def written(self) -> str:
        """EFFECT or EFFECT:FACTOR, as the query string has it."""
        if self.factor is None:
            return self.effect
        return f"{self.effect}:{FACTOR.write((self.factor,))}"

    def __call__(self, frame: Frame) -> Frame:
        if self.factor is None:
            return _FILTERS[self.effect](frame)
        return _ADJUSTMENTS[self.effect](frame, self.factor)


class Color(ImageOperation):
    op: Literal["color"] = "color"
    name: ClassVar[str] = "color"
    syntax: ClassVar[str] = f"color={SYNTAX}"
    description: ClassVar[str] = "Adjust brightness, contrast and saturation, or apply filters."
    example: ClassVar[str] = "color=brightness:1.2,contrast:0.9,grayscale"
    group: ClassVar[Group] = "colour"
    parameters: ClassVar[tuple[Param, ...]] = (COLOR,)
    steps: tuple[ColorStep, ...] = Field(min_length=1, max_length=MAX_STEPS)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        items = [item.strip() for item in value.split(",")]
        if not all(items) or len(items) > MAX_STEPS:
            raise InvalidParameter("color", value, "not a list of effects", accepted=SYNTAX)
        return cls(steps=tuple(_step(item, value) for item in items))

    def query_items(self) -> list[tuple[str, str]]:
        return [(COLOR.name, ",".join(step.written() for step in self.steps))]

    def apply(self, picture: Picture) -> Picture:
        return picture.map(self._change)

    def _change(self, frame: Frame) -> Frame:
        for step in self.steps:
            frame = step(frame)
        return frame


def _step(item: str, whole: str) -> ColorStep:
    """One EFFECT or EFFECT:FACTOR of the `whole` value, which a refusal shows."""
    name, colon, factor = item.partition(":")
    effect: Effect = EFFECT.read_part(name, of="color", whole=whole)
    takes_factor = effect in _ADJUSTMENTS
    if takes_factor != bool(colon):
        problem = f"{effect} needs a factor" if takes_factor else f"{effect} takes no factor"
        raise InvalidParameter("color", whole, f"{item!r}: {problem}", accepted=SYNTAX)
    if not takes_factor:
        return ColorStep(effect=effect)
    return ColorStep(
        effect=effect, factor=FACTOR.read_part(factor, of="color", whole=whole, part=effect)
    )
