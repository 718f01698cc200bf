"""What image and video readers raise about damaged or hostile data, as opposed to trouble of
our own: read by the upload check (runner.engine.probe) and an edit's decoding
(runner.engine.image.decoding, runner.engine.video.probe), so that no such error reaches
either as one of ours (a 500, or a 503 retried)."""

import errno
import struct
import zlib
from pathlib import Path

# What Pillow's readers raise beside OSError: GIF's reader IndexError for a palette index past
# its table, TIFF's TypeError for a page without dimensions, AVIF's RuntimeError for what
# libavif cannot decode.
IMAGE_DAMAGE = (
    OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, RuntimeError,
    struct.error, zlib.error,
)  # fmt: skip
READ_BACK_BYTES = 1024 * 1024  # read at once when telling our disk's EIO from FFmpeg's


def said_of_the_data(error: BaseException, path: Path) -> bool:
    """Whether an EIO FFmpeg raised reading `path` is about the file's data, not our disk.
    Its demuxers say EIO where data ends or breaks short of what it promised (a Matroska file
    cut in its header, or with a damaged element size): ours only when the file cannot be
    read back whole, as our disk's trouble would not let it be."""
    if not (isinstance(error, OSError) and error.errno == errno.EIO):
        return False
    try:
        with path.open("rb") as handle:
            while handle.read(READ_BACK_BYTES):
                pass
    except OSError:
        return False
    return True
