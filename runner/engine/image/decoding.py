"""Reading an image file into a Picture: refused before decoding when too large, upright (EXIF
orientation), in a working mode (L, LA, RGB or RGBA), every frame of an animation or page of a
TIFF (all of one size), the ICC profile kept and every other piece of metadata left behind.
Whatever Pillow raises about damaged or hostile data becomes an EditFailed that says what to
do."""

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import ExifTags, Image, ImageFile, TiffImagePlugin, UnidentifiedImageError

from runner.engine.damage import IMAGE_DAMAGE
from runner.engine.frames import EDITED_PIXELS_PER_LIMIT, EDITED_TOGETHER, Frames, read_frames
from runner.engine.image import profiles
from runner.engine.image.encoding import ImageFormat
from runner.engine.image.engine import Frame, Picture, Size, with_alpha
from runner.engine.probe import IMAGE_FORMATS
from service.kernel.errors import EditFailed, from_the_system, reason

# Called with the upright size before any pixel is decoded: may refuse (raise), and may ask
# for a smaller decode by returning the size the edit needs at least.
Planner = Callable[[Size], Size | None]

WORKING_MODES = ("L", "LA", "RGB", "RGBA")
# The formats Pillow may read. Others are refused unread: some of its plugins hand the file to
# other programs (EPS to Ghostscript) or are rarely exercised against hostile input. JPEG's
# reader also opens MPO, the JPEG some cameras write. The formats an upload's check takes:
# nothing else reaches an edit.
READABLE = IMAGE_FORMATS
# What a source is written as when no format is asked for: its own format when it is one of
# ours (MPO is a camera's JPEG with extra pictures), PNG for anything else.
_WRITTEN_AS: dict[str, ImageFormat] = {
    "JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "WEBP": "webp", "AVIF": "avif", "GIF": "gif",
    "TIFF": "tiff",
}  # fmt: skip
# EXIF orientations 2-8, as the transposition that shows the picture upright.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90,
}  # fmt: skip
_QUARTER_TURNS = (5, 6, 7, 8)  # orientations that swap width and height
_SIXTEEN_BITS_TO_EIGHT = 1 / 256
_OTHER_MODES = {"1": "L", "F": "L", "La": "LA", "RGBa": "RGBA", "RGBX": "RGB"}
_DRAFTABLE_FORMATS = ("JPEG", "MPO")


@dataclass(frozen=True, slots=True)
class Source:
    picture: Picture
    format: ImageFormat  # what it is written as unless the edit says otherwise


def read(path: Path, *, max_pixels: int, plan: Planner, first_frame_only: bool = False) -> Source:
    """Decode `path`, refusing it before decoding when it holds more than `max_pixels` or when
    `plan` refuses its size. JPEG decodes at the smaller size `plan` may ask for. With
    `first_frame_only`, an animation's or a TIFF's first frame alone is read (an overlay's
    mark): the others are neither counted nor decoded."""
    what = f"the file {path.name}"
    with _explained(what, max_pixels=max_pixels), Image.open(path, formats=READABLE) as image:
        layout = Frames((image.size,)) if first_frame_only else _frames(image, path, what=what)
        size, frame_count = layout.sizes[0], layout.count  # a GIF's canvas as its frames grow it
        check_pixels(size, frames=frame_count, max_pixels=max_pixels, what="the image")
        orientation, written_as = _orientation(image), _WRITTEN_AS.get(image.format or "", "png")
        loop, profile = _loop(image, frame_count), image.info.get("icc_profile")
        wanted = plan(_upright_size(size, orientation))
        full_size = _draft(image, orientation, wanted) if wanted else None
        frames, durations = _decode(image, orientation, count=frame_count)
        picture = Picture(frames, durations, loop, profile, full_size)
        return Source(picture, written_as)


def _loop(image: Image.Image, frame_count: int) -> int | None:
    """How often the animation plays (0: forever; None: once). Pillow cannot read an AVIF's
    count, and libavif's encoders write "forever" unless told otherwise: so is it taken."""
    if image.format == "AVIF" and frame_count > 1:
        return 0
    loop: int | None = image.info.get("loop")
    return loop


def check_pixels(size: Size, *, frames: int, max_pixels: int, what: str) -> None:
    width, height = size
    if width * height > max_pixels:
        raise EditFailed(
            f"{what} is {width}x{height} ({mega(width * height)}), over the limit of "
            f"{mega(max_pixels)}; use a smaller image, or resize or crop it first"
        )
    budget = max_pixels * EDITED_PIXELS_PER_LIMIT
    if width * height * frames > budget:
        raise EditFailed(
            f"{what} has {frames} frames of {width}x{height} ({mega(width * height * frames)} "
            f"in all), over the limit of {mega(budget)} for an animation; "
            "use fewer or smaller frames"
        )


@contextmanager
def pixel_limit(max_pixels: int) -> Iterator[None]:
    """Make Pillow's own decompression-bomb guard (89 MP by default, refusing at twice that)
    agree with ours while an edit runs. Our check comes first with a clearer message; Pillow's
    catches what ours cannot see, such as a GIF frame larger than its canvas. Edits run one
    at a time in a child process, so changing the global affects nothing else."""
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


