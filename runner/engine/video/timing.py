"""speed=F and fps=R: how fast the video plays, and how many frames a second it has."""

from collections.abc import Mapping
from fractions import Fraction
from typing import ClassVar, Literal, Self

from runner.engine.ops.base import Group, MediaKind, Operation
from runner.engine.ops.params import Param

MAX_RATE_DENOMINATOR = 1001  # 29.97 is 30000/1001
SPEED = Param(
    name="speed", type="number", minimum=0.25, maximum=4, example="2",
    description="How much faster it plays: 2 halves the duration, 0.5 doubles it.",
)  # fmt: skip
FPS = Param(
    name="fps", type="number", minimum=1, maximum=120, example="30",
    description="Frames per second of the result: frames are repeated or dropped to fit "
    "(a GIF's at most 50).",
)  # fmt: skip


class Speed(Operation):
    """The video's timestamps are divided by F (frames are kept, shown faster or slower);
    the sound is played at the same pace with its pitch kept (FFmpeg's atempo)."""

    op: Literal["speed"] = "speed"
    name: ClassVar[str] = "speed"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    syntax: ClassVar[str] = "speed=F, 0.25 to 4 (2: twice as fast)"
    description: ClassVar[str] = "Play faster or slower; the sound keeps its pitch."
    example: ClassVar[str] = "speed=2"
    group: ClassVar[Group] = "cut"
    once: ClassVar[bool] = True
    parameters: ClassVar[tuple[Param, ...]] = (SPEED,)
    factor: float = SPEED.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(factor=SPEED.read(value))


class Fps(Operation):
    op: Literal["fps"] = "fps"
    name: ClassVar[str] = "fps"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    keeps_duration: ClassVar[bool] = True
    syntax: ClassVar[str] = "fps=R, 1 to 120 frames per second (29.97 allowed)"
    description: ClassVar[str] = "Change the frame rate: frames are repeated or dropped."
    example: ClassVar[str] = "fps=15"
    group: ClassVar[Group] = "convert"
    once: ClassVar[bool] = True
    parameters: ClassVar[tuple[Param, ...]] = (FPS,)
    rate: float = FPS.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(rate=FPS.read(value))

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.rate).limit_denominator(MAX_RATE_DENOMINATOR)
