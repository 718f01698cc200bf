"""Layers (text, images) composited over a video's frames while they are shown: each layer
is turned into arrays once, and only the rectangle it covers is blended."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from av.video.frame import VideoFrame
from PIL import Image

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Burn:
    start: float  # seconds of the result
    end: float | None
    box: tuple[int, int, int, int]  # left, top, right, bottom: where the layer has ink
    alpha: Floats  # height x width x 1, 0 to 1
    ink: Floats  # height x width x 3, colour times alpha

    @classmethod
    def of(cls, layer: Image.Image, *, start: float, end: float | None) -> "Burn":
        box = layer.getbbox() or (0, 0, 0, 0)
        pixels = np.asarray(layer.crop(box), dtype=np.float32) / np.float32(255)
        alpha = pixels[:, :, 3:]
        ink = pixels[:, :, :3] * alpha * np.float32(255)
        return cls(start, end, box, alpha.astype(np.float32), ink.astype(np.float32))

    def shown_at(self, seconds: float) -> bool:
        return self.start <= seconds and (self.end is None or seconds < self.end)


def burned(frame: VideoFrame, burns: Sequence[Burn], *, seconds: float) -> VideoFrame:
    """The frame with the layers shown at `seconds` over it, in its own pixel format."""
    shown = [burn for burn in burns if burn.shown_at(seconds) and burn.box[2] > burn.box[0]]
    if not shown:
        return frame
    pixels = frame.to_ndarray(format="rgb24").astype(np.float32)
    for burn in shown:
        left, top, right, bottom = burn.box
        under = pixels[top:bottom, left:right]
        pixels[top:bottom, left:right] = under * (1 - burn.alpha) + burn.ink
    result = VideoFrame.from_ndarray(np.clip(pixels, 0, 255).astype(np.uint8), format="rgb24")
    result = result.reformat(format=frame.format.name)
    result.pts, result.time_base = frame.pts, frame.time_base
    return result