@contextmanager
def _explained(what: str, *, max_pixels: int) -> Iterator[None]:
    """Turn Pillow's errors about the data into EditFailed saying what went wrong with `what`.
    OSErrors from the system (from_the_system) are not the data's and pass through."""
    try:
        with warnings.catch_warnings():
            # Our own pixel check has already decided; Pillow's warning adds nothing.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except UnidentifiedImageError:
        raise EditFailed(
            f"{what} is not an image editroom can read; use JPEG, PNG, WebP, AVIF, GIF or TIFF"
        ) from None
    except Image.DecompressionBombError as exc:
        # Pillow refuses twice its limit (set to ours) as it opens, before our check runs.
        raise EditFailed(
            f"{what} is far over the limit of {mega(max_pixels)} ({exc}); use a smaller image"
        ) from None
    except IMAGE_DAMAGE as exc:
        if from_the_system(exc):
            raise
        raise EditFailed(
            f"{what} is damaged or truncated ({reason(exc)}); "
            "upload the original again or re-export it"
        ) from None


def mega(pixels: int) -> str:
    """Pixels as a message says them: 50 MP."""
    return f"{pixels / 1_000_000:.3g} MP"


def _orientation(image: ImageFile.ImageFile) -> int:
    """EXIF orientation. Reading it decodes a PNG, whose EXIF may follow the pixel data; JPEG,
    WebP and TIFF keep it in front."""
    value = image.getexif().get(ExifTags.Base.Orientation, 1)
    return value if value in _UPRIGHT else 1


def _draft(image: ImageFile.ImageFile, orientation: int, wanted: Size) -> Size | None:
    """Let JPEG decode at 1/2, 1/4 or 1/8 scale (DCT scaling, a fraction of the time) when the
    edit needs no more. Returns the upright full size if the scale was reduced."""
    if image.format not in _DRAFTABLE_FORMATS:
        return None
    full = _upright_size(image.size, orientation)
    image.draft(None, _upright_size(wanted, orientation))
    return full if _upright_size(image.size, orientation) != full else None


def _upright_size(size: Size, orientation: int) -> Size:
    return (size[1], size[0]) if orientation in _QUARTER_TURNS else size


def _frames(image: ImageFile.ImageFile, path: Path, *, what: str) -> Frames:
    """The frames an edit reads, from their headers: every frame of an animation or page of a
    TIFF, which must be of one size (operations change them all alike), or an MPO's first
    picture alone (the others are previews and depth maps)."""
    if image.format not in EDITED_TOGETHER:
        return Frames((image.size,))
    frames = read_frames(image, path, stop_after=None)
    if (unlike := frames.unlike_sizes()) is not None:
        raise EditFailed(f"{what} cannot be edited: {unlike}")
    return frames


def _decode(
    image: ImageFile.ImageFile, orientation: int, *, count: int
) -> tuple[tuple[Frame, ...], tuple[int, ...]]:
    profile = image.info.get("icc_profile")
    frames: list[Frame] = []
    durations: list[int] = []
    for index in range(count):
        image.seek(index)
        image.load()  # WebP and AVIF set the frame's duration while loading it
        durations.append(int(image.info.get("duration", 0)))
        working = _working(image, profile)
        if count > 1 and working is image:
            working = image.copy()  # the next frame is decoded into the same object
        frames.append(_plain(_upright(working, orientation)))
    return _one_mode(_one_size(frames)), tuple(durations)


def _working(frame: Frame, profile: bytes | None) -> Frame:
    """The frame in the mode operations work in; only 8 bits per channel survive."""
    mode = frame.mode
    if mode in WORKING_MODES:
        return frame
    if mode == "CMYK":
        return profiles.cmyk_to_rgb(frame, profile)
    if mode in ("P", "PA"):
        return frame.convert("RGBA" if frame.has_transparency_data else "RGB")
    if mode.startswith("I"):  # 16-bit PNG and TIFF greys
        return frame.convert("I").point(lambda value: value * _SIXTEEN_BITS_TO_EIGHT).convert("L")
    return frame.convert(_OTHER_MODES.get(mode, "RGB"))  # YCbCr, LAB, HSV and the like: RGB


def _upright(frame: Frame, orientation: int) -> Frame:
    return frame.transpose(_UPRIGHT[orientation]) if orientation in _UPRIGHT else frame


def _plain(frame: Frame) -> Frame:
    """The frame without its metadata: Pillow's savers fall back to a frame's `info` (and TIFF
    to its file's tags) for what the edit did not ask to keep."""
    if isinstance(frame, TiffImagePlugin.TiffImageFile):
        frame = frame.copy()
    frame.info = {}
    return frame


def _one_size(frames: list[Frame]) -> list[Frame]:
    """Pillow grows a GIF's canvas when a frame reaches past it, so the frames before come out
    smaller: each is set at the top left of the grown canvas (where Pillow grows it from),
    transparent around it. Operations and writers need frames of one size."""
    size = (max(frame.width for frame in frames), max(frame.height for frame in frames))
    return [frame if frame.size == size else _on_canvas(frame, size) for frame in frames]


def _on_canvas(frame: Frame, size: Size) -> Frame:
    framed = with_alpha(frame)
    canvas = Image.new(framed.mode, size)  # zero: transparent
    canvas.paste(framed, (0, 0))
    return canvas


def _one_mode(frames: list[Frame]) -> tuple[Frame, ...]:
    """GIF frames can differ (the first palette-opaque, a later one transparent): operations
    need one mode, the one that loses nothing."""
    modes = {frame.mode for frame in frames}
    if len(modes) == 1:
        return tuple(frames)
    colour = "RGB" if modes & {"RGB", "RGBA"} else "L"
    mode = colour + ("A" if modes & {"LA", "RGBA"} else "")
    return tuple(frame.convert(mode) for frame in frames)
