"""Writing a Picture in one of the output formats: each gets the modes it can hold (alpha
flattened onto white for JPEG, on-or-off transparency for GIF), animations keep their frames,
durations and loop wherever the format can animate, and the ICC profile is written when it
still describes the pixels. No other metadata is written."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from runner.engine.image import profiles
from runner.engine.image.engine import Frame, Picture, has_alpha
from service.kernel.errors import EditFailed, from_the_system, reason

ImageFormat = Literal["jpeg", "png", "webp", "avif", "gif", "tiff"]
FORMATS: tuple[ImageFormat, ...] = ("jpeg", "png", "webp", "avif", "gif", "tiff")
LOSSY_FORMATS: tuple[ImageFormat, ...] = ("jpeg", "webp", "avif")
DEFAULT_QUALITY: dict[ImageFormat, int] = {"jpeg": 85, "webp": 80, "avif": 70}
EXTENSIONS: dict[ImageFormat, str] = {
    "jpeg": "jpg", "png": "png", "webp": "webp", "avif": "avif", "gif": "gif", "tiff": "tiff",
}  # fmt: skip
BACKGROUND_RGB = (255, 255, 255)  # what transparency becomes in JPEG, which has no alpha
GIF_OPAQUE_FROM_ALPHA = 128  # GIF alpha is on or off: at least half opaque counts as opaque
TIFF_COMPRESSION = "tiff_adobe_deflate"  # lossless, and read by every TIFF reader
_PILLOW_NAMES: dict[ImageFormat, str] = {
    "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF", "gif": "GIF", "tiff": "TIFF",
}  # fmt: skip
_GIF_RESTORE_BACKGROUND = 2  # disposal: clear each frame, so transparency never shows the last


@dataclass(frozen=True, slots=True)
class Encoding:
    format: ImageFormat
    quality: int | None = None  # lossy formats only; None means DEFAULT_QUALITY


def write(picture: Picture, target: Path, encoding: Encoding) -> None:
    """Write the picture at `target`; a failed encode leaves no file behind. JPEG, which
    cannot animate, keeps an animation's first frame."""
    kept = picture.frames[:1] if encoding.format == "jpeg" else picture.frames
    frames = [_storable(frame, encoding.format) for frame in kept]
    partial = target.with_name(f".{target.name}.partial")
    try:
        frames[0].save(
            partial, _PILLOW_NAMES[encoding.format], **_options(picture, frames, encoding)
        )
        partial.replace(target)
    except (OSError, ValueError) as exc:
        if from_the_system(exc):
            raise  # the system's, not the picture's: the sandbox says whether to retry
        raise EditFailed(
            f"the result could not be written as {encoding.format}: {reason(exc)}"
        ) from None
    finally:
        partial.unlink(missing_ok=True)


def _storable(frame: Frame, format: ImageFormat) -> Frame:
    if format == "jpeg":
        return _flattened(frame) if has_alpha(frame) else frame
    if format in ("webp", "avif") and frame.mode in ("L", "LA"):
        return frame.convert("RGBA" if has_alpha(frame) else "RGB")
    if format == "gif" and has_alpha(frame):
        return _binary_alpha(frame)
    return frame


def _flattened(frame: Frame) -> Frame:
    base = Image.new("RGBA", frame.size, (*BACKGROUND_RGB, 255))
    base.alpha_composite(frame.convert("RGBA"))
    return base.convert(frame.mode[:-1])


def _binary_alpha(frame: Frame) -> Frame:
    """RGBA whose every pixel is opaque or fully transparent, and transparent pixels all one
    colour: Pillow's GIF palette then has exactly one transparent entry."""
    rgba = frame.convert("RGBA")
    mask = rgba.getchannel("A").point(lambda a: 255 if a >= GIF_OPAQUE_FROM_ALPHA else 0)
    rgba.putalpha(mask)
    return Image.composite(rgba, Image.new("RGBA", frame.size), mask)


def _options(picture: Picture, frames: list[Frame], encoding: Encoding) -> dict[str, Any]:
    format = encoding.format
    options: dict[str, Any] = {}
    if format in LOSSY_FORMATS:
        options["quality"] = encoding.quality or DEFAULT_QUALITY[format]
    if format == "tiff":
        options["compression"] = TIFF_COMPRESSION
    profile = picture.icc_profile
    if profile and format != "gif" and profiles.fits(profile, frames[0].mode):
        options["icc_profile"] = profile
    if len(frames) > 1:
        options.update(_animation(picture, frames, format))
    return options


def _animation(picture: Picture, frames: list[Frame], format: ImageFormat) -> dict[str, Any]:
    options: dict[str, Any] = {"save_all": True, "append_images": frames[1:]}
    if format == "tiff":
        return options  # pages, without timing
    options["duration"] = list(picture.durations_ms)
    if format != "gif":
        options["loop"] = 1 if picture.loop is None else picture.loop  # None: play once
    elif picture.loop is not None:
        options["loop"] = picture.loop
    if format == "gif" and has_alpha(picture.first):
        options["disposal"] = _GIF_RESTORE_BACKGROUND
    if format == "webp" and has_alpha(picture.first):
        # libwebp's encoder crops frames to their opaque part between key frames and then
        # may drop the file's alpha flag, so transparent areas decode black: key frames only.
        options.update(kmin=0, kmax=1)
    return options
