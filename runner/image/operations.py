"""Every image operation, in the order they are documented."""

from runner.image.color import Color
from runner.image.crop import Crop
from runner.image.flip import Flip
from runner.image.format import Format
from runner.image.headshot import Headshot
from runner.image.opacity import Opacity
from runner.image.resize import Resize
from runner.image.rotate import Rotate
from runner.image.text import Text
from runner.ops.base import Operation

IMAGE_OPERATIONS: tuple[type[Operation], ...] = (
    Crop, Resize, Rotate, Flip, Opacity, Color, Text, Headshot, Format,
)  # fmt: skip
