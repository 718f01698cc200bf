"""Every image operation, in the order they are documented."""

from runner.engine.image.color import Color
from runner.engine.image.crop import Crop
from runner.engine.image.filters import Blur, Sharpen
from runner.engine.image.flip import Flip
from runner.engine.image.format import Format
from runner.engine.image.headshot import Headshot
from runner.engine.image.opacity import Opacity
from runner.engine.image.overlay import Overlay
from runner.engine.image.pad import Pad
from runner.engine.image.resize import Resize
from runner.engine.image.rotate import Rotate
from runner.engine.image.text import Text
from runner.engine.ops.base import Operation

IMAGE_OPERATIONS: tuple[type[Operation], ...] = (
    Crop, Resize, Pad, Rotate, Flip, Opacity, Color, Blur, Sharpen, Overlay, Text, Headshot, Format,
)  # fmt: skip
