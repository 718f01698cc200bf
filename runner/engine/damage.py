"""What Pillow and its format plugins raise about damaged or hostile image data, OSError aside:
one list, read by the upload check (runner.engine.probe) and an edit's decoding
(runner.engine.image.decoding), so that no such error reaches either as one of ours (a 500)."""

import struct
import zlib

# GIF's reader raises IndexError for a palette index past its table, TIFF's TypeError for a
# page without dimensions, AVIF's RuntimeError for what libavif cannot decode.
IMAGE_DAMAGE = (
    OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, RuntimeError,
    struct.error, zlib.error,
)  # fmt: skip
