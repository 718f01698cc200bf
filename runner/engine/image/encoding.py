"""Writing a Picture in one of the output formats: each gets the modes it can hold (alpha
flattened onto white for JPEG, on-or-off transparency for GIF), animations keep their frames,
durations and loop wherever the format can animate, and the ICC profile is written when it
still describes the pixels. No other metadata is written.

quality=auto searches the encoder's quality by bisection, at most AUTO_QUALITY_ENCODES encodes
of the first frame between AUTO_QUALITY_RANGE, for the lowest quality whose decoded result keeps
a mean SSIM of at least SSIM_TARGET against the picture. SSIM (Wang et al. 2004, the usual
constants) is computed with numpy on the luma plane scaled to at most SSIM_SIDE_PX a side, in
SSIM_WINDOW_PX square windows; that scale is about what a viewer sees of a whole picture. A still
image is written with the bytes of the chosen encode. AVIF's trials, and WebP's on large
pictures, are encoded at the encoder's fastest setting (TRIAL_OPTIONS, FAST_TRIALS_FROM_PX); the
result is then encoded once more, as it is written, at the quality they found, as an animation
is; that result is measured as the trials were, and when it misses the target it is encoded
again CONFIRM_STEP higher, at most CONFIRM_ENCODES more times: one slow encode of the whole
picture, three at most."""

import io
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
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
SSIM_TARGET = 0.98  # mean SSIM of the result's luma against the picture's, at SSIM_SIDE_PX
SSIM_SIDE_PX = 512
SSIM_WINDOW_PX = 8
AUTO_QUALITY_RANGE = (30, 95)  # lowest and highest quality quality=auto tries
AUTO_QUALITY_ENCODES = 6  # bisection steps: 2**6 > 95 - 30, so the range is searched whole
# What quality=auto's trial encodes add to a format's options. libaom (Pillow's AVIF encoder) at
# speed 10 instead of its default 6 took a tenth of the CPU on 28 MP of noise (1.3 s against
# 15 s at quality 45): six trials at speed 6 cost 90 s of CPU. Its SSIM at the same quality
# measured 0.026 below to 0.001 above speed 6's (five pictures, qualities 30 to 90), 0.004
# below to 0.0001 above where speed 6's was 0.97 or more: a trial is mostly the stricter, not
# always, so the result, encoded at the usual speed, is measured too (CONFIRM_STEP).
# libwebp's method 0 instead of Pillow's default 4 took a quarter to a third of the CPU on 28 MP
# (0.4 to 1 s against 2 to 3 s an encode; a trial's decode and measure, 0.45 s, stay): 15-22 s
# for a search became 8-13 s. Its SSIM is mostly the lower (0.0105 below to 0.0002 above), so
# the quality found is the same or higher: the same on 28 MP pictures and four of nine smaller
# ones, 1 to 2 higher on four, 14 on an upscaled photograph (files 0 to 21 % larger).
TRIAL_OPTIONS: dict[ImageFormat, dict[str, Any]] = {"avif": {"speed": 10}, "webp": {"method": 0}}
# Pixels from which a format's trials take TRIAL_OPTIONS. A fast trial can cost the search its
# exactness (a file up to a fifth larger), so it is taken only where the usual setting is slow:
# libaom's at any size; libwebp's method 4 only on large pictures (a search of a 12 MP photo took
# 6.0-6.3 s of CPU, 3.1-3.5 fast; of 1.5 MP, 1.0 s, 0.6 fast: too little to trade bytes for).
FAST_TRIALS_FROM_PX: dict[ImageFormat, int] = {"avif": 0, "webp": 8_000_000}
# A result encoded otherwise than its trials that misses SSIM_TARGET is encoded again this many
# qualities higher (SSIM gains 0.0006 to 0.0015 a quality near 0.98), at most CONFIRM_ENCODES
# more times, never past the range.
CONFIRM_STEP = 5
CONFIRM_ENCODES = 2
_SSIM_C1, _SSIM_C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
# What Pillow's writers raise about a picture they cannot write: WebP's ValueError past its
# 16,383-pixel sides, AVIF's RuntimeError past libavif's 65,536 or when libaom gives up
# ("Encoding of color planes failed": out of the edit's memory on a 4x49 MP animation).
ENCODER_REFUSALS = (OSError, ValueError, RuntimeError)
_GIF_RESTORE_BACKGROUND = 2  # disposal: clear each frame, so transparency never shows the last


@dataclass(frozen=True, slots=True)
class Encoding:
    format: ImageFormat
    quality: int | Literal["auto"] | None = None  # lossy only; None means DEFAULT_QUALITY


def write(picture: Picture, target: Path, encoding: Encoding) -> None:
    """Write the picture at `target`; a failed encode leaves no file behind. JPEG, which
    cannot animate, keeps an animation's first frame."""
    kept = picture.frames[:1] if encoding.format == "jpeg" else picture.frames
    frames = [_storable(frame, encoding.format) for frame in kept]
    partial = target.with_name(f".{target.name}.partial")
    try:
        encoded: bytes | None = None
        if encoding.quality == "auto":
            encoding, encoded = _auto_quality(picture, frames, encoding)
        if encoded is not None:
            partial.write_bytes(encoded)
        else:
            frames[0].save(
                partial, _PILLOW_NAMES[encoding.format], **_options(picture, frames, encoding)
            )
        partial.replace(target)
    except ENCODER_REFUSALS as exc:
        if from_the_system(exc):
            raise  # the system's, not the picture's: the sandbox says whether to retry
        raise EditFailed(
            f"the result could not be written as {encoding.format}: {reason(exc)}; write it "
            "in another format, or make it smaller (fewer or smaller frames)"
        ) from None
    finally:
        partial.unlink(missing_ok=True)


