"""Every video operation, in the order they are documented."""

from runner.ops.base import Operation
from runner.video.concat import Concat
from runner.video.convert import Format
from runner.video.frames import Frames
from runner.video.resize import Resize
from runner.video.thumbnail import Thumbnail
from runner.video.trim import Trim

VIDEO_OPERATIONS: tuple[type[Operation], ...] = (Trim, Format, Resize, Concat, Thumbnail, Frames)
