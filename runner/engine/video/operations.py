"""Every video operation, in the order they are documented."""

from runner.engine.ops.base import Operation
from runner.engine.video.concat import Concat
from runner.engine.video.convert import Format
from runner.engine.video.frames import Frames
from runner.engine.video.geometry import Crop, Flip, Rotate
from runner.engine.video.marks import Overlay, Text
from runner.engine.video.quality import Bitrate, Crf, Preset
from runner.engine.video.resize import Resize
from runner.engine.video.sound import Audio, Mute, Volume
from runner.engine.video.thumbnail import Thumbnail
from runner.engine.video.timing import Fps, Speed
from runner.engine.video.trim import Trim

VIDEO_OPERATIONS: tuple[type[Operation], ...] = (
    Trim, Format, Crf, Bitrate, Preset, Resize, Crop, Rotate, Flip, Text, Overlay, Speed, Fps,
    Mute, Volume, Audio, Concat, Thumbnail, Frames,
)  # fmt: skip