def _auto_quality(
    picture: Picture, frames: list[Frame], encoding: Encoding
) -> tuple[Encoding, bytes | None]:
    """The lowest quality keeping SSIM_TARGET, and the result encoded at it when the search
    has it (None: write encodes it at that quality)."""
    if encoding.format not in LOSSY_FORMATS:
        return replace(encoding, quality=None), None
    reference = luma(frames[0])
    trial_options = _trial_options(encoding.format, frames[0])
    quality, encoded = _searched(
        picture, frames[0], encoding=encoding, reference=reference, trial_options=trial_options
    )
    if trial_options or len(frames) > 1:  # the result is not encoded as its trials were
        return _confirmed(picture, frames, encoding, quality=quality, reference=reference)
    return replace(encoding, quality=quality), encoded


def _trial_options(format: ImageFormat, frame: Frame) -> dict[str, Any]:
    """What the search's trials add to the format's options (FAST_TRIALS_FROM_PX)."""
    fast_from = FAST_TRIALS_FROM_PX.get(format)
    if fast_from is None or frame.width * frame.height < fast_from:
        return {}
    return TRIAL_OPTIONS[format]


def _searched(
    picture: Picture,
    frame: Frame,
    *,
    encoding: Encoding,
    reference: np.ndarray,
    trial_options: dict[str, Any],
) -> tuple[int, bytes | None]:
    """Bisection: the lowest quality whose trial encode keeps SSIM_TARGET, with its bytes; the
    highest of the range, without bytes, when none does (the best the range allows)."""
    low, high = AUTO_QUALITY_RANGE
    best: tuple[int, bytes | None] = (AUTO_QUALITY_RANGE[1], None)
    for _ in range(AUTO_QUALITY_ENCODES):
        if low > high:
            break
        quality = (low + high) // 2
        trial = replace(encoding, quality=quality)
        encoded = _encoded(picture, [frame], encoding=trial, extra=trial_options)
        if _keeps_target(reference, encoded):
            best, high = (quality, encoded), quality - 1
        else:
            low = quality + 1
    return best


def _confirmed(
    picture: Picture,
    frames: list[Frame],
    encoding: Encoding,
    *,
    quality: int,
    reference: np.ndarray,
) -> tuple[Encoding, bytes]:
    """The result, encoded as written at the quality its trials found and measured as they
    were: when it misses SSIM_TARGET, encoded again CONFIRM_STEP higher, at most CONFIRM_ENCODES
    more times, up to the range's highest (see TRIAL_OPTIONS)."""
    chosen = replace(encoding, quality=quality)
    encoded = _encoded(picture, frames, encoding=chosen)
    for _ in range(CONFIRM_ENCODES):
        if quality >= AUTO_QUALITY_RANGE[1] or _keeps_target(reference, encoded):
            break
        quality = min(quality + CONFIRM_STEP, AUTO_QUALITY_RANGE[1])
        chosen = replace(encoding, quality=quality)
        encoded = _encoded(picture, frames, encoding=chosen)
    return chosen, encoded


def _keeps_target(reference: np.ndarray, encoded: bytes) -> bool:
    """Whether an encode's first frame keeps SSIM_TARGET against the picture's (`reference`)."""
    with Image.open(io.BytesIO(encoded)) as decoded:
        return ssim(reference, luma(decoded)) >= SSIM_TARGET


def _encoded(
    picture: Picture,
    frames: list[Frame],
    *,
    encoding: Encoding,
    extra: dict[str, Any] | None = None,
) -> bytes:
    buffer = io.BytesIO()
    options = _options(picture, frames, encoding) | (extra or {})
    frames[0].save(buffer, _PILLOW_NAMES[encoding.format], **options)
    return buffer.getvalue()


def luma(frame: Image.Image) -> np.ndarray:
    grey = frame.convert("L")
    grey.thumbnail((SSIM_SIDE_PX, SSIM_SIDE_PX), Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.float64)


def ssim(first: np.ndarray, second: np.ndarray) -> float:
    """Mean structural similarity of two luma planes of one size, 0-255, over square windows."""
    mean_a, mean_b = _window_mean(first), _window_mean(second)
    var_a = _window_mean(first * first) - mean_a**2
    var_b = _window_mean(second * second) - mean_b**2
    covariance = _window_mean(first * second) - mean_a * mean_b
    numerator = (2 * mean_a * mean_b + _SSIM_C1) * (2 * covariance + _SSIM_C2)
    denominator = (mean_a**2 + mean_b**2 + _SSIM_C1) * (var_a + var_b + _SSIM_C2)
    return float((numerator / denominator).mean())


def _window_mean(plane: np.ndarray) -> np.ndarray:
    """The mean of every SSIM_WINDOW_PX square window that fits (a summed-area table)."""
    size = min(SSIM_WINDOW_PX, *plane.shape)
    sums = np.pad(plane.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    total = sums[size:, size:] - sums[:-size, size:] - sums[size:, :-size] + sums[:-size, :-size]
    return total / (size * size)  # type: ignore[no-any-return]


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
