"""Every video operation, in the order they are documented."""

from runner.engine.ops.base import Operation
from runner.engine.video.concat import Concat
from runner.engine.video.convert import Format
from runner.engine.video.frames import Frames
from runner.engine.video.resize import Resize
from runner.engine.video.thumbnail import Thumbnail
from runner.engine.video.trim import Trim

VIDEO_OPERATIONS: tuple[type[Operation], ...] = (Trim, Format, Resize, Concat, Thumbnail, Frames)
